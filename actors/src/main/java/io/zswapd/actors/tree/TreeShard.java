package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.pool.AllocReply;
import io.zswapd.actors.pool.ClassGeometry;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.ReadReply;
import io.zswapd.actors.writeback.WriteReply;
import io.zswapd.protocol.engine.EngineError;
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
 *
 * <p>This file keeps the entries, the pending pages and stores. Loads and patches
 * ({@link ShardLoads}), range requests ({@link ShardRangeRequests}) and writeback
 * ({@link ShardWriteback}) are plain objects of this one actor, called only from its handlers.
 */
public final class TreeShard extends AbstractBehavior<TreeShard.Command> {
  public static final int PAGES_SHIFT = 14;
  public static final int PAGES = 1 << PAGES_SHIFT;
  static final int PAGE_MASK = PAGES - 1;
  /** Pages in flight a shard's pending map may have held and still be kept when it empties. */
  private static final int SMALL_PENDING = 12;

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
   * The export is closing (sent by its swap type, before the invalidation that frees every
   * page): refuse every later page request (a page, a patch, a range store or load) with
   * SHUTTING_DOWN, so none sent straight here (see {@link ShardDirectory}) lands after the
   * invalidation.
   */
  public record Close() implements Command {}

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

  record RangePageLoaded(long job, LoadReply reply) implements Command {}

  private record AllocDone(AllocReply reply) implements Command {}

  private record PatchBase(LoadReply reply) implements Command {}

  private record VictimBytes(SizeClass.StoredBytes bytes) implements Command {}

  private record BackingWritten(WriteReply reply) implements Command {}

  private record BackingRead(ReadReply reply) implements Command {}

  /**
   * @param backing          the export's backing store, or null when it has no backing file
   * @param writebackLatency where each page's writeback time is recorded, or null
   */
  public static Behavior<Command> create(List<ActorRef<SizeClass.Command>> classes,
      PoolGeometry geometry, PageCompressor compressor, ActorRef<BackingStore.Command> backing,
      Histogram writebackLatency) {
    return Behaviors.setup(ctx -> new TreeShard(ctx, classes, geometry, compressor, backing, writebackLatency));
  }

  /**
   * A page with work in flight: a store waiting for its allocation or backing write, or a
   * patch waiting for the page's current bytes; and the operations queued behind it.
   */
  static final class Pending {
    long generation;
    StorePage store;
    PatchPage patch;
    boolean toBacking;
    final ArrayDeque<Object> queued = new ArrayDeque<>(2);
  }

  private final List<ActorRef<SizeClass.Command>> classes;
  private final PoolGeometry geometry;
  /** Size-class actors per class ({@code Pool.lanes}): a page's lane is its slot modulo this. */
  private final int lanes;
  private final ActorRef<BackingStore.Command> backing;
  private final ActorRef<AllocReply> allocAdapter;
  private final ShardCounters counters = new ShardCounters();
  private final ShardWriteback writeback;
  private final ShardLoads loads;
  private final ShardRangeRequests ranges;
  private long[] entries;
  private long[] words;
  /**
   * Pages with work in flight. A hash map never shrinks, so one made large by a burst (up to a
   * client's whole window) is replaced when it empties: an idle shard keeps no such table.
   */
  private Map<Integer, Pending> pending = new HashMap<>();
  private int pendingPeak;
  private long nextGeneration = 1;
  /** After {@link Close}: single-page requests are refused. */
  private boolean closed;

