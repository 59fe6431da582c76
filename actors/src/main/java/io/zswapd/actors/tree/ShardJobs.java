package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.codec.SameFilledPage;
import io.zswapd.actors.support.LocalRef;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadRangeReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;
import java.util.Arrays;
import java.util.concurrent.Executor;

/**
 * What a tree shard makes of the page requests it serves: each request becomes a job that
 * counts its pages down and answers once, and each page an operation that the shard applies
 * at once or queues behind the page's pending work. Jobs and operations are plain objects of
 * one shard, touched only on its thread; no reply-to reference stands in for one.
 */
final class ShardJobs {
  private ShardJobs() {}

  // ---- replies ------------------------------------------------------------------------------

  /**
   * The replies of one turn of the shard, sent together when the turn ends. When one of them
   * completes a caller's future (whose callbacks may compress the next page) or is a page still
   * to make, they are sent by one task on the dispatcher, so a caller's code never runs on the
   * shard's thread and a turn that answers many pages costs one task; replies to actors and to
   * reply-tos that only hand the answer on (an NBD connection's) go at once.
   */
  static final class Outbox {
    /** A same-filled (or never written) page to make and answer in the task, off the shard's thread. */
    private record Filled(long pageIndex, long word) {}

    private Object[] to = new Object[16];
    private Object[] what = new Object[16];
    private int count;
    /** A reply of this turn runs a caller's code when told, or makes a page: the turn's replies go from a task. */
    private boolean needsTask;

    <T> void add(ActorRef<T> replyTo, T reply) {
      put(replyTo, reply);
    }

    /** Answers a load of a page repeating {@code word} (zeros for 0). */
    void filled(ActorRef<LoadReply> replyTo, long pageIndex, long word) {
      needsTask = true;
      put(replyTo, new Filled(pageIndex, word));
    }

    private void put(ActorRef<?> replyTo, Object reply) {
      if (replyTo instanceof LocalRef<?> local && local.runsCallerCode()) {
        needsTask = true;
      }
      if (count == to.length) {
        to = Arrays.copyOf(to, count * 2);
        what = Arrays.copyOf(what, count * 2);
      }
      to[count] = replyTo;
      what[count] = reply;
      count++;
    }

    /**
     * Sends what this turn answered: from one task when a reply must be made off the shard's
     * thread or its reply-to runs a caller's code (a future's callbacks), else right here;
     * nothing when it answered nothing.
     */
    void flush(Executor dispatcher) {
      if (count == 0) {
        return;
      }
      if (!needsTask) {
        for (int i = 0; i < count; i++) {
          @SuppressWarnings("unchecked")
          ActorRef<Object> recipient = (ActorRef<Object>) to[i];
          recipient.tell(what[i]);
          to[i] = null;
          what[i] = null;
        }
        count = 0;
        return;
      }
      needsTask = false;
      Object[] recipients = Arrays.copyOf(to, count);
      Object[] replies = Arrays.copyOf(what, count);
      Arrays.fill(to, 0, count, null);
      Arrays.fill(what, 0, count, null);
      count = 0;
      dispatcher.execute(() -> send(recipients, replies));
    }

    @SuppressWarnings("unchecked")
    private static void send(Object[] recipients, Object[] replies) {
      for (int i = 0; i < recipients.length; i++) {
        Object reply = replies[i];
        if (reply instanceof Filled f) {
          reply = new LoadReply.Loaded(f.pageIndex(), ShardJobs.filled(f.word()));
        }
        ((ActorRef<Object>) recipients[i]).tell(reply);
      }
    }
  }

  /** A fresh page repeating {@code word} (zeros for 0). */
  static byte[] filled(long word) {
    byte[] page = new byte[PageImage.PAGE_SIZE];
    if (word != 0) {
      SameFilledPage.fill(word, page, 0, page.length);
    }
    return page;
  }

  // ---- jobs ---------------------------------------------------------------------------------

  /** A store, range store or patch: {@code Stored(firstPage)} once every page is, else the first refused. */
  static final class StoreJob {
    final long firstPage;
    final ActorRef<StoreReply> replyTo;
    private int outstanding;
    private StoreReply.Refused refused;

    StoreJob(long firstPage, int pages, ActorRef<StoreReply> replyTo) {
      this.firstPage = firstPage;
      this.outstanding = pages;
      this.replyTo = replyTo;
    }

    /** Page {@code pageIndex} is stored ({@code error} null) or refused. */
    void pageDone(long pageIndex, EngineError error, Outbox out) {
      if (error != null && (refused == null || pageIndex < refused.pageIndex())) {
        refused = new StoreReply.Refused(pageIndex, error);
      }
      if (--outstanding == 0) {
        out.add(replyTo, refused != null ? refused : new StoreReply.Stored(firstPage));
      }
    }
  }

