package io.zswapd.actors.pool;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.japi.function.Function;
import akka.japi.function.Procedure;
import io.zswapd.actors.arena.PageArena;
import io.zswapd.actors.arena.Chunk;
import io.zswapd.actors.arena.PageId;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.codec.CorruptPageException;
import io.zswapd.actors.codec.PageCodec;
import io.zswapd.actors.codec.PageCodecs;
import io.zswapd.protocol.engine.CompactionResult;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.SizeClassStats;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * One zsmalloc size class: the single owner of its zspages' bytes and its handle table.
 *
 * <p>State, all touched only by this actor, all in primitive arrays (no object per zspage,
 * page or stored object):
 * <pre>
 *  array             indexed by        holds
 *  locations         handle slot       (zspage id &lt;&lt; objBits) | object index, -1 = free slot,
 *                                      free slots reused first ({@link HandleTable})
 *  zspages           zspage id         pages, objects in use, free list, fullness group
 *                                      ({@link ZsPages}: the layout table is there)
 *  reserve                             page ids of up to two zspages' worth of arena pages
 *                                      ({@link ClassReserve})
 * </pre>
 * {@code locations} grows a block of 1024 at a time ({@link IntBlocks}). Fullness groups: 0
 * empty, 1..10 the tenth of a zspage's objects in use (rounded up), 11 full.
 *
 * <p>Heap at rest, per stored object: 4 bytes of {@code locations}, plus a zspage's 4 bytes,
 * 4 per page and 1.5 of group bitmaps, shared by its objects. There is no per-object back
 * pointer: not an {@code int[]} slot per object (4 bytes of heap each, 4.7 bytes per stored
 * page with growth slack in the 1 GiB benchmark), and not zsmalloc's handle word at the start
 * of each object, which would cost 4 bytes off-heap and push about a quarter of the objects
 * into the next class (mem_used_total / compr_data_size 1.0443 to 1.0459 in that run).
 * Compaction, the only operation that needs to know which handle owns an object, inverts the
 * handle table when it runs ({@link ClassCompaction}). A free object holds its zspage's
 * free-list link in its own first bytes, as in zsmalloc.
 *
 * <p>Allocation takes a slot in the fullest partly used zspage, so objects gather in few
 * zspages and the others empty out. Compaction moves objects from the emptiest zspages into
 * the fullest and gives the emptied zspages' pages back ({@code pages_compacted}); the handle
 * table is rewritten, the handles held by tree shards stay valid ({@link ClassCompaction}).
 *
 * <p>Every message about one handle comes from the one tree shard that owns the entry, so a
 * {@link Read} or a read in a {@link Work} sent before the free of its handle is always served first.
 *
 * <p><b>Page migration</b> (zsmalloc's isolate / migrate / putback, driven by the
 * {@code MigrationWorker}) moves a zspage's pages out of chunks the arena wants to release:
 * {@link Isolate}, {@link Migrate}, {@link Putback}, {@link PutbackAll} and
 * {@link StopMigrations}, handled by {@link ClassMigration}, which tells how they meet frees
 * and {@link Drain}.
 */
public final class SizeClass extends AbstractBehavior<SizeClass.Command> {

  public sealed interface Command {}

  /** Store {@code data} as a new object; the reply goes to {@code replyTo} with tag and generation. */
  public record Alloc(byte[] data, int tag, long generation, ActorRef<AllocReply> replyTo) implements Command {}

  /**
   * Decompress object {@code slot} ({@code length} stored bytes written by {@code codec}) here
   * and send the page to {@code replyTo}, after every message this class received before (a
   * patch's base: the tree shard waits for it). Loads for callers go in a {@link Work} instead.
   */
  public record Read(int slot, int length, CodecKind codec, long pageIndex, ActorRef<LoadReply> replyTo)
      implements Command {}

  /**
   * A tree shard's work for this class from one of its turns ({@link ClassWork}): reads of
   * single pages (copied out here, decompressed and answered by one task for all of them),
   * then frees, then allocations (those made at once answered together in one
   * {@link AllocatedMany}; any that must wait for pages, or are refused, one by one as an
   * {@link AllocReply}).
   */
  public record Work(ClassWork work) implements Command {
    /** Work of one free: what a shard's turn that only frees {@code slot} sends. */
    public static Work free(int slot) {
      ClassWork w = new ClassWork(null, null);
      w.free(slot);
      return new Work(w);
    }
  }