  private TreeShard(ActorContext<Command> ctx, List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry,
      PageCompressor compressor, ActorRef<BackingStore.Command> backing, Histogram writebackLatency) {
    super(ctx);
    this.classes = classes;
    this.geometry = geometry;
    this.lanes = classes.size() / geometry.classes().size();
    this.backing = backing;
    this.allocAdapter = ctx.messageAdapter(AllocReply.class, AllocDone::new);
    ActorRef<LoadReply> patchAdapter = ctx.messageAdapter(LoadReply.class, PatchBase::new);
    ActorRef<SizeClass.StoredBytes> victimAdapter = ctx.messageAdapter(SizeClass.StoredBytes.class, VictimBytes::new);
    ActorRef<WriteReply> writeAdapter = ctx.messageAdapter(WriteReply.class, BackingWritten::new);
    ActorRef<ReadReply> readAdapter = ctx.messageAdapter(ReadReply.class, BackingRead::new);
    ActorRef<SizeClass.AllocatedMany> allocManyAdapter =
        ctx.messageAdapter(SizeClass.AllocatedMany.class, AllocatedMany::new);
    ActorRef<SizeClass.ObjectsRead> objectsAdapter =
        ctx.messageAdapter(SizeClass.ObjectsRead.class, RangeObjectsRead::new);
    this.writeback = new ShardWriteback(this, classes, backing, writebackLatency, counters, victimAdapter,
        writeAdapter);
    this.loads = new ShardLoads(this, classes, compressor, backing, counters, patchAdapter, readAdapter,
        ctx.getExecutionContext());
    this.ranges = new ShardRangeRequests(this, ctx.getSelf(), classes, compressor, counters, writeback,
        allocAdapter, allocManyAdapter, objectsAdapter);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(StorePage.class, m -> closed ? refuse(m) : perPage(slotOf(m.pageIndex()), m))
        .onMessage(LoadPage.class, m -> closed ? refuse(m) : perPage(slotOf(m.pageIndex()), m))
        .onMessage(PatchPage.class, m -> closed ? refuse(m) : perPage(slotOf(m.pageIndex()), m))
        .onMessage(Close.class, m -> {
          closed = true;
          return this;
        })
        .onMessage(InvalidatePages.class, m -> { ranges.invalidate(m); return this; })
        .onMessage(AllocDone.class, this::onAllocDone)
        .onMessage(StoreRange.class, m -> {
          if (closed) {
            return refuse(m);
          }
          ranges.store(m);
          return this;
        })
        .onMessage(LoadRange.class, m -> {
          if (closed) {
            return refuse(m);
          }
          ranges.load(m);
          return this;
        })
        .onMessage(AllocatedMany.class, this::onAllocatedMany)
        .onMessage(RangeObjectsRead.class, m -> { ranges.objectsRead(m.reply()); return this; })
        .onMessage(RangePageLoaded.class, m -> { ranges.pageLoaded(m.job(), m.reply()); return this; })
        .onMessage(PatchBase.class, m -> { loads.patchBase(m.reply()); return this; })
        .onMessage(Shrink.class, m -> { writeback.shrink(m); return this; })
        .onMessage(MarkIdle.class, m -> { writeback.markIdle(); return this; })
        .onMessage(VictimBytes.class, m -> { writeback.victimBytes(m.bytes()); return this; })
        .onMessage(BackingWritten.class, m -> { writeback.written(m.reply()); return this; })
        .onMessage(BackingRead.class, m -> { loads.backingRead(m.reply()); return this; })
        .onMessage(GetStats.class, m -> { m.replyTo().tell(counters.snapshot()); return this; })
        .build();
  }

  /** A page request after {@link Close}. */
  private Behavior<Command> refuse(Command m) {
    EngineError error = EngineError.shutDown();
    if (m instanceof StorePage s) {
      s.replyTo().tell(new StoreReply.Refused(s.pageIndex(), error));
    } else if (m instanceof PatchPage p) {
      p.replyTo().tell(new StoreReply.Refused(p.pageIndex(), error));
    } else if (m instanceof LoadPage l) {
      l.replyTo().tell(new LoadReply.LoadFailed(l.pageIndex(), error));
    } else if (m instanceof StoreRange s) {
      s.replyTo().tell(new StoreReply.Refused(s.firstPage(), error));
    } else {
      LoadRange l = (LoadRange) m;
      l.replyTo().tell(new LoadRangeReply.LoadRangeFailed(l.firstPage(), error));
    }
    return this;
  }

  static int slotOf(long pageIndex) {
    return (int) (pageIndex & PAGE_MASK);
  }

  // ---- for the shard's collaborators (ShardLoads, ShardRangeRequests, ShardWriteback) -------

