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
import io.zswapd.actors.pool.ClassWork;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.IntMap;
import io.zswapd.actors.tree.ShardJobs.InvalidateJob;
import io.zswapd.actors.tree.ShardJobs.InvalidateOp;
import io.zswapd.actors.tree.ShardJobs.LoadOp;
import io.zswapd.actors.tree.ShardJobs.PageOp;
import io.zswapd.actors.tree.ShardJobs.PatchOp;
import io.zswapd.actors.tree.ShardJobs.StoreJob;
import io.zswapd.actors.tree.ShardJobs.StoreOp;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.ReadReply;
import io.zswapd.actors.writeback.WriteReply;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.RecompressResult;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.Executor;
import kamon.metric.Histogram;

/**
 * One tree shard: the single owner of the entries for 16,384 consecutive pages (64 MiB) of
 * one export, the zswap tree of that range, and of their LRU.
 *
 * <p><b>Batches.</b> Page requests arrive as {@link Pages}, straight from their senders (the
 * export's routing table, {@link ExportRoute}): one request from the embedded API, all of a
 * shard's requests an NBD connection decoded in one pass from another. The shard serves each
 * at once but sends nothing for it yet: the first {@link Pages} of a run of its mailbox sends
 * the shard a {@link Flush}, which arrives behind the requests already queued, and every turn
 * that is not a {@link Pages} (a flush, an allocation answer, a read answer) ends by sending
 * what the turns before it gathered: one {@link SizeClass.Work} per size-class actor it needs
 * (the single-page reads, frees and allocations together) and one task that sends the
 * replies. Requests that arrive one by one while the shard is busy so travel on together, and
 * a lone request waits for nothing but its own flush: no timer.
 *
 * <p><b>Closing.</b> Once {@link Close}d (export removal, shutdown) the shard refuses every
 * page request with SHUTTING_DOWN but the {@code InvalidateArea} its closer sends next, so no
 * page can land after that invalidation, whichever routing table its sender still held.
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
 * <p>Every message about a handle or a backing slot is sent by this shard, and a read of a
 * handle always leaves before its free (reads of a turn are sent before, or in the same
 * {@link SizeClass.Work} as, the turn's frees, which the class serves after the reads), so a
 * read is served before the free that follows it.
 *
 * <p>This file keeps the entries, the pending pages, stores and frees. Loads and patches
 * ({@link ShardLoads}) and writeback ({@link ShardWriteback}) are plain objects of this one
 * actor, called only from its handlers.
 */
public final class TreeShard extends AbstractBehavior<TreeShard.Command> {
  public static final int PAGES_SHIFT = 14;
  public static final int PAGES = 1 << PAGES_SHIFT;
  static final int PAGE_MASK = PAGES - 1;

  public sealed interface Command {}

  /**
   * Page requests for this shard, served in list order: single pages, ranges inside this
   * shard, invalidations of pages of this shard, and {@code InvalidateArea} for all of them
   * (answered once the backing writes in flight have ended too). The sender checked bounds and
   * permissions ({@link ExportRoute}).
   */
  public record Pages(List<? extends EngineCommand.PageRequest> requests) implements Command {
    /** One request. */
    public static Pages of(EngineCommand.PageRequest request) {
      return new Pages(List.of(request));
    }
  }

  /** Send the size classes and callers what the {@link Pages} turns since the last flush gathered. */
  private enum Flush implements Command { INSTANCE }

  /**
   * The export is closing: refuse every later page request with SHUTTING_DOWN but
   * {@code InvalidateArea}, which the closer sends next.
   */
  public record Close() implements Command {}

  /**
   * The images of pages from {@code firstPage} on, as the pool keeps them ({@link ImagesReply}):
   * at most {@code maxPages} (not past the shard's last page), and no more once their bytes
   * (stored length, 8 for a same-filled word) would pass {@code maxBytes} (at least one page). In order with {@link Pages}: a page
   * with work in flight is read in its turn. A memory node's loads, and a hand-off's reads.
   */
  public record LoadImages(long firstPage, int maxPages, int maxBytes, ActorRef<ImagesReply> replyTo)
      implements Command {}

  /** Write back up to {@code maxPages} pages chosen by {@code mode}; answered when all finished. */
  public record Shrink(int maxPages, WritebackMode mode, ActorRef<WritebackResult> replyTo) implements Command {}

  /** Clear every referenced bit: pages not touched from now on count as idle. */
  public record MarkIdle() implements Command {}