  /**
   * Copy the stored (still compressed) bytes of object {@code slot} out, for writeback;
   * {@code tag} and {@code generation} are echoed in the reply.
   */
  public record ReadStored(int slot, int length, int tag, long generation, ActorRef<StoredBytes> replyTo)
      implements Command {}

  public record StoredBytes(int tag, long generation, byte[] bytes) {}

  /** The objects of a {@link Work} allocated at once: {@code handles[i]} for {@code tags[i]}. */
  public record AllocatedMany(int[] tags, long[] generations, long[] handles, int count) {}

  /**
   * Copy out the stored bytes of {@code count} objects, end to end, in one message (a tree
   * shard's share of a range load, or of a recompression). The caller decompresses them, each
   * with its codec ({@code codecs[i]}, a {@link CodecKind} ordinal, echoed): the class only
   * copies, so a hot class is not the one core every load of a range waits for.
   */
  public record ReadMany(int[] slots, int[] lengths, byte[] codecs, int[] positions, int count, long job,
      ActorRef<ObjectsRead> replyTo) implements Command {}

  /** Answer to {@link ReadMany}: the objects' bytes in order; the arrays are the request's. */
  public record ObjectsRead(long job, int[] lengths, byte[] codecs, int[] positions, int count, byte[] bytes) {}

  public record Compact(ActorRef<CompactionResult> replyTo) implements Command {}

  public record GetStats(ActorRef<SizeClassStats> replyTo) implements Command {}

  /** Give every page back and stop serving allocations: the engine is shutting down. */
  public record Drain(ActorRef<Drained> replyTo) implements Command {}

  /** Handles still live when the class drained (0 unless something leaked). */
  public record Drained(int classIndex, long handlesInUse) {}

  private record PagesGranted(PageArena.GrantReply reply) implements Command {}

  /** Isolate every zspage with a page in one of {@code chunkIds} (ascending) for migration. */
  public record Isolate(int[] chunkIds, ActorRef<Isolated> replyTo) implements Command {}

  /** One isolated zspage and the ids of its pages that lie in the evacuating chunks. */
  public record IsolatedZspage(int classIndex, int zspage, int[] pages) {}

  public record Isolated(int classIndex, List<IsolatedZspage> zspages) {}

  /**
   * Move pages {@code oldPages} of isolated zspage {@code zspage} to {@code newPages} (same
   * length, granted for migration, lying in {@code chunks}); ownership of the new pages passes
   * to the class with this message, so a refusal returns them.
   */
  public record Migrate(int zspage, int[] oldPages, int[] newPages, Chunk[] chunks, ActorRef<Migrated> replyTo)
      implements Command {}

  /**
   * The outcome of one Migrate: {@code pagesMoved} copied; {@code emptied} when every object
   * was freed meanwhile and the zspage was released instead; {@code refused} when the class
   * was closed to migration (the new pages went back to the arena).
   */
  public record Migrated(int classIndex, int zspage, int pagesMoved, boolean emptied, boolean refused) {}

  /** Give isolated zspage {@code zspage} back to its fullness group without migrating it. */
  public record Putback(int zspage) implements Command {}

  /** Give every isolated zspage back (the worker lost track of an isolation: its answer timed out). */
  public record PutbackAll() implements Command {}

  /** Close the class to migration (engine shutdown): put back what is isolated, refuse the rest. */
  public record StopMigrations() implements Command {}

  static final int GROUPS = ZsPages.GROUPS;
  private static final int NONE = ZsPages.NONE;

  public static Behavior<Command> create(ClassGeometry geometry, ActorRef<PageArena.Command> arena,
      int chunkBytes) {
    return Behaviors.setup(ctx -> new SizeClass(ctx, geometry, arena, chunkBytes));
  }

  private final ClassGeometry geometry;
  private final int size;
  private final int objs;
  private final int ppz;
  private final int objBits;
  private final int objMask;
  private final ActorRef<PageArena.Command> arena;
  private final byte[] scratch = new byte[PageId.PAGE_SIZE];
  private final Executor dispatcher;