  /** The entries, made on the first store: null before it. Written only on this actor's thread. */
  long[] entries() {
    return entries;
  }

  /** The word a same-filled page at {@code slot} repeats (0 also when it is not same-filled). */
  long word(int slot) {
    return words == null ? 0 : words[slot];
  }

  /** True when the page has work in flight, so anything more about it must queue. */
  boolean isPending(int slot) {
    return !pending.isEmpty() && pending.containsKey(slot);
  }

  /** The page's work in flight, or null. */
  Pending pending(int slot) {
    return pending.get(slot);
  }

  /** Makes the page pending on {@code p}. */
  void putPending(int slot, Pending p) {
    pending.put(slot, p);
    pendingPeak = Math.max(pendingPeak, pending.size());
  }

  /** The page's work ended; whoever ended it then drains its queue. */
  void removePending(int slot) {
    pending.remove(slot);
    if (pendingPeak > SMALL_PENDING && pending.isEmpty()) {
      pending = new HashMap<>();
      pendingPeak = 0;
    }
  }

  /** A new generation for an allocation or backing write of this shard; never reused. */
  long newGeneration() {
    return nextGeneration++;
  }

  /** Runs {@code op} now, or queues it behind the page's pending work. */
  Behavior<Command> perPage(int slot, Object op) {
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
      loads.patch(slot, p);
    } else if (op instanceof LoadPage l) {
      loads.load(slot, l);
    } else {
      ((ShardRangeRequests.QueuedInvalidate) op).apply(slot);
    }
  }

  /** Applies the operations queued behind finished work until one of them is pending again. */
  void drainQueue(int slot, Pending finished) {
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
  void store(int slot, StorePage s, Pending p) {
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
        removePending(slot);
        drainQueue(slot, p);
      }
      return;
    }
    Pending work = p != null ? p : new Pending();
    work.generation = newGeneration();
    work.store = s;
    work.patch = null;
    putPending(slot, work);
    byte[] bytes = storedBytes(image);
    if (image instanceof PageImage.Raw && backing != null && !work.toBacking) {
      work.toBacking = true;
      writeback.write(bytes, slot, work.generation);
    } else {
      work.toBacking = false;
      int classIndex = ClassGeometry.actorIndex(geometry.classFor(bytes.length).index(), lanes, slot % lanes);
      RangeJobs.AllocBatch allocBatch = ranges.allocBatch();
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
    removePending(slot);
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

  /**
   * A backing write finished that may be the one a raw page sent straight to the backing file
   * waits for: the page is installed there, or stored in the pool instead. False when no store
   * of the page waits for this write.
   */
  boolean rawPageWritten(int slot, WriteReply r) {
    Pending p = pending.get(slot);
    if (p == null || !p.toBacking || p.generation != r.generation()) {
      return false;
    }
    StorePage s = p.store;
    if (r instanceof WriteReply.Written w) {
      removePending(slot);
      replaceWith(slot, Entry.writtenBack(w.slotOffset(), PageImage.PAGE_SIZE));
      counters.writtenBackPages++;
      counters.writebacks++;
      counters.rejectCompressPoor++;
      counters.stores++;
      s.replyTo().tell(new StoreReply.Stored(s.pageIndex()));
      drainQueue(slot, p);
    } else {
      writeback.countWriteProblem(r);
      store(slot, s, p); // p.toBacking stays true: this time the pool
    }
    return true;
  }

  // ---- free ---------------------------------------------------------------------------------

  /** Frees whatever the entry holds and leaves it absent; true when it held a page. */
  boolean free(int slot) {
    if (entries == null) {
      return false;
    }
    long e = entries[slot];
    switch (Entry.state(e)) {
      case Entry.STORED, Entry.WRITING_BACK -> {
        if (Entry.state(e) == Entry.WRITING_BACK) {
          writeback.cancelVictim(slot);
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

  void freeHandle(long handle) {
    classes.get(Handle.classIndex(handle)).tell(new SizeClass.Free(Handle.slot(handle)));
  }
}