  /**
   * A load or range load whose pages the shard gathers (pages with work pending, in the
   * backing file, or of a range). A single page at rest in the pool needs no job: its size
   * class answers the caller directly.
   */
  static final class LoadJob {
    final long id;
    final long firstPage;
    final int count;
    /** The caller of a single-page load, else null. */
    final ActorRef<LoadReply> pageReplyTo;
    /** The caller of a range load, else null. */
    final ActorRef<LoadRangeReply> rangeReplyTo;
    /** The caller of a {@link TreeShard.LoadImages}, else null. */
    final ActorRef<ImagesReply> imagesReplyTo;
    /** The loaded pages, decompressed; null for images. */
    final byte[] pages;
    /** The loaded images ({@link #imagesReplyTo}'s), null where never written; else null. */
    final PageImage[] images;
    int outstanding = 1; // held until the walk of the request is done
    private EngineError error;
    private long errorPage;

    LoadJob(long id, long firstPage, int count, ActorRef<LoadReply> pageReplyTo,
        ActorRef<LoadRangeReply> rangeReplyTo, ActorRef<ImagesReply> imagesReplyTo) {
      this.id = id;
      this.firstPage = firstPage;
      this.count = count;
      this.pageReplyTo = pageReplyTo;
      this.rangeReplyTo = rangeReplyTo;
      this.imagesReplyTo = imagesReplyTo;
      this.pages = imagesReplyTo == null ? new byte[count * PageImage.PAGE_SIZE] : null;
      this.images = imagesReplyTo == null ? null : new PageImage[count];
    }

    boolean single() {
      return pageReplyTo != null;
    }

    void fail(long pageIndex, EngineError e) {
      if (error == null || pageIndex < errorPage) {
        error = e;
        errorPage = pageIndex;
      }
    }

    /** Fills page {@code pageIndex} with {@code word}. */
    void fill(long pageIndex, long word) {
      if (images != null) {
        images[(int) (pageIndex - firstPage)] = new PageImage.SameFilled(word);
      } else if (word != 0) {
        SameFilledPage.fill(word, pages, (int) (pageIndex - firstPage) * PageImage.PAGE_SIZE, PageImage.PAGE_SIZE);
      }
    }

    /** Page {@code pageIndex}, decompressed (read back from the backing file). */
    void copy(long pageIndex, byte[] page) {
      if (images != null) {
        images[(int) (pageIndex - firstPage)] = new PageImage.Raw(page);
      } else {
        System.arraycopy(page, 0, pages, (int) (pageIndex - firstPage) * PageImage.PAGE_SIZE, PageImage.PAGE_SIZE);
      }
    }

    /** One part answered; true when it was the last (and the reply is in the outbox). */
    boolean partDone(Outbox out) {
      if (--outstanding > 0) {
        return false;
      }
      if (pageReplyTo != null) {
        out.add(pageReplyTo, error != null ? new LoadReply.LoadFailed(firstPage, error)
            : new LoadReply.Loaded(firstPage, pages));
      } else if (rangeReplyTo != null) {
        out.add(rangeReplyTo, error != null ? new LoadRangeReply.LoadRangeFailed(firstPage, error)
            : new LoadRangeReply.LoadedRange(firstPage, pages));
      } else {
        out.add(imagesReplyTo, error != null ? new ImagesReply.ImagesFailed(errorPage, error)
            : new ImagesReply.Images(firstPage, images));
      }
      return true;
    }
  }

  /** An invalidation: answered with the pages freed once its pending pages had their turn. */
  static final class InvalidateJob {
    final ActorRef<InvalidateReply> replyTo;
    /** Also waits for the backing writes in flight (swapoff, removal: the file closes next). */
    final boolean drainWrites;
    int outstanding = 1; // held until the walk is done
    long freed;

    InvalidateJob(ActorRef<InvalidateReply> replyTo, boolean drainWrites) {
      this.replyTo = replyTo;
      this.drainWrites = drainWrites;
    }
  }

  // ---- per-page operations ------------------------------------------------------------------

  /** One page's share of a request, applied in the page's turn. */
  sealed interface PageOp permits StoreOp, LoadOp, PatchOp, InvalidateOp {}

  record StoreOp(long pageIndex, PageImage image, StoreJob job) implements PageOp {}

  record LoadOp(long pageIndex, LoadJob job) implements PageOp {}

  record PatchOp(long pageIndex, int offset, byte[] bytes, StoreJob job) implements PageOp {}

  record InvalidateOp(InvalidateJob job) implements PageOp {}
}