  private final HandleTable locations = new HandleTable();
  private final ZsPages zspages;
  private final ClassReserve reserve;
  private final ClassCompaction compaction;
  private final ClassMigration migration;

  private final ArrayDeque<Alloc> waiting = new ArrayDeque<>();
  private boolean drained;

  private long objsUsed;

  private SizeClass(ActorContext<Command> ctx, ClassGeometry geometry, ActorRef<PageArena.Command> arena,
      int chunkBytes) {
    super(ctx);
    this.geometry = geometry;
    this.size = geometry.size();
    this.objs = geometry.objsPerZspage();
    this.ppz = geometry.pagesPerZspage();
    this.objBits = geometry.objBits();
    this.objMask = (1 << objBits) - 1;
    this.arena = arena;
    this.dispatcher = ctx.getExecutionContext();
    // A location packs the zspage id above objBits bits of object index into a non-negative int.
    int maxZspages = (int) Math.min(Integer.MAX_VALUE, (Integer.MAX_VALUE >>> objBits) + 1L);
    this.zspages = new ZsPages(size, objs, ppz, chunkBytes / PageId.PAGE_SIZE, maxZspages);
    this.reserve = new ClassReserve(zspages, ppz, arena,
        ctx.messageAdapter(PageArena.GrantReply.class, PagesGranted::new));
    this.compaction = new ClassCompaction(geometry, zspages, locations, reserve, scratch);
    this.migration = new ClassMigration(geometry, zspages, reserve, arena, () -> drained);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Alloc.class, this::onAlloc)
        .onMessage(Work.class, this::onWork)
        .onMessage(Read.class, this::onRead)
        .onMessage(ReadMany.class, this::onReadMany)
        .onMessage(ReadStored.class, this::onReadStored)
        .onMessage(PagesGranted.class, this::onPagesGranted)
        .onMessage(Compact.class, staying(c -> compaction.compact(c, objsUsed)))
        .onMessage(GetStats.class, staying(m -> m.replyTo().tell(stats())))
        .onMessage(Drain.class, this::onDrain)
        .onMessage(Isolate.class, staying(migration::isolate))
        .onMessage(Migrate.class, staying(migration::migrate))
        .onMessage(Putback.class, staying(m -> migration.putBack(m.zspage())))
        .onMessage(PutbackAll.class, staying(m -> migration.putBackAll()))
        .onMessage(StopMigrations.class, staying(m -> {
          migration.close();
          migration.putBackAll();
        }))
        .build();
  }

  /** A handler that runs {@code action} and keeps this behavior. */
  private <M extends Command> Function<M, Behavior<Command>> staying(Procedure<M> action) {
    return m -> {
      action.apply(m);
      return this;
    };
  }

  // ---- allocation -------------------------------------------------------------------------

  private Behavior<Command> onAlloc(Alloc a) {
    if (drained || !waiting.isEmpty() || !tryAlloc(a)) {
      waitOrRefuse(a);
    }
    return this;
  }

  /** An allocation that could not be made now: refused while draining, else queued for pages. */
  private void waitOrRefuse(Alloc a) {
    if (drained) {
      refuseShuttingDown(a);
    } else {
      waiting.add(a);
      reserve.request();
    }
  }

  private Behavior<Command> onWork(Work m) {
    ClassWork w = m.work();
    if (w.reads > 0) {
      readForTask(w);
    }
    for (int i = 0; i < w.frees; i++) {
      free(w.freeSlots[i]);
    }
    if (w.allocs > 0) {
      allocAll(w);
    }
    return this;
  }

  private void allocAll(ClassWork w) {
    int[] tags = new int[w.allocs];
    long[] generations = new long[w.allocs];
    long[] handles = new long[w.allocs];
    int done = 0;
    for (int i = 0; i < w.allocs; i++) {
      int slot = drained || !waiting.isEmpty() ? -1 : allocSlot(w.allocData[i]);
      if (slot >= 0) {
        tags[done] = w.allocTags[i];
        generations[done] = w.allocGenerations[i];
        handles[done] = Handle.of(geometry.index(), slot);
        done++;
      } else {
        waitOrRefuse(new Alloc(w.allocData[i], w.allocTags[i], w.allocGenerations[i], w.allocReplyTo));
      }
    }
    if (done > 0) {
      w.allocatedTo.tell(new AllocatedMany(tags, generations, handles, done));
    }
  }

  private boolean tryAlloc(Alloc a) {
    int slot = allocSlot(a.data());
    if (slot < 0) {
      return false;
    }
    a.replyTo().tell(new AllocReply.Allocated(a.tag(), a.generation(), Handle.of(geometry.index(), slot)));
    return true;
  }

  /** Stores {@code data} in a new object; its handle slot, or -1 when a zspage needs pages first. */
  private int allocSlot(byte[] data) {
    int z = zspages.fullestPartial(NONE);
    if (z == NONE) {
      z = reserve.createZspage();
      if (z == NONE) {
        return -1;
      }
    }
    int slot = locations.newSlot();
    int obj = zspages.take(z);
    zspages.write(z, obj, data, data.length);
    locations.set(slot, (z << objBits) | obj);
    objsUsed++;
    zspages.regroup(z);
    return slot;
  }

  private Behavior<Command> onPagesGranted(PagesGranted g) {
    reserve.answered();
    if (g.reply() instanceof PageArena.Granted granted) {
      int[] pages = granted.pageIds();
      if (drained) {
        arena.tell(new PageArena.Return(pages, pages.length));
        return this;
      }
      zspages.addChunks(granted.chunks());
      reserve.add(pages);
      while (!waiting.isEmpty() && tryAlloc(waiting.peek())) {
        waiting.poll();
      }
      if (!waiting.isEmpty()) {
        reserve.request();
      }
    } else {
      PageArena.GrantRefused refused = (PageArena.GrantRefused) g.reply();
      EngineError error = new EngineError(ErrorCode.POOL_FULL, "pool limit reached: "
          + refused.usedBytes() + " of " + refused.limitBytes() + " bytes (pool.max-size) in use");
      for (Alloc a : waiting) {
        a.replyTo().tell(new AllocReply.AllocRefused(a.tag(), a.generation(), error));
      }
      waiting.clear();
    }
    return this;
  }

  // ---- read and free ----------------------------------------------------------------------

  private Behavior<Command> onRead(Read r) {
    int loc = locations.get(r.slot());
    int z = loc >>> objBits;
    int obj = loc & objMask;
    if (r.length() == PageId.PAGE_SIZE) {
      byte[] stored = new byte[r.length()]; // a huge object is the page itself
      zspages.read(z, obj, stored, r.length());
      r.replyTo().tell(new LoadReply.Loaded(r.pageIndex(), stored));
      return this;
    }
    PageCodec codec = PageCodecs.decoder(r.codec());
    byte[] page = new byte[PageId.PAGE_SIZE];
    try {
      if (zspages.contiguous(obj, r.length())) {
        int pageId = zspages.pageOf(z, obj);
        Chunk c = zspages.chunkOf(pageId);
        codec.decompress(c.memory(), c.byteOffset(pageId) + zspages.offsetInPage(obj), r.length(),
            page, 0, page.length);
      } else {
        zspages.read(z, obj, scratch, r.length());
        codec.decompress(scratch, 0, r.length(), page, 0, page.length);
      }
    } catch (CorruptPageException e) {
      r.replyTo().tell(corrupt(r.pageIndex(), e));
      return this;
    }
    r.replyTo().tell(new LoadReply.Loaded(r.pageIndex(), page));
    return this;
  }

  /**
   * The reads of a {@link Work}: every object is copied out here, end to end, while this actor
   * owns the memory; one task on the dispatcher then decompresses them all and answers each
   * load, so the loads of a class spread over the cores instead of queueing behind this actor,
   * and a batch costs one task, not one per page.
   */
  private void readForTask(ClassWork w) {
    int total = 0;
    for (int i = 0; i < w.reads; i++) {
      total += w.readLengths[i];
    }
    byte[] bytes = new byte[total];
    int at = 0;
    for (int i = 0; i < w.reads; i++) {
      int loc = locations.get(w.readSlots[i]);
      zspages.read(loc >>> objBits, loc & objMask, bytes, at, w.readLengths[i]);
      at += w.readLengths[i];
    }
    dispatcher.execute(() -> answerReads(w, bytes));
  }

  @SuppressWarnings("unchecked")
  private static void answerReads(ClassWork w, byte[] bytes) {
    int at = 0;
    for (int i = 0; i < w.reads; i++) {
      int length = w.readLengths[i];
      long pageIndex = w.readPages[i];
      byte[] page = new byte[PageId.PAGE_SIZE];
      LoadReply reply;
      if (length == PageId.PAGE_SIZE) {
        System.arraycopy(bytes, at, page, 0, length);
        reply = new LoadReply.Loaded(pageIndex, page);
      } else {
        try {
          PageCodecs.decompress(w.readCodec(i), bytes, at, length, page, 0, page.length);
          reply = new LoadReply.Loaded(pageIndex, page);
        } catch (CorruptPageException e) {
          reply = corrupt(pageIndex, e);
        }
      }
      ((ActorRef<LoadReply>) w.readReplyTo[i]).tell(reply);
      at += length;
    }
  }

  private static LoadReply corrupt(long pageIndex, CorruptPageException e) {
    return new LoadReply.LoadFailed(pageIndex,
        new EngineError(ErrorCode.CORRUPT, "page " + pageIndex + ": " + e.getMessage()));
  }

  private Behavior<Command> onReadMany(ReadMany r) {
    int total = 0;
    for (int i = 0; i < r.count(); i++) {
      total += r.lengths()[i];
    }
    byte[] bytes = new byte[total];
    int at = 0;
    for (int i = 0; i < r.count(); i++) {
      int loc = locations.get(r.slots()[i]);
      zspages.read(loc >>> objBits, loc & objMask, bytes, at, r.lengths()[i]);
      at += r.lengths()[i];
    }
    r.replyTo().tell(new ObjectsRead(r.job(), r.lengths(), r.codecs(), r.positions(), r.count(), bytes));
    return this;
  }

  private Behavior<Command> onReadStored(ReadStored r) {
    int loc = locations.get(r.slot());
    byte[] bytes = new byte[r.length()];
    zspages.read(loc >>> objBits, loc & objMask, bytes, r.length());
    r.replyTo().tell(new StoredBytes(r.tag(), r.generation(), bytes));
    return this;
  }

  private void free(int handleSlot) {
    int loc = locations.get(handleSlot);
    if (loc < 0) {
      throw new IllegalStateException("size class " + size + ": handle slot " + handleSlot + " freed twice");
    }
    locations.free(handleSlot);
    int z = loc >>> objBits;
    zspages.release(z, loc & objMask);
    objsUsed--;
    if (zspages.inUse(z) == 0 && !zspages.isolated(z)) {
      reserve.freeZspage(z);
    } else {
      zspages.regroup(z); // an isolated zspage, even emptied, waits for its Migrate or Putback
    }
  }

  // ---- stats and drain --------------------------------------------------------------------

  private SizeClassStats stats() {
    List<Long> groups = new ArrayList<>(GROUPS);
    for (int g = 0; g < GROUPS; g++) {
      groups.add(zspages.groupCount(g));
    }
    long count = zspages.count();
    return new SizeClassStats(size, ppz, objs, count * objs, objsUsed, count, count * ppz, groups,
        compaction.pagesCompacted(), migration.pagesMigrated(), zspages.isolatedCount(), zspages.listedCount());
  }

  private static void refuseShuttingDown(Alloc a) {
    a.replyTo().tell(new AllocReply.AllocRefused(a.tag(), a.generation(),
        new EngineError(ErrorCode.SHUTTING_DOWN, "the pool is shutting down")));
  }

  private Behavior<Command> onDrain(Drain d) {
    drained = true;
    migration.close(); // isolated zspages are freed below like the rest; later Migrates refused
    waiting.forEach(SizeClass::refuseShuttingDown);
    waiting.clear();
    reserve.freeAll();
    d.replyTo().tell(new Drained(geometry.index(), objsUsed));
    return this;
  }
}
