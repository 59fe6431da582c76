package io.zswapd.bridge.nbd;

import akka.actor.typed.ActorRef;
import akka.util.ByteString;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.metrics.RequestMetrics;
import io.zswapd.actors.support.LocalRef;
import io.zswapd.actors.tree.ShardRanges;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadRangeReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;
import io.zswapd.protocol.nbd.Nbd;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import kamon.metric.Histogram;

/**
 * Turns NBD byte ranges into the engine's page requests.
 *
 * <p>A request covers whole pages and, at either end, parts of pages. Whole pages are stored and
 * loaded as ranges of up to {@link #RANGE_PAGES} pages; a part of a page becomes a patch, the
 * read-modify-write that the page's tree shard performs, so two connections writing different
 * bytes of one page never lose each other's bytes.
 *
 * <p><b>No future per request.</b> Each connection has a {@link Connection}: the connection
 * stage hands it every request it decodes in one pass, and {@link Connection#flush()} sends the
 * engine requests they became together, one message per tree shard ({@link Zswapd#send}). Each engine request answers to its own {@link Part}, a reply-to that
 * records the latency and hands itself back to the stage (an {@code AsyncCallback}), which
 * counts an NBD request's parts and replies when the last has answered.
 */
final class NbdBackend {
  private static final int PAGE = PageImage.PAGE_SIZE;
  /** Pages per range request to the engine: a swap cluster's worth, compressed by one task. */
  static final int RANGE_PAGES = 32;
  private static final PageImage ZERO_PAGE = new PageImage.SameFilled(0);

  private final Zswapd zswapd;
  private final PageCompressor compressor;
  private final Executor executor;

  NbdBackend(Zswapd zswapd, Executor executor) {
    this.zswapd = zswapd;
    this.compressor = zswapd.compressor();
    this.executor = executor;
  }

  /** Whether the engine has failed: it will answer nothing more, and refuses what it is sent. */
  boolean engineFailed() {
    return zswapd.whenFailed().toCompletableFuture().isDone();
  }

  /** A connection's way to the engine, once it has chosen {@code export}; answers go to {@code answered}. */
  Connection connect(String export, Consumer<Part> answered) {
    return new Connection(export, zswapd.instruments(export), answered);
  }

  /**
   * One engine request of an NBD request, and the reply-to its answer comes by. The stage reads
   * {@link #reply} once the part is handed back; the hand-off (the stage's callback, a message)
   * orders the write before the read.
   */
  static final class Part extends LocalRef<Object> {
    private static final long serialVersionUID = 1L;
    /** The stage's record of the NBD request this part belongs to. */
    final transient Object owner;
    /** Where this part's bytes go in a read's reply (parts in request order). */
    final int index;
    /** For a load of one page: the bytes of it the request wants. */
    final int from;
    final int to;
    /** For a zero range: the pages after this part's, stored once it has answered. */
    final long nextZero;
    final long zerosLeft;
    private final transient Histogram latency;
    private final transient Consumer<Part> answered;
    private final long sentNanos;
    transient Object reply;

    private Part(Object owner, int index, int from, int to, long nextZero, long zerosLeft, Histogram latency,
        Consumer<Part> answered) {
      this.owner = owner;
      this.index = index;
      this.from = from;
      this.to = to;
      this.nextZero = nextZero;
      this.zerosLeft = zerosLeft;
      this.latency = latency;
      this.answered = answered;
      this.sentNanos = latency == null ? 0 : System.nanoTime();
    }

    @Override
    protected void receive(Object message) {
      if (latency != null) {
        latency.record(System.nanoTime() - sentNanos);
      }
      reply = message;
      answered.accept(this);
    }

    /** It records a latency and hands itself to the stage's callback: an engine actor may tell it directly. */
    @Override
    public boolean runsCallerCode() {
      return false;
    }

    /** The NBD error of the answer, 0 for success. */
    int errno() {
      EngineError e = reply instanceof StoreReply.Refused r ? r.error()
          : reply instanceof LoadReply.LoadFailed f ? f.error()
          : reply instanceof LoadRangeReply.LoadRangeFailed f ? f.error()
          : reply instanceof InvalidateReply.InvalidateFailed f ? f.error() : null;
      return e == null ? 0 : NbdBackend.errno(e.code());
    }