  public record GetStats(ActorRef<ShardStats> replyTo) implements Command {}

  /**
   * Recompress the pages {@code selection} names with the export's second codec, at most
   * {@code pagesPerSecond} a second (0: as fast as batches go); answered when all are done
   * ({@link ShardRecompress}).
   */
  public record Recompress(RecompressSelection selection, int pagesPerSecond, ActorRef<RecompressResult> replyTo)
      implements Command {}

  /**
   * A recompression batch's new copies, from the task that made them: {@code copies[i]} for
   * the batch's page {@code i}, null where the page keeps its object ({@code corrupt[i]}: its
   * stored bytes did not decompress).
   */
  public record Recompressed(long batch, byte[][] copies, boolean[] corrupt) implements Command {}

  /** Start the next recompression batch (after the pause a paced job asks for). */
  private enum NextBatch implements Command { INSTANCE }

  private record AllocatedMany(SizeClass.AllocatedMany reply) implements Command {}

  private record AllocDone(AllocReply reply) implements Command {}

  private record ObjectsRead(SizeClass.ObjectsRead reply) implements Command {}

  private record PatchBase(LoadReply reply) implements Command {}

  private record VictimBytes(SizeClass.StoredBytes bytes) implements Command {}

  private record BackingWritten(WriteReply reply) implements Command {}

  private record BackingRead(ReadReply reply) implements Command {}

  /**
   * @param backing          the export's backing store, or null when it has no backing file
   * @param writebackLatency where each page's writeback time is recorded, or null
   * @param recompressor     the export's second codec, or null when it has none
   */
  /**
   * @param firstStore       run (on the shard's thread) when the shard makes its entries, at
   *                         its first store: the swap type counts the shards in use by it
   */
  public static Behavior<Command> create(List<ActorRef<SizeClass.Command>> classes,
      PoolGeometry geometry, PageCompressor compressor, ActorRef<BackingStore.Command> backing,
      Histogram writebackLatency, Recompressor recompressor, Runnable firstStore) {
    return Behaviors.setup(ctx -> new TreeShard(ctx, classes, geometry, compressor, backing, writebackLatency,
        recompressor, firstStore));
  }

  /**
   * A page with work in flight: a store waiting for its allocation or backing write, or a
   * patch waiting for the page's current bytes; and the operations queued behind it. Only this
   * class reads or writes it.
   */
  private static final class Pending {
    long generation;
    StoreOp store;
    PatchOp patch;
    /** The store's image is on its way to the backing file, not to a size class. */
    boolean toBacking;
    /** The store's first place refused it (the pool full, or the file): a refusal now is final. */
    boolean secondPlace;
    final ArrayDeque<PageOp> queued = new ArrayDeque<>(2);
  }

  private final List<ActorRef<SizeClass.Command>> classes;
  private final PoolGeometry geometry;
  /** Size-class actors per class ({@code Pool.lanes}): a page's lane is its slot modulo this. */
  private final int lanes;
  private final ActorRef<BackingStore.Command> backing;
  private final ActorRef<AllocReply> allocAdapter;
  private final ActorRef<SizeClass.AllocatedMany> allocatedAdapter;
  private final Executor dispatcher;
  private final PageCompressor compressor;
  private final ShardCounters counters = new ShardCounters();
  private final ShardWriteback writeback;
  private final ShardLoads loads;
  private final ShardRecompress recompress;
  private final ShardJobs.Outbox outbox = new ShardJobs.Outbox();
  /** This turn's work per size-class actor (null where none), sent when the turn ends. */
  private ClassWork[] work;
  private int[] workTouched;
  private int workCount;
  private long[] entries;
  private long[] words;
  /**
   * Pages with work in flight, by slot: an {@link IntMap} (nothing boxed or allocated per store)
   * that shrinks when it empties after a burst, so an idle shard keeps no large table.
   */
  private final IntMap<Pending> pending = new IntMap<>();
  private long nextGeneration = 1;
  private final Runnable firstStore;
  /** A {@link Flush} is on its way: the {@link Pages} turns until it leave their work for it. */
  private boolean flushQueued;
  private boolean closed;

