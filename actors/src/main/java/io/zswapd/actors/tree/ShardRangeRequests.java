package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.codec.CorruptPageException;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.codec.SameFilledPage;
import io.zswapd.actors.pool.AllocReply;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A tree shard's range requests ({@link TreeShard.StoreRange}, {@link TreeShard.LoadRange},
 * {@link TreeShard.InvalidatePages}): the walk of each range, the allocation batch of the range
 * store being walked, the range loads still waiting for parts and the invalidations waiting for
 * pending pages. Pages go through the shard's per-page path wherever the shard's rules for
 * pending or written-back pages apply; the store and load jobs themselves are in
 * {@link RangeJobs}.
 *
 * <p>Owned by one {@link TreeShard}, made in its constructor and called only from its message
 * handlers, so only on that actor's thread; never handed to another actor or thread.
 */
final class ShardRangeRequests {
  /** An invalidate-range reply that waits for pending pages of the range to be invalidated. */
  private final class RangeWaiter {
    final ActorRef<InvalidateReply> replyTo;
    final boolean drainWrites;
    int outstanding;
    long freed;

    RangeWaiter(ActorRef<InvalidateReply> replyTo, boolean drainWrites) {
      this.replyTo = replyTo;
      this.drainWrites = drainWrites;
    }

    /** Frees the page, counted when it held one. */
    void free(int slot) {
      if (shard.free(slot)) {
        freed++;
        counters.invalidatedPages++;
      }
    }

    void done() {
      if (--outstanding == 0) {
        if (drainWrites) {
          writeback.afterWritesInFlight(this::reply);
        } else {
          reply();
        }
      }
    }

    private void reply() {
      replyTo.tell(new InvalidateReply.Invalidated(freed));
    }
  }

  /** A page of an invalidated range, queued behind the page's pending work. */
  record QueuedInvalidate(RangeWaiter waiter) {
    /** The page's turn came: it is freed now. */
    void apply(int slot) {
      waiter.free(slot);
      waiter.done();
    }
  }

  private final TreeShard shard;
  private final ActorRef<TreeShard.Command> self;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final PageCompressor compressor;
  private final ShardCounters counters;
  private final ShardWriteback writeback;
  private final ActorRef<AllocReply> allocAdapter;
  private final ActorRef<SizeClass.AllocatedMany> allocManyAdapter;
  private final ActorRef<SizeClass.ObjectsRead> objectsAdapter;
  /** Allocations of the range store being walked, sent when the walk ends; null otherwise. */
  private RangeJobs.AllocBatch allocBatch;
  private final Map<Long, RangeJobs.LoadJob> loadJobs = new HashMap<>();
  private long nextJob = 1;

  ShardRangeRequests(TreeShard shard, ActorRef<TreeShard.Command> self, List<ActorRef<SizeClass.Command>> classes,
      PageCompressor compressor, ShardCounters counters, ShardWriteback writeback, ActorRef<AllocReply> allocAdapter,
      ActorRef<SizeClass.AllocatedMany> allocManyAdapter, ActorRef<SizeClass.ObjectsRead> objectsAdapter) {
    this.shard = shard;
    this.self = self;
    this.classes = classes;
    this.compressor = compressor;
    this.counters = counters;
    this.writeback = writeback;
    this.allocAdapter = allocAdapter;
    this.allocManyAdapter = allocManyAdapter;
    this.objectsAdapter = objectsAdapter;
  }

  /** Where the shard's stores put their allocations while a range store is walked; null otherwise. */
  RangeJobs.AllocBatch allocBatch() {
    return allocBatch;
  }

  /** Each page through the per-page path; the allocations they need leave as one batch per class. */
  void store(TreeShard.StoreRange m) {
    PageImage[] images = m.images();
    RangeJobs.StoreJob job = new RangeJobs.StoreJob(m.firstPage(), images.length, m.replyTo());
    allocBatch = new RangeJobs.AllocBatch(images.length);
    try {
      for (int i = 0; i < images.length; i++) {
        long page = m.firstPage() + i;
        shard.perPage(TreeShard.slotOf(page), new TreeShard.StorePage(page, images[i], job));
      }
      allocBatch.send(classes, allocAdapter, allocManyAdapter);
    } finally {
      allocBatch = null;
    }
  }

