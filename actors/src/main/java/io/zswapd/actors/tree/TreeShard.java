package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.codec.CorruptPageException;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.codec.SameFilledPage;
import io.zswapd.actors.pool.AllocReply;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.ReadReply;
import io.zswapd.actors.writeback.WriteReply;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadRangeReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import kamon.metric.Histogram;

/**
 * One tree shard: the single owner of the entries for 16,384 consecutive pages (64 MiB) of
 * one export, the zswap tree of that range, and of their LRU.
 *
 * <p>Layout: {@code entries[i]} is the packed {@link Entry} of page {@code base + i}, made on
 * the first store; {@code words[i]} holds the word of a same-filled page whose word is not
 * zero, made on the first such page. Nothing else is kept per page at rest.
 *
 * <p><b>Pending pages.</b> A store of a compressed or raw page needs a size-class allocation
 * (or a backing-file write), which answers asynchronously. Until it does, the page is
 * <em>pending</em>: its old entry stays in place and every later operation on the page waits
 * in the page's queue (a stash per offset), so operations on one page apply in arrival order
 * and nothing ever sees a half-made entry. Other pages go on being served.
 *
 * <p><b>Generations.</b> Every allocation and backing write carries a generation number from
 * this shard; an answer whose generation is no longer current (the page was rewritten or
 * invalidated meanwhile) is undone, its object or backing slot freed, never applied.
 *
 * <p><b>Writeback</b> (zswap's shrinker, zram's writeback). The LRU is a CLOCK over this
 * shard's entries, with the referenced bit in the entry: a victim is chosen and marked
 * {@code WRITING_BACK} by the owner in one step, so nothing can free it in between (the 2024
 * shrink-vs-invalidate seed). While writing back it is still readable from memory; a store or
 * invalidate that arrives meanwhile frees the handle at once and the write's completion is then
 * stale and frees its slot (the 2013 writeback-vs-invalidate seed).
 *
 * <p>Every message about a handle or a backing slot is sent by this shard, so message order
 * alone guarantees a read is served before the free that follows it.
 */
public final class TreeShard extends AbstractBehavior<TreeShard.Command> {
  public static final int PAGES_SHIFT = 14;
  public static final int PAGES = 1 << PAGES_SHIFT;
  private static final int PAGE_MASK = PAGES - 1;

  public sealed interface Command {}

  public record StorePage(long pageIndex, PageImage image, ActorRef<StoreReply> replyTo) implements Command {}

  public record LoadPage(long pageIndex, ActorRef<LoadReply> replyTo) implements Command {}

  /**
   * Read-modify-write: replace {@code bytes.length} bytes of the page from {@code offset}, the
   * rest of the page unchanged. Done here, by the entry's owner, so two patches of one page
   * (from two NBD connections, say) apply one after the other and neither is lost.
   */
  public record PatchPage(long pageIndex, int offset, byte[] bytes, ActorRef<StoreReply> replyTo) implements Command {}

  /**
   * Invalidate pages [firstPage, firstPage + count), all inside this shard. With
   * {@code drainWrites} (swapoff, export removal) the answer also waits until every backing
   * write still in flight has completed and its slot is freed, so the backing file can be
   * closed right after.
   */
  public record InvalidatePages(long firstPage, long count, boolean drainWrites, ActorRef<InvalidateReply> replyTo)
      implements Command {}

  /** Write back up to {@code maxPages} pages chosen by {@code mode}; answered when all finished. */
  public record Shrink(int maxPages, WritebackMode mode, ActorRef<WritebackResult> replyTo) implements Command {}

  /** Clear every referenced bit: pages not touched from now on count as idle. */
  public record MarkIdle() implements Command {}

  public record GetStats(ActorRef<ShardStats> replyTo) implements Command {}

  /**
   * Store {@code images.length} consecutive pages from {@code firstPage}, all inside this
   * shard: each page as by {@link StorePage}, with one allocation message per size class for
   * the whole range. Answered once: {@code Stored(firstPage)}, or the first page refused.
   */
  public record StoreRange(long firstPage, PageImage[] images, ActorRef<StoreReply> replyTo) implements Command {}