    /** The bytes a successful load answered: the wanted part of one page, or a range's pages. */
    ByteString bytes() {
      if (reply instanceof LoadReply.Loaded l) {
        return ByteString.fromArrayUnsafe(l.page()).slice(from, to);
      }
      return ByteString.fromArrayUnsafe(((LoadRangeReply.LoadedRange) reply).pages());
    }
  }

  /** One connection's requests on their way to its export. Used by the connection's stage only. */
  final class Connection {
    private final String export;
    private final Histogram storeLatency;
    private final Histogram loadLatency;
    private final Consumer<Part> answered;
    private List<EngineCommand.PageRequest> batch = new ArrayList<>();

    private Connection(String export, RequestMetrics.ExportInstruments instruments, Consumer<Part> answered) {
      this.export = export;
      this.storeLatency = instruments == null ? null : instruments.storeLatency();
      this.loadLatency = instruments == null ? null : instruments.loadLatency();
      this.answered = answered;
    }

    /** Sends what the requests since the last flush became, as one message; nothing if none. */
    void flush() {
      if (!batch.isEmpty()) {
        List<EngineCommand.PageRequest> sent = batch;
        batch = new ArrayList<>(Math.max(8, sent.size()));
        zswapd.send(export, sent);
      }
    }

    /** A part's reply-to, typed for the request it answers. */
    private <T> ActorRef<T> part(Object owner, int index, int from, int to, Histogram latency) {
      return new Part(owner, index, from, to, 0, 0, latency, answered).unsafeUpcast();
    }

    /**
     * A READ: whole pages as ranges of up to {@link #RANGE_PAGES} pages, never across a tree
     * shard (one message per shard and size class), the parts of pages at either end one by
     * one. Returns the number of parts, whose bytes make the reply in index order.
     */
    int read(Object owner, long offset, int length) {
      long end = offset + length;
      int index = 0;
      for (long pos = offset; pos < end; index++) {
        long page = pos / PAGE;
        int from = (int) (pos % PAGE);
        int whole = from == 0 ? wholePages(page, (end - pos) / PAGE) : 0;
        if (whole > 1) {
          batch.add(new EngineCommand.LoadRange(export, page, whole, part(owner, index, 0, 0, loadLatency)));
          pos += (long) whole * PAGE;
          continue;
        }
        int to = (int) Math.min(PAGE, end - page * PAGE);
        batch.add(new EngineCommand.Load(export, page, part(owner, index, from, to, loadLatency)));
        pos = page * PAGE + to;
      }
      return index;
    }

    /**
     * A WRITE: a lone page (the swap case) is compressed here, on the connection's thread; runs
     * of whole pages in a request of several are compressed by tasks on the dispatcher (so one
     * large request uses every core, like zswap compressing on whichever CPU swaps) and sent
     * by them; partial pages at either end are patched. Returns the number of parts.
     * {@code data} may be a view of the connection's read buffer: what is still needed after
     * this returns (the runs the tasks compress, the patches) is copied out of it.
     */
    int write(Object owner, long offset, ByteString data) {
      long end = offset + data.length();
      int parts = 0;
      for (long pos = offset; pos < end; parts++) {
        long page = pos / PAGE;
        int from = (int) (pos % PAGE);
        int at = (int) (pos - offset);
        int whole = from == 0 ? wholePages(page, (end - pos) / PAGE) : 0;
        if (whole == 1 && data.length() == PAGE) {
          batch.add(new EngineCommand.Store(export, page, compressor.compress(data.asByteBuffer()),
              part(owner, parts, 0, 0, storeLatency)));
        } else if (whole >= 1) {
          ByteString run = data.slice(at, at + whole * PAGE).compact(); // not the whole read buffer
          ActorRef<StoreReply> part = part(owner, parts, 0, 0, storeLatency);
          executor.execute(() -> {
            PageImage[] images = new PageImage[whole];
            for (int i = 0; i < whole; i++) {
              images[i] = compressor.compress(run.slice(i * PAGE, (i + 1) * PAGE).asByteBuffer());
            }
            zswapd.send(export, List.of(new EngineCommand.StoreRange(export, page, images, part)));
          });
        } else {
          int n = (int) Math.min(PAGE - from, end - pos);
          batch.add(new EngineCommand.Patch(export, page, from, data.slice(at, at + n).toArray(),
              part(owner, parts, 0, 0, storeLatency)));
          pos += n;
          continue;
        }
        pos += (long) whole * PAGE;
      }
      return parts;
    }