  private TreeShard(ActorContext<Command> ctx, List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry,
      PageCompressor compressor, ActorRef<BackingStore.Command> backing, Histogram writebackLatency,
      Recompressor recompressor, Runnable firstStore) {
    super(ctx);
    this.firstStore = firstStore;
    this.classes = classes;
    this.geometry = geometry;
    this.compressor = compressor;
    this.lanes = classes.size() / geometry.classes().size();
    this.backing = backing;
    this.dispatcher = ctx.getExecutionContext();
    this.allocAdapter = ctx.messageAdapter(AllocReply.class, AllocDone::new);
    this.allocatedAdapter = ctx.messageAdapter(SizeClass.AllocatedMany.class, AllocatedMany::new);
    ActorRef<LoadReply> patchAdapter = ctx.messageAdapter(LoadReply.class, PatchBase::new);
    ActorRef<SizeClass.StoredBytes> victimAdapter = ctx.messageAdapter(SizeClass.StoredBytes.class, VictimBytes::new);
    ActorRef<WriteReply> writeAdapter = ctx.messageAdapter(WriteReply.class, BackingWritten::new);
    ActorRef<ReadReply> readAdapter = ctx.messageAdapter(ReadReply.class, BackingRead::new);
    ActorRef<SizeClass.ObjectsRead> objectsAdapter = ctx.messageAdapter(SizeClass.ObjectsRead.class, ObjectsRead::new);
    this.writeback = new ShardWriteback(this, classes, backing, writebackLatency, counters, victimAdapter,
        writeAdapter);
    this.loads = new ShardLoads(this, classes, backing, counters, patchAdapter, readAdapter,
        objectsAdapter, outbox);
    ActorRef<Command> self = ctx.getSelf();
    this.recompress = new ShardRecompress(this, recompressor, geometry, classes, counters, objectsAdapter, self,
        dispatcher, delay -> {
          if (delay.isZero()) {
            self.tell(NextBatch.INSTANCE); // behind what is already queued: loads and stores go first
          } else {
            ctx.scheduleOnce(delay, self, NextBatch.INSTANCE);
          }
        });
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Pages.class, m -> {
          for (EngineCommand.PageRequest r : m.requests()) {
            if (closed && !(r instanceof EngineCommand.InvalidateArea)) {
              dispatcher.execute(() -> r.refuse(EngineError.shutDown()));
            } else {
              serve(r);
            }
          }
          if (!flushQueued) {
            flushQueued = true;
            getContext().getSelf().tell(Flush.INSTANCE);
          }
          return this;
        })
        .onMessage(Flush.class, m -> {
          flushQueued = false;
          return turnEnds();
        })
        .onMessage(Close.class, m -> {
          closed = true;
          return this;
        })
        .onMessage(LoadImages.class, m -> {
          loads.loadImages(m);
          return turnEnds();
        })
        .onMessage(AllocatedMany.class, m -> {
          SizeClass.AllocatedMany r = m.reply();
          for (int i = 0; i < r.count(); i++) {
            allocated(r.tags()[i], r.generations()[i], r.handles()[i], null);
          }
          return turnEnds();
        })
        .onMessage(AllocDone.class, m -> {
          if (m.reply() instanceof AllocReply.Allocated a) {
            allocated(a.tag(), a.generation(), a.handle(), null);
          } else {
            AllocReply.AllocRefused r = (AllocReply.AllocRefused) m.reply();
            allocated(r.tag(), r.generation(), 0, r.error());
          }
          return turnEnds();
        })
        .onMessage(ObjectsRead.class, m -> {
          if (ShardRecompress.isBatchRead(m.reply().job())) {
            recompress.objectsRead(m.reply());
          } else {
            loads.objectsRead(m.reply());
          }
          return turnEnds();
        })
        .onMessage(Recompress.class, m -> {
          recompress.request(m);
          return turnEnds();
        })
        .onMessage(Recompressed.class, m -> {
          recompress.recompressed(m);
          return turnEnds();
        })
        .onMessage(NextBatch.class, m -> {
          recompress.nextBatch();
          return turnEnds();
        })
        .onMessage(PatchBase.class, m -> {
          loads.patchBase(m.reply());
          return turnEnds();
        })
        .onMessage(BackingRead.class, m -> {
          loads.backingRead(m.reply());
          return turnEnds();
        })
        .onMessage(Shrink.class, m -> {
          writeback.shrink(m);
          return turnEnds();
        })
        .onMessage(MarkIdle.class, m -> {
          markIdle();
          return this;
        })
        .onMessage(VictimBytes.class, m -> {
          writeback.victimBytes(m.bytes());
          return turnEnds();
        })
        .onMessage(BackingWritten.class, m -> {
          writeback.written(m.reply());
          return turnEnds();
        })
        .onMessage(GetStats.class, m -> {
          m.replyTo().tell(counters.snapshot());
          return this;
        })
        .build();
  }

  /** Ends a turn: the size classes get this turn's work, the callers this turn's replies. */
  private Behavior<Command> turnEnds() {
    for (int i = 0; i < workCount; i++) {
      int c = workTouched[i];
      classes.get(c).tell(new SizeClass.Work(work[c]));
      work[c] = null;
    }
    workCount = 0;
    outbox.flush(dispatcher);
    return this;
  }

  /** This turn's work for size-class actor {@code classIndex}. */
  ClassWork workFor(int classIndex) {
    if (work == null) { // made at the first work: a shard made with its export may never have any
      work = new ClassWork[classes.size()];
      workTouched = new int[classes.size()];
    }
    ClassWork w = work[classIndex];
    if (w == null) {
      w = new ClassWork(allocAdapter, allocatedAdapter);
      work[classIndex] = w;
      workTouched[workCount++] = classIndex;
    }
    return w;
  }

  private void serve(EngineCommand.PageRequest r) {
    if (r instanceof EngineCommand.Store s) {
      perPage(slotOf(s.pageIndex()), new StoreOp(s.pageIndex(), s.page(), new StoreJob(s.pageIndex(), 1, s.replyTo())));
    } else if (r instanceof EngineCommand.Load l) {
      loads.load(l);
    } else if (r instanceof EngineCommand.StoreRange s) {
      StoreJob job = new StoreJob(s.firstPage(), s.pages().length, s.replyTo());
      for (int i = 0; i < s.pages().length; i++) {
        long page = s.firstPage() + i;
        perPage(slotOf(page), new StoreOp(page, s.pages()[i], job));
      }
    } else if (r instanceof EngineCommand.LoadRange l) {
      loads.loadRange(l);
    } else if (r instanceof EngineCommand.Patch p) {
      perPage(slotOf(p.pageIndex()),
          new PatchOp(p.pageIndex(), p.offset(), p.bytes(), new StoreJob(p.pageIndex(), 1, p.replyTo())));
    } else if (r instanceof EngineCommand.Invalidate i) {
      invalidate(slotOf(i.pageIndex()), 1, i.replyTo(), false);
    } else if (r instanceof EngineCommand.InvalidateRange i) {
      invalidate(slotOf(i.firstPage()), (int) i.pageCount(), i.replyTo(), false);
    } else if (r instanceof EngineCommand.InvalidateArea a) {
      invalidate(0, PAGES, a.replyTo(), true);
    }
  }

  static int slotOf(long pageIndex) {
    return (int) (pageIndex & PAGE_MASK);
  }

  // ---- for the shard's collaborators (ShardLoads, ShardWriteback) --------------------------

  /** The entries, made on the first store: null before it. Written only on this actor's thread. */
  long[] entries() {
    return entries;
  }

  /** The word a same-filled page at {@code slot} repeats (0 also when it is not same-filled). */
  long word(int slot) {
    return words == null ? 0 : words[slot];
  }

  /** Clears every referenced bit: pages not touched from now on count as idle. */
  void markIdle() {
    if (entries != null) {
      for (int slot = 0; slot < PAGES; slot++) {
        entries[slot] = Entry.withoutReferenced(entries[slot]);
      }
    }
  }

  /** True when {@code e}, a page in the pool, is held by the export's second codec. */
  boolean isRecompressed(long e) {
    return recompress.isRecompressed(e);
  }

  /** The codec of the pool's compressor: what a {@link LoadImages} answer's compressed images are in. */
  io.zswapd.actors.codec.CodecKind poolCodec() {
    return compressor.kind();
  }

  /** True when the page has work in flight, so anything more about it must queue. */
  boolean isPending(int slot) {
    return !pending.isEmpty() && pending.containsKey(slot);
  }

  private void putPending(int slot, Pending p) {
    pending.put(slot, p);
  }

  private void removePending(int slot) {
    pending.remove(slot);
  }

  /** A new generation for an allocation or backing write of this shard; never reused. */
  long newGeneration() {
    return nextGeneration++;
  }

  /** Runs {@code op} now, or queues it behind the page's pending work. */
  void perPage(int slot, PageOp op) {
    Pending p = pending.isEmpty() ? null : pending.get(slot);
    if (p != null) {
      p.queued.add(op);
    } else {
      apply(slot, op);
    }
  }

  private void apply(int slot, PageOp op) {
    if (op instanceof StoreOp s) {
      store(slot, s, null);
    } else if (op instanceof LoadOp l) {
      loads.load(slot, l);
    } else if (op instanceof PatchOp p) {
      loads.patch(slot, p);
    } else {
      InvalidateJob job = ((InvalidateOp) op).job();
      freeFor(job, slot);
      invalidatePartDone(job);
    }
  }

  /** Applies the operations queued behind finished work until one of them is pending again. */
  private void drainQueue(int slot, Pending finished) {
    PageOp op;
    while ((op = finished.queued.poll()) != null) {
      apply(slot, op);
      Pending again = pending.get(slot);
      if (again != null) {
        again.queued.addAll(finished.queued);
        return;
      }
    }
  }

  // ---- patch (read-modify-write): the page waits for its current bytes -----------------------

  /** The patch waits for its page's current bytes (read by {@link ShardLoads}). */
  void patchWaits(int slot, PatchOp op) {
    Pending p = new Pending();
    p.patch = op;
    putPending(slot, p);
  }

  /** The patch waiting on page {@code slot}'s bytes, or null. */
  PatchOp waitingPatch(int slot) {
    Pending p = pending.get(slot);
    return p == null ? null : p.patch;
  }

  /** The page's current bytes arrived: the patch is applied, compressed once here, and stored. */
  void patchBaseArrived(int slot, byte[] page) {
    Pending p = pending.get(slot);
    PatchOp m = p.patch;
    System.arraycopy(m.bytes(), 0, page, m.offset(), m.bytes().length);
    store(slot, new StoreOp(m.pageIndex(), compressor.compress(page, 0), m.job()), p);
  }

  /** The page's current bytes could not be read: the patch is refused, the page unchanged. */
  void patchFailed(int slot, EngineError error) {
    Pending p = pending.get(slot);
    removePending(slot);
    p.patch.job().pageDone(p.patch.pageIndex(), error, outbox);
    drainQueue(slot, p);
  }

  // ---- store --------------------------------------------------------------------------------

  /**
   * Stores an image. A same-filled page is installed at once; a raw page goes straight to the
   * backing file when there is one (zram's huge writeback); anything else needs an allocation,
   * asked for in this turn's work of its size class. With a backing file, a store its first
   * place refuses goes to the other: a compressed page the full pool refuses to the file (as
   * zswap sends a page its pool rejects to the swap device), a raw page the file refuses to
   * the pool. {@code p} is non-null when a patch already made the page pending.
   */
  private void store(int slot, StoreOp s, Pending p) {
    if (entries == null) {
      entries = new long[PAGES];
      firstStore.run();
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
      s.job().pageDone(s.pageIndex(), null, outbox);
      if (p != null) {
        removePending(slot);
        drainQueue(slot, p);
      }
      return;
    }
    Pending pend = p != null ? p : new Pending();
    pend.store = s;
    pend.patch = null;
    pend.secondPlace = false;
    putPending(slot, pend);
    send(slot, pend, image instanceof PageImage.Raw && backing != null);
  }

  /**
   * Sends the pending store's image to the backing file or to its size class, under a new
   * generation (so the answer of an earlier place, if one comes late, is stale and undone).
   */
  private void send(int slot, Pending pend, boolean toFile) {
    pend.generation = newGeneration();
    pend.toBacking = toFile;
    PageImage image = pend.store.image();
    byte[] bytes = image instanceof PageImage.Compressed c ? c.bytes() : ((PageImage.Raw) image).bytes();
    if (toFile) {
      writeback.write(bytes, slot, pend.generation);
    } else {
      int classIndex = ClassGeometry.actorIndex(geometry.classFor(bytes.length).index(), lanes, slot % lanes);
      workFor(classIndex).alloc(bytes, slot, pend.generation);
    }
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

  /** An allocation answered: {@code handle} when {@code refusal} is null. */
  private void allocated(int slot, long generation, long handle, EngineError refusal) {
    if (recompress.allocated(slot, generation, handle, refusal)) {
      return;
    }
    Pending p = pending.get(slot);
    if (p == null || p.store == null || p.toBacking || p.generation != generation) {
      if (refusal == null) {
        freeHandle(handle); // stale: undo, never apply
      }
      return;
    }
    if (refusal != null && refusal.code() == ErrorCode.POOL_FULL && backing != null && !p.secondPlace) {
      p.secondPlace = true; // writeback could not make room in time: the file takes the page
      send(slot, p, true);
      return;
    }
    removePending(slot);
    StoreOp s = p.store;
    if (refusal == null) {
      int length = s.image().storedLength();
      replaceWith(slot, Entry.withReferenced(Entry.stored(handle, length, compressor.kind())));
      counters.addPooled(length, false);
      if (length == PageImage.PAGE_SIZE) {
        counters.rejectCompressPoor++;
      }
      counters.stores++;
      s.job().pageDone(s.pageIndex(), null, outbox);
    } else {
      counters.rejectAllocFail++;
      s.job().pageDone(s.pageIndex(), refusal, outbox);
    }
    drainQueue(slot, p);
  }

  /**
   * A backing write finished that may be the one a store waits for (a raw page sent straight to
   * the file, or a page the full pool refused): the page is installed there. If the file
   * refused or failed, a raw page goes to the pool instead, and a page the pool refused already
   * is refused. False when no store of the page waits for this write.
   */
  boolean storeWritten(int slot, WriteReply r) {
    Pending p = pending.get(slot);
    if (p == null || !p.toBacking || p.generation != r.generation()) {
      return false;
    }
    StoreOp s = p.store;
    if (!(r instanceof WriteReply.Written)) {
      writeback.countWriteProblem(r);
    }
    if (r instanceof WriteReply.Written w) {
      removePending(slot);
      int length = s.image().storedLength();
      replaceWith(slot, Entry.writtenBack(w.slotOffset(), length, compressor.kind()));
      counters.writtenBackPages++;
      counters.writebacks++;
      if (length == PageImage.PAGE_SIZE) {
        counters.rejectCompressPoor++;
      }
      counters.stores++;
      s.job().pageDone(s.pageIndex(), null, outbox);
      drainQueue(slot, p);
    } else if (!p.secondPlace) {
      p.secondPlace = true; // a raw page the file refused: the pool
      send(slot, p, false);
    } else {
      removePending(slot);
      counters.rejectAllocFail++;
      s.job().pageDone(s.pageIndex(), new EngineError(ErrorCode.POOL_FULL, "the pool is at its limit "
          + "(pool.max-size) and writeback made no room in time, and the backing file "
          + (r instanceof WriteReply.WriteRefused ? "is full" : "failed the write")), outbox);
      drainQueue(slot, p);
    }
    return true;
  }

  // ---- invalidate ---------------------------------------------------------------------------

  /**
   * Invalidates {@code count} pages from {@code first}: each freed now, or in its turn behind
   * its pending work; answered with the pages freed once all had their turn.
   */
  private void invalidate(int first, int count, ActorRef<InvalidateReply> replyTo, boolean drainWrites) {
    InvalidateJob job = new InvalidateJob(replyTo, drainWrites);
    int end = first + count;
    for (int slot = first; slot < end; slot++) {
      if (isPending(slot)) {
        job.outstanding++;
        perPage(slot, new InvalidateOp(job));
      } else {
        freeFor(job, slot);
      }
    }
    invalidatePartDone(job);
  }

  private void freeFor(InvalidateJob job, int slot) {
    if (free(slot)) {
      job.freed++;
      counters.invalidatedPages++;
    }
  }

  private void invalidatePartDone(InvalidateJob job) {
    if (--job.outstanding == 0) {
      if (job.drainWrites) {
        // now, or in the turn of the last write's answer: both end with the outbox's flush
        writeback.afterWritesInFlight(() -> outbox.add(job.replyTo, new InvalidateReply.Invalidated(job.freed)));
      } else {
        outbox.add(job.replyTo, new InvalidateReply.Invalidated(job.freed));
      }
    }
  }

  // ---- free ---------------------------------------------------------------------------------

  /** Frees whatever the entry holds and leaves it absent; true when it held a page. */
  boolean free(int slot) {
    if (entries == null) {
      return false;
    }
    long e = entries[slot];
    switch (Entry.state(e)) {
      case Entry.STORED, Entry.WRITING_BACK, Entry.RECOMPRESSING -> {
        if (Entry.state(e) == Entry.WRITING_BACK) {
          writeback.cancelVictim(slot);
        } else if (Entry.state(e) == Entry.RECOMPRESSING) {
          recompress.cancel(slot);
        }
        freeHandle(Entry.handle(e));
        counters.removePooled(Entry.length(e), isRecompressed(e));
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

  /** Frees a size-class object, in this turn's work of its class (after the turn's reads). */
  void freeHandle(long handle) {
    workFor(Handle.classIndex(handle)).free(Handle.slot(handle));
  }
}