  void load(TreeShard.LoadRange m) {
    RangeJobs.LoadJob job = new RangeJobs.LoadJob(nextJob++, m.firstPage(), m.count(), m.replyTo());
    RangeJobs.ReadBatch reads = null;
    RangePageReplyTo pageRef = null;
    long[] entries = shard.entries(); // a load never makes the array, so this holds for the whole walk
    int first = TreeShard.slotOf(m.firstPage());
    for (int i = 0; i < m.count(); i++) {
      int slot = first + i;
      long e = entries == null ? 0 : entries[slot];
      int state = Entry.state(e);
      if (shard.isPending(slot) || state == Entry.WRITTEN_BACK) {
        if (pageRef == null) {
          pageRef = new RangePageReplyTo(self, job.id);
        }
        job.outstanding++;
        shard.perPage(slot, new TreeShard.LoadPage(m.firstPage() + i, pageRef));
        continue;
      }
      counters.loads++;
      if (state == Entry.STORED || state == Entry.WRITING_BACK) {
        if (state == Entry.STORED) {
          entries[slot] = Entry.withReferenced(e);
        }
        if (reads == null) {
          reads = new RangeJobs.ReadBatch(classes.size());
        }
        long h = Entry.handle(e);
        reads.add(Handle.classIndex(h), Handle.slot(h), Entry.length(e), i, m.count());
      } else if (state == Entry.SAME_FILLED && shard.word(slot) != 0) {
        int at = i * PageImage.PAGE_SIZE;
        SameFilledPage.fill(shard.word(slot), job.pages, at, PageImage.PAGE_SIZE);
      }
    }
    if (reads != null) {
      job.outstanding += reads.send(classes, job.id, objectsAdapter);
    }
    if (!job.partDone()) {
      loadJobs.put(job.id, job);
    }
  }

  void objectsRead(SizeClass.ObjectsRead r) {
    RangeJobs.LoadJob job = loadJobs.get(r.job());
    int at = 0;
    for (int i = 0; i < r.count(); i++) {
      int length = r.lengths()[i];
      int position = r.positions()[i];
      try {
        compressor.decompress(r.bytes(), at, length, job.pages, position * PageImage.PAGE_SIZE);
      } catch (CorruptPageException e) {
        long page = job.firstPage + position;
        job.fail(page, new EngineError(ErrorCode.CORRUPT, "page " + page + ": " + e.getMessage()));
      }
      at += length;
    }
    finishPart(job);
  }

  void pageLoaded(long jobId, LoadReply reply) {
    RangeJobs.LoadJob job = loadJobs.get(jobId);
    if (reply instanceof LoadReply.Loaded l) {
      int position = (int) (l.pageIndex() - job.firstPage);
      System.arraycopy(l.page(), 0, job.pages, position * PageImage.PAGE_SIZE, PageImage.PAGE_SIZE);
    } else {
      job.fail(reply.pageIndex(), ((LoadReply.LoadFailed) reply).error());
    }
    finishPart(job);
  }

  private void finishPart(RangeJobs.LoadJob job) {
    if (job.partDone()) {
      loadJobs.remove(job.id);
    }
  }

  void invalidate(TreeShard.InvalidatePages m) {
    int first = TreeShard.slotOf(m.firstPage());
    int end = (int) (first + m.count());
    RangeWaiter waiter = new RangeWaiter(m.replyTo(), m.drainWrites());
    waiter.outstanding = 1; // held until the loop is done
    for (int slot = first; slot < end; slot++) {
      if (shard.isPending(slot)) {
        waiter.outstanding++;
        shard.perPage(slot, new QueuedInvalidate(waiter));
      } else {
        waiter.free(slot);
      }
    }
    waiter.done();
  }

  /** The reply-to of a range load's per-page loads: forwards each answer to the shard, tagged. */
  private static final class RangePageReplyTo extends io.zswapd.actors.support.LocalRef<LoadReply> {
    private static final long serialVersionUID = 1L;
    private final transient ActorRef<TreeShard.Command> shard;
    private final transient long job;

    RangePageReplyTo(ActorRef<TreeShard.Command> shard, long job) {
      this.shard = shard;
      this.job = job;
    }

    @Override
    protected void receive(LoadReply reply) {
      shard.tell(new TreeShard.RangePageLoaded(job, reply));
    }
  }
}