  /** Load {@code count} consecutive pages from {@code firstPage}, all inside this shard, answered once. */
  public record LoadRange(long firstPage, int count, ActorRef<LoadRangeReply> replyTo) implements Command {}

  private record AllocatedMany(SizeClass.AllocatedMany reply) implements Command {}

  private record RangeObjectsRead(SizeClass.ObjectsRead reply) implements Command {}

  private record RangePageLoaded(long job, LoadReply reply) implements Command {}

  private record AllocDone(AllocReply reply) implements Command {}

  private record PatchBase(LoadReply reply) implements Command {}

  private record VictimBytes(SizeClass.StoredBytes bytes) implements Command {}

  private record BackingWritten(WriteReply reply) implements Command {}

  private record BackingRead(ReadReply reply) implements Command {}

  /**
   * @param backing          the export's backing store, or null when it has no backing file
   * @param writebackLatency where each page's writeback time is recorded, or null
   */
  public static Behavior<Command> create(long shardIndex, List<ActorRef<SizeClass.Command>> classes,
      PoolGeometry geometry, PageCompressor compressor, ActorRef<BackingStore.Command> backing,
      Histogram writebackLatency) {
    return Behaviors.setup(ctx -> new TreeShard(ctx, classes, geometry, compressor, backing, writebackLatency));
  }

  /**
   * A page with work in flight: a store waiting for its allocation or backing write, or a
   * patch waiting for the page's current bytes; and the operations queued behind it.
   */
  private static final class Pending {
    long generation;
    StorePage store;
    PatchPage patch;
    boolean toBacking;
    final ArrayDeque<Object> queued = new ArrayDeque<>(2);
  }

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