    /**
     * WRITE_ZEROES: whole pages become same-filled zero pages (no allocation), stored as ranges
     * of at most {@link Zswapd#MAX_RANGE_PAGES} pages one after the other ({@link #nextZeroes}),
     * so even a request over a whole export holds one range's worth of engine work at a time;
     * the parts of pages at either end are patched. Returns the number of parts.
     */
    int writeZeroes(Object owner, long offset, long length) {
      long end = offset + length;
      long firstWhole = (offset + PAGE - 1) / PAGE;
      long endWhole = end / PAGE;
      int parts = 0;
      if (endWhole <= firstWhole) {
        // no whole page: the bytes lie in one page, or in the end of one and the start of the next
        for (long pos = offset; pos < end; parts++) {
          long page = pos / PAGE;
          int n = (int) Math.min(PAGE - pos % PAGE, end - pos);
          batch.add(new EngineCommand.Patch(export, page, (int) (pos % PAGE), new byte[n],
              part(owner, parts, 0, 0, storeLatency)));
          pos += n;
        }
        return parts;
      }
      if (offset % PAGE != 0) {
        batch.add(new EngineCommand.Patch(export, offset / PAGE, (int) (offset % PAGE),
            new byte[(int) (firstWhole * PAGE - offset)], part(owner, parts++, 0, 0, storeLatency)));
      }
      if (end % PAGE != 0) {
        batch.add(new EngineCommand.Patch(export, endWhole, 0, new byte[(int) (end % PAGE)],
            part(owner, parts++, 0, 0, storeLatency)));
      }
      zeroes(owner, parts++, firstWhole, endWhole - firstWhole);
      return parts;
    }

    /** After {@code done}, a zero range, answered: the next range of its request; false when it was the last. */
    boolean nextZeroes(Part done) {
      if (done.zerosLeft == 0) {
        return false;
      }
      zeroes(done.owner, done.index, done.nextZero, done.zerosLeft);
      return true;
    }

    private void zeroes(Object owner, int index, long first, long count) {
      int n = (int) Math.min(Math.min(count, Zswapd.MAX_RANGE_PAGES), ShardRanges.partLength(first, Zswapd.MAX_RANGE_PAGES));
      PageImage[] zeros = new PageImage[n];
      Arrays.fill(zeros, ZERO_PAGE);
      batch.add(new EngineCommand.StoreRange(export, first, zeros,
          new Part(owner, index, 0, 0, first + n, count - n, storeLatency, answered).unsafeUpcast()));
    }

    /**
     * TRIM frees the whole pages inside the range (zswap invalidate: the memory goes back). The
     * parts of pages at either end keep their bytes, which the spec allows for an advisory trim.
     * Returns the number of parts: 0 when the range holds no whole page.
     */
    int trim(Object owner, long offset, long length) {
      long first = (offset + PAGE - 1) / PAGE;
      long last = (offset + length) / PAGE;
      if (last <= first) {
        return 0;
      }
      batch.add(new EngineCommand.InvalidateRange(export, first, last - first, part(owner, 0, 0, 0, null)));
      return 1;
    }
  }

  /** Whole pages of the next range from {@code page}: at most {@link #RANGE_PAGES}, never across a tree shard. */
  private static int wholePages(long page, long wholeLeft) {
    return ShardRanges.partLength(page, (int) Math.min(RANGE_PAGES, wholeLeft));
  }

  /** The NBD error for an engine error. */
  static int errno(ErrorCode code) {
    return switch (code) {
      case POOL_FULL, NAMESPACE_FULL -> Nbd.ENOSPC;
      case READ_ONLY -> Nbd.EPERM;
      case IO_ERROR, CORRUPT, ENGINE_FAILED, NODE_LOST -> Nbd.EIO;
      case SHUTTING_DOWN -> Nbd.ESHUTDOWN;
      case NO_SUCH_EXPORT, OUT_OF_RANGE, INVALID -> Nbd.EINVAL;
    };
  }
}