    void done() {
      if (--outstanding == 0) {
        if (drainWrites && !writesInFlight.isEmpty()) {
          awaitingWriteDrain.add(this);
        } else {
          replyTo.tell(new InvalidateReply.Invalidated(freed));
        }
      }
    }
  }

  /** Area invalidations waiting for the backing writes in flight to finish. */
  private final java.util.List<RangeWaiter> awaitingWriteDrain = new java.util.ArrayList<>();

  private record QueuedInvalidate(RangeWaiter waiter) {}

  /** One shrink request's victims; answered when the last one is written, failed or cancelled. */
  private static final class ShrinkJob {
    final ActorRef<WritebackResult> replyTo;
    int outstanding = 1; // held until selection ends
    long written;
    long failed;
    long refused;

    ShrinkJob(ActorRef<WritebackResult> replyTo) {
      this.replyTo = replyTo;
    }

    void done() {
      if (--outstanding == 0) {
        replyTo.tell(new WritebackResult(written, failed, refused));
      }
    }
  }

  /** A page being written back: the generation of its write, the job that chose it, and when. */
  private record Victim(long generation, ShrinkJob job, long startNanos) {}

  private final PageCompressor compressor;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final PoolGeometry geometry;
  private final ActorRef<BackingStore.Command> backing;
  private final Histogram writebackLatency;
  private final ActorRef<AllocReply> allocAdapter;
  private final ActorRef<LoadReply> patchAdapter;
  private final ActorRef<SizeClass.StoredBytes> victimAdapter;
  private final ActorRef<WriteReply> writeAdapter;
  private final ActorRef<ReadReply> readAdapter;
  private final ActorRef<SizeClass.AllocatedMany> allocManyAdapter;
  private final ActorRef<SizeClass.ObjectsRead> objectsAdapter;
  /** Allocations of the range store being walked, sent when the walk ends; null otherwise. */
  private RangeJobs.AllocBatch allocBatch;
  private final Map<Long, RangeJobs.LoadJob> loadJobs = new HashMap<>();
  private long nextJob = 1;
  private final ShardCounters counters = new ShardCounters();
  private long[] entries;
  private long[] words;
  private final Map<Integer, Pending> pending = new HashMap<>();
  private final Map<Integer, Victim> victims = new HashMap<>();
  /** Length of every backing write in flight, by generation, so a stale one can be freed. */
  private final Map<Long, Integer> writesInFlight = new HashMap<>();
  /** Loads waiting for a backing-file read of their page, in order. */
  private final Map<Integer, ArrayDeque<LoadPage>> backingLoads = new HashMap<>();
  private long nextGeneration = 1;
  private int clockHand;

  private TreeShard(ActorContext<Command> ctx, List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry,
      PageCompressor compressor, ActorRef<BackingStore.Command> backing, Histogram writebackLatency) {
    super(ctx);
    this.writebackLatency = writebackLatency;
    this.classes = classes;
    this.geometry = geometry;
    this.compressor = compressor;
    this.backing = backing;
    this.allocAdapter = ctx.messageAdapter(AllocReply.class, AllocDone::new);
    this.patchAdapter = ctx.messageAdapter(LoadReply.class, PatchBase::new);
    this.victimAdapter = ctx.messageAdapter(SizeClass.StoredBytes.class, VictimBytes::new);
    this.writeAdapter = ctx.messageAdapter(WriteReply.class, BackingWritten::new);
    this.readAdapter = ctx.messageAdapter(ReadReply.class, BackingRead::new);
    this.allocManyAdapter = ctx.messageAdapter(SizeClass.AllocatedMany.class, AllocatedMany::new);
    this.objectsAdapter = ctx.messageAdapter(SizeClass.ObjectsRead.class, RangeObjectsRead::new);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(StorePage.class, m -> perPage(slotOf(m.pageIndex()), m))
        .onMessage(LoadPage.class, m -> perPage(slotOf(m.pageIndex()), m))
        .onMessage(PatchPage.class, m -> perPage(slotOf(m.pageIndex()), m))
        .onMessage(InvalidatePages.class, this::onInvalidatePages)
        .onMessage(AllocDone.class, this::onAllocDone)
        .onMessage(StoreRange.class, this::onStoreRange)
        .onMessage(LoadRange.class, this::onLoadRange)
        .onMessage(AllocatedMany.class, this::onAllocatedMany)
        .onMessage(RangeObjectsRead.class, this::onRangeObjectsRead)
        .onMessage(RangePageLoaded.class, this::onRangePageLoaded)
        .onMessage(PatchBase.class, this::onPatchBase)
        .onMessage(Shrink.class, this::onShrink)
        .onMessage(MarkIdle.class, m -> markIdle())
        .onMessage(VictimBytes.class, this::onVictimBytes)
        .onMessage(BackingWritten.class, this::onBackingWritten)
        .onMessage(BackingRead.class, this::onBackingRead)
        .onMessage(GetStats.class, m -> {
          m.replyTo().tell(counters.snapshot());
          return this;
        })
        .build();
  }

  private static int slotOf(long pageIndex) {
    return (int) (pageIndex & PAGE_MASK);
  }

  /** Runs {@code op} now, or queues it behind the page's pending work. */
  private Behavior<Command> perPage(int slot, Object op) {
    Pending p = pending.isEmpty() ? null : pending.get(slot);
    if (p != null) {
      p.queued.add(op);
    } else {
      apply(slot, op);
    }
    return this;
  }

  private void apply(int slot, Object op) {
    if (op instanceof StorePage s) {
      store(slot, s, null);
    } else if (op instanceof PatchPage p) {
      patch(slot, p);
    } else if (op instanceof LoadPage l) {
      load(slot, l);
    } else {
      RangeWaiter w = ((QueuedInvalidate) op).waiter;
      if (free(slot)) {
        w.freed++;
        counters.invalidatedPages++;
      }
      w.done();
    }
  }

  /** Applies the operations queued behind finished work until one of them is pending again. */
  private void drainQueue(int slot, Pending finished) {
    Object op;
    while ((op = finished.queued.poll()) != null) {
      apply(slot, op);
      Pending again = pending.get(slot);
      if (again != null) {
        again.queued.addAll(finished.queued);
        return;
      }
    }
  }

  // ---- store --------------------------------------------------------------------------------

  /**
   * Stores an image. A same-filled page is installed at once; a raw page goes straight to the
   * backing file when there is one (zram's huge writeback); anything else needs an allocation.
   * {@code p} is non-null when a patch already made the page pending.
   */
  private void store(int slot, StorePage s, Pending p) {
    if (entries == null) {
      entries = new long[PAGES];
    }
    PageImage image = s.image();
    if (image instanceof PageImage.SameFilled same) {
      replaceWith(slot, Entry.sameFilled());
      if (same.word() != 0 || words != null) {
        if (words == null) {
          words = new long[PAGES];
        }
        words[slot] = same.word();
      }
      counters.samePages++;
      counters.stores++;
      s.replyTo().tell(new StoreReply.Stored(s.pageIndex()));
      if (p != null) {
        pending.remove(slot);
        drainQueue(slot, p);
      }
      return;
    }
    Pending work = p != null ? p : new Pending();
    work.generation = nextGeneration++;
    work.store = s;
    work.patch = null;
    pending.put(slot, work);
    byte[] bytes = storedBytes(image);
    if (image instanceof PageImage.Raw && backing != null && !work.toBacking) {
      work.toBacking = true;
      writesInFlight.put(work.generation, bytes.length);
      backing.tell(new BackingStore.Write(bytes, slot, work.generation, writeAdapter));
    } else {
      work.toBacking = false;
      int classIndex = geometry.classFor(bytes.length).index();
      if (allocBatch != null) {
        allocBatch.add(classIndex, bytes, slot, work.generation);
      } else {
        classes.get(classIndex).tell(new SizeClass.Alloc(bytes, slot, work.generation, allocAdapter));
      }
    }
  }

  private static byte[] storedBytes(PageImage image) {
    return image instanceof PageImage.Compressed c ? c.bytes() : ((PageImage.Raw) image).bytes();
  }

  /** Frees whatever the page held (a duplicate store) and installs {@code entry}. */
  private void replaceWith(int slot, long entry) {
    if (Entry.state(entries[slot]) != Entry.ABSENT) {
      counters.duplicateEntry++;
    }
    free(slot);
    entries[slot] = entry;
    counters.storedPages++;
  }

  private Behavior<Command> onAllocDone(AllocDone done) {
    if (done.reply() instanceof AllocReply.Allocated a) {
      allocated(a.tag(), a.generation(), a.handle(), null);
    } else {
      AllocReply.AllocRefused r = (AllocReply.AllocRefused) done.reply();
      allocated(r.tag(), r.generation(), 0, r.error());
    }
    return this;
  }

  private Behavior<Command> onAllocatedMany(AllocatedMany m) {
    SizeClass.AllocatedMany r = m.reply();
    for (int i = 0; i < r.count(); i++) {
      allocated(r.tags()[i], r.generations()[i], r.handles()[i], null);
    }
    return this;
  }

  /** An allocation answered: {@code handle} when {@code refusal} is null. */
  private void allocated(int slot, long generation, long handle, EngineError refusal) {
    Pending p = pending.get(slot);
    if (p == null || p.store == null || p.toBacking || p.generation != generation) {
      if (refusal == null) {
        freeHandle(handle); // stale: undo, never apply
      }
      return;
    }
    pending.remove(slot);
    StorePage s = p.store;
    if (refusal == null) {
      int length = s.image().storedLength();
      replaceWith(slot, Entry.withReferenced(Entry.stored(handle, length)));
      counters.addPooled(length);
      if (length == PageImage.PAGE_SIZE) {
        counters.rejectCompressPoor++;
      }
      counters.stores++;
      s.replyTo().tell(new StoreReply.Stored(s.pageIndex()));
    } else {
      counters.rejectAllocFail++;
      s.replyTo().tell(new StoreReply.Refused(s.pageIndex(), refusal));
    }
    drainQueue(slot, p);
  }

  // ---- ranges -------------------------------------------------------------------------------

  /** Each page through the per-page path; the allocations they need leave as one batch per class. */
  private Behavior<Command> onStoreRange(StoreRange m) {
    PageImage[] images = m.images();
    RangeJobs.StoreJob job = new RangeJobs.StoreJob(m.firstPage(), images.length, m.replyTo());
    allocBatch = new RangeJobs.AllocBatch(images.length);
    try {
      for (int i = 0; i < images.length; i++) {
        long page = m.firstPage() + i;
        perPage(slotOf(page), new StorePage(page, images[i], job));
      }
      allocBatch.send(classes, allocAdapter, allocManyAdapter);
    } finally {
      allocBatch = null;
    }
    return this;
  }

  private Behavior<Command> onLoadRange(LoadRange m) {
    RangeJobs.LoadJob job = new RangeJobs.LoadJob(nextJob++, m.firstPage(), m.count(), m.replyTo());
    RangeJobs.ReadBatch reads = null;
    RangePageReplyTo pageRef = null;
    int first = slotOf(m.firstPage());
    for (int i = 0; i < m.count(); i++) {
      int slot = first + i;
      long e = entries == null ? 0 : entries[slot];
      int state = Entry.state(e);
      boolean busy = !pending.isEmpty() && pending.containsKey(slot);
      if (busy || state == Entry.WRITTEN_BACK) {
        if (pageRef == null) {
          pageRef = new RangePageReplyTo(getContext().getSelf(), job.id);
        }
        job.outstanding++;
        perPage(slot, new LoadPage(m.firstPage() + i, pageRef));
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
      } else if (state == Entry.SAME_FILLED && words != null && words[slot] != 0) {
        int at = i * PageImage.PAGE_SIZE;
        SameFilledPage.fill(words[slot], job.pages, at, PageImage.PAGE_SIZE);
      }
    }
    if (reads != null) {
      job.outstanding += reads.send(classes, job.id, objectsAdapter);
    }
    if (!job.partDone()) {
      loadJobs.put(job.id, job);
    }
    return this;
  }

  private Behavior<Command> onRangeObjectsRead(RangeObjectsRead m) {
    SizeClass.ObjectsRead r = m.reply();
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
    return this;
  }

  private Behavior<Command> onRangePageLoaded(RangePageLoaded m) {
    RangeJobs.LoadJob job = loadJobs.get(m.job());
    if (m.reply() instanceof LoadReply.Loaded l) {
      int position = (int) (l.pageIndex() - job.firstPage);
      System.arraycopy(l.page(), 0, job.pages, position * PageImage.PAGE_SIZE, PageImage.PAGE_SIZE);
    } else {
      job.fail(m.reply().pageIndex(), ((LoadReply.LoadFailed) m.reply()).error());
    }
    finishPart(job);
    return this;
  }

  private void finishPart(RangeJobs.LoadJob job) {
    if (job.partDone()) {
      loadJobs.remove(job.id);
    }
  }

  /** The reply-to of a range load's per-page loads: forwards each answer to the shard, tagged. */
  private static final class RangePageReplyTo extends io.zswapd.actors.support.LocalRef<LoadReply> {
    private static final long serialVersionUID = 1L;
    private final transient ActorRef<Command> shard;
    private final transient long job;

    RangePageReplyTo(ActorRef<Command> shard, long job) {
      this.shard = shard;
      this.job = job;
    }

    @Override
    protected void receive(LoadReply reply) {
      shard.tell(new RangePageLoaded(job, reply));
    }
  }

  // ---- patch (read-modify-write) ------------------------------------------------------------

  private void patch(int slot, PatchPage m) {
    long e = entries == null ? 0 : entries[slot];
    int state = Entry.state(e);
    if (Entry.inPool(e) || state == Entry.WRITTEN_BACK) {
      Pending p = new Pending();
      p.patch = m;
      pending.put(slot, p);
      if (state == Entry.WRITTEN_BACK) {
        backing.tell(new BackingStore.Read(Entry.backingOffset(e), Entry.length(e), m.pageIndex(), readAdapter));
      } else {
        long h = Entry.handle(e);
        classes.get(Handle.classIndex(h))
            .tell(new SizeClass.Read(Handle.slot(h), Entry.length(e), m.pageIndex(), patchAdapter, false));
      }
    } else {
      byte[] page = new byte[PageImage.PAGE_SIZE];
      long word = state == Entry.SAME_FILLED && words != null ? words[slot] : 0;
      if (word != 0) {
        SameFilledPage.fill(word, page, 0, page.length);
      }
      applyPatch(slot, m, page, null);
    }
  }

  private Behavior<Command> onPatchBase(PatchBase m) {
    int slot = slotOf(m.reply().pageIndex());
    Pending p = pending.get(slot);
    if (m.reply() instanceof LoadReply.Loaded loaded) {
      applyPatch(slot, p.patch, loaded.page(), p);
    } else {
      failPatch(slot, p, ((LoadReply.LoadFailed) m.reply()).error());
    }
    return this;
  }

  private void failPatch(int slot, Pending p, EngineError error) {
    pending.remove(slot);
    p.patch.replyTo().tell(new StoreReply.Refused(p.patch.pageIndex(), error));
    drainQueue(slot, p);
  }

  /** The page's new bytes are compressed here, once, and stored like any other image. */
  private void applyPatch(int slot, PatchPage m, byte[] page, Pending p) {
    System.arraycopy(m.bytes(), 0, page, m.offset(), m.bytes().length);
    store(slot, new StorePage(m.pageIndex(), compressor.compress(page, 0), m.replyTo()), p);
  }

  // ---- load ---------------------------------------------------------------------------------

  private void load(int slot, LoadPage l) {
    counters.loads++;
    long e = entries == null ? 0 : entries[slot];
    switch (Entry.state(e)) {
      case Entry.STORED, Entry.WRITING_BACK -> {
        if (Entry.state(e) == Entry.STORED) {
          entries[slot] = Entry.withReferenced(e);
        }
        long h = Entry.handle(e);
        classes.get(Handle.classIndex(h))
            .tell(new SizeClass.Read(Handle.slot(h), Entry.length(e), l.pageIndex(), l.replyTo(), true));
      }
      case Entry.WRITTEN_BACK -> {
        counters.loadsFromBacking++;
        backingLoads.computeIfAbsent(slot, k -> new ArrayDeque<>(1)).add(l);
        backing.tell(new BackingStore.Read(Entry.backingOffset(e), Entry.length(e), l.pageIndex(), readAdapter));
      }
      case Entry.SAME_FILLED -> {
        byte[] page = new byte[PageImage.PAGE_SIZE];
        long word = words == null ? 0 : words[slot];
        if (word != 0) {
          SameFilledPage.fill(word, page, 0, page.length);
        }
        l.replyTo().tell(new LoadReply.Loaded(l.pageIndex(), page));
      }
      default -> l.replyTo().tell(new LoadReply.Loaded(l.pageIndex(), new byte[PageImage.PAGE_SIZE]));
    }
  }

  /**
   * A backing-file read finished: it answers the oldest load waiting for this page, or else
   * the patch waiting for the page's base. (Every read of one slot reads the same bytes, so
   * which request it was issued for does not matter.)
   */
  private Behavior<Command> onBackingRead(BackingRead m) {
    ReadReply r = m.reply();
    int slot = slotOf(r.pageIndex());
    ArrayDeque<LoadPage> waiting = backingLoads.get(slot);
    LoadPage load = waiting == null ? null : waiting.poll();
    if (waiting != null && waiting.isEmpty()) {
      backingLoads.remove(slot);
    }
    if (r instanceof ReadReply.ReadDone done) {
      byte[] page = compressor.decompress(done.bytes());
      if (load != null) {
        load.replyTo().tell(new LoadReply.Loaded(r.pageIndex(), page));
      } else {
        Pending p = pending.get(slot);
        applyPatch(slot, p.patch, page, p);
      }
    } else {
      counters.readErrors++;
      EngineError error = new EngineError(ErrorCode.IO_ERROR, "page " + r.pageIndex()
          + " could not be read from the backing file: " + ((ReadReply.ReadFailed) r).message());
      if (load != null) {
        load.replyTo().tell(new LoadReply.LoadFailed(r.pageIndex(), error));
      } else {
        failPatch(slot, pending.get(slot), error);
      }
    }
    return this;
  }

  // ---- invalidate ---------------------------------------------------------------------------

  private Behavior<Command> onInvalidatePages(InvalidatePages m) {
    int first = slotOf(m.firstPage());
    int end = (int) (first + m.count());
    RangeWaiter waiter = new RangeWaiter(m.replyTo(), m.drainWrites());
    waiter.outstanding = 1; // held until the loop is done
    for (int slot = first; slot < end; slot++) {
      Pending p = pending.isEmpty() ? null : pending.get(slot);
      if (p != null) {
        waiter.outstanding++;
        p.queued.add(new QueuedInvalidate(waiter));
      } else if (entries != null && free(slot)) {
        waiter.freed++;
        counters.invalidatedPages++;
      }
    }
    waiter.done();
    return this;
  }

  /** Frees whatever the entry holds and leaves it absent; true when it held a page. */
  private boolean free(int slot) {
    if (entries == null) {
      return false;
    }
    long e = entries[slot];
    switch (Entry.state(e)) {
      case Entry.STORED, Entry.WRITING_BACK -> {
        if (Entry.state(e) == Entry.WRITING_BACK) {
          cancelVictim(slot);
        }
        freeHandle(Entry.handle(e));
        counters.removePooled(Entry.length(e));
      }
      case Entry.WRITTEN_BACK -> {
        backing.tell(new BackingStore.Free(Entry.backingOffset(e), Entry.length(e)));
        counters.writtenBackPages--;
      }
      case Entry.SAME_FILLED -> {
        counters.samePages--;
        if (words != null) {
          words[slot] = 0;
        }
      }
      default -> {
        return false;
      }
    }
    entries[slot] = 0;
    counters.storedPages--;
    return true;
  }

  private void freeHandle(long handle) {
    classes.get(Handle.classIndex(handle)).tell(new SizeClass.Free(Handle.slot(handle)));
  }

  // ---- writeback ----------------------------------------------------------------------------

  /**
   * Chooses victims with the CLOCK hand and starts their writeback. LRU gives referenced pages
   * a second chance (clears the bit and passes); IDLE takes only pages not referenced since the
   * last {@link MarkIdle}; HUGE only raw pages; ALL every page in the pool.
   */
  private Behavior<Command> onShrink(Shrink m) {
    ShrinkJob job = new ShrinkJob(m.replyTo());
    if (backing != null && entries != null) {
      int limit = m.mode() == WritebackMode.LRU ? 2 * PAGES : PAGES;
      int started = 0;
      for (int scanned = 0; scanned < limit && started < m.maxPages(); scanned++) {
        int slot = clockHand;
        clockHand = (clockHand + 1) & PAGE_MASK;
        long e = entries[slot];
        if (Entry.state(e) != Entry.STORED || (!pending.isEmpty() && pending.containsKey(slot))) {
          continue;
        }
        boolean referenced = Entry.referenced(e);
        boolean take = switch (m.mode()) {
          case LRU -> !referenced;
          case IDLE -> !referenced;
          case HUGE -> Entry.length(e) == PageImage.PAGE_SIZE;
          case ALL -> true;
        };
        if (!take) {
          if (m.mode() == WritebackMode.LRU) {
            entries[slot] = Entry.withoutReferenced(e); // second chance
          }
          continue;
        }
        startVictim(slot, e, job);
        started++;
      }
    }
    job.done();
    return this;
  }

  /** Marks the page and asks its size class for the stored bytes, in one step of the owner. */
  private void startVictim(int slot, long e, ShrinkJob job) {
    long generation = nextGeneration++;
    entries[slot] = Entry.writingBack(e);
    victims.put(slot, new Victim(generation, job, System.nanoTime()));
    job.outstanding++;
    long h = Entry.handle(e);
    classes.get(Handle.classIndex(h))
        .tell(new SizeClass.ReadStored(Handle.slot(h), Entry.length(e), slot, generation, victimAdapter));
  }

  /** The victim was freed (invalidated or rewritten) before its writeback finished. */
  private void cancelVictim(int slot) {
    Victim v = victims.remove(slot);
    if (v != null) {
      v.job().done();
    }
  }

  private Behavior<Command> onVictimBytes(VictimBytes m) {
    SizeClass.StoredBytes b = m.bytes();
    Victim v = victims.get(b.tag());
    if (v == null || v.generation() != b.generation()) {
      return this; // cancelled before its bytes arrived: nothing was written, nothing to undo
    }
    writesInFlight.put(b.generation(), b.bytes().length);
    backing.tell(new BackingStore.Write(b.bytes(), b.tag(), b.generation(), writeAdapter));
    return this;
  }

  private Behavior<Command> onBackingWritten(BackingWritten m) {
    WriteReply r = m.reply();
    int slot = r.tag();
    Integer length = writesInFlight.remove(r.generation());
    Victim v = victims.get(slot);
    Pending p = pending.get(slot);
    if (v != null && v.generation() == r.generation()) {
      victimWritten(slot, v, r);
    } else if (p != null && p.toBacking && p.generation == r.generation()) {
      rawPageWritten(slot, p, r);
    } else if (r instanceof WriteReply.Written w) {
      backing.tell(new BackingStore.Free(w.slotOffset(), length)); // stale: undo, never apply
    }
    if (writesInFlight.isEmpty() && !awaitingWriteDrain.isEmpty()) {
      awaitingWriteDrain.forEach(waiter -> waiter.replyTo.tell(new InvalidateReply.Invalidated(waiter.freed)));
      awaitingWriteDrain.clear();
    }
    return this;
  }

  private void victimWritten(int slot, Victim v, WriteReply r) {
    victims.remove(slot);
    long e = entries[slot];
    if (r instanceof WriteReply.Written w) {
      freeHandle(Entry.handle(e));
      counters.removePooled(Entry.length(e));
      entries[slot] = Entry.writtenBack(w.slotOffset(), Entry.length(e));
      counters.writtenBackPages++;
      counters.writebacks++;
      v.job().written++;
      if (writebackLatency != null) {
        writebackLatency.record(System.nanoTime() - v.startNanos());
      }
    } else {
      entries[slot] = Entry.stored(Entry.handle(e), Entry.length(e)); // the page stays in memory
      countWriteProblem(r, v.job());
    }
    v.job().done();
  }

  /** A raw page sent straight to the backing file: installed there, or stored in the pool instead. */
  private void rawPageWritten(int slot, Pending p, WriteReply r) {
    StorePage s = p.store;
    if (r instanceof WriteReply.Written w) {
      pending.remove(slot);
      replaceWith(slot, Entry.writtenBack(w.slotOffset(), PageImage.PAGE_SIZE));
      counters.writtenBackPages++;
      counters.writebacks++;
      counters.rejectCompressPoor++;
      counters.stores++;
      s.replyTo().tell(new StoreReply.Stored(s.pageIndex()));
      drainQueue(slot, p);
    } else {
      countWriteProblem(r, null);
      store(slot, s, p); // p.toBacking stays true: this time the pool
    }
  }

  private void countWriteProblem(WriteReply r, ShrinkJob job) {
    if (r instanceof WriteReply.WriteRefused) {
      counters.backingFull++;
      if (job != null) {
        job.refused++;
      }
    } else {
      counters.writeErrors++;
      if (job != null) {
        job.failed++;
      }
    }
  }

  private Behavior<Command> markIdle() {
    if (entries != null) {
      for (int slot = 0; slot < PAGES; slot++) {
        if (Entry.referenced(entries[slot])) {
          entries[slot] = Entry.withoutReferenced(entries[slot]);
        }
      }
    }
    return this;
  }
}
