package io.zswapd.actors.pool;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.arena.PageArena;
import io.zswapd.actors.arena.PageRef;
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
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * One zsmalloc size class: the single owner of its zspages' bytes and its handle table.
 *
 * <p>State, all touched only by this actor:
 * <ul>
 *   <li>{@code locations[slot]}: the handle table, slot to (zspage id, object index);</li>
 *   <li>{@code zspages[id]}: the zspages, each in one fullness group: 0 empty, 1..10 the
 *       tenth of its objects in use (rounded up), 11 full;</li>
 *   <li>a reserve of up to one zspage's worth of arena pages, refilled in batches, so the
 *       allocation path rarely waits for the arena (zsmalloc's per-CPU page lists).</li>
 * </ul>
 *
 * <p>Allocation takes a slot in the fullest partly used zspage, so objects gather in few
 * zspages and the others empty out. Compaction moves objects from the emptiest zspages into
 * the fullest and gives the emptied zspages' pages back ({@code pages_compacted}); the handle
 * table is rewritten, the handles held by tree shards stay valid.
 *
 * <p>Every message about one handle comes from the one tree shard that owns the entry, so a
 * {@link Read} sent before a {@link Free} is always served first.
 */
public final class SizeClass extends AbstractBehavior<SizeClass.Command> {

  public sealed interface Command {}

  /** Store {@code data} as a new object; the reply goes to {@code replyTo} with tag and generation. */
  public record Alloc(byte[] data, int tag, long generation, ActorRef<AllocReply> replyTo) implements Command {}

  /** Decompress object {@code slot} ({@code length} stored bytes) and send the page to {@code replyTo}. */
  public record Read(int slot, int length, long pageIndex, ActorRef<LoadReply> replyTo) implements Command {}

  /**
   * Copy the stored (still compressed) bytes of object {@code slot} out, for writeback;
   * {@code tag} and {@code generation} are echoed in the reply.
   */
  public record ReadStored(int slot, int length, int tag, long generation, ActorRef<StoredBytes> replyTo)
      implements Command {}

  public record StoredBytes(int tag, long generation, byte[] bytes) {}

  public record Free(int slot) implements Command {}

  public record Compact(ActorRef<CompactionResult> replyTo) implements Command {}

  public record GetStats(ActorRef<SizeClassStats> replyTo) implements Command {}

  /** Give every page back and stop serving allocations: the engine is shutting down. */
  public record Drain(ActorRef<Drained> replyTo) implements Command {}

  /** Handles still live when the class drained (0 unless something leaked). */
  public record Drained(int classIndex, long handlesInUse) {}

  private record PagesGranted(PageArena.GrantReply reply) implements Command {}

  static final int GROUPS = 12;
  private static final int FULL = GROUPS - 1;

  public static Behavior<Command> create(ClassGeometry geometry, ActorRef<PageArena.Command> arena,
      CodecKind codec, OptionalInt level) {
    return Behaviors.setup(ctx -> new SizeClass(ctx, geometry, arena, codec, level));
  }

  private final ClassGeometry geometry;
  private final int size;
  private final int objs;
  private final int ppz;
  private final int objBits;
  private final int objMask;
  private final ActorRef<PageArena.Command> arena;
  private final ActorRef<PageArena.GrantReply> grantAdapter;
  private final CodecKind codecKind;
  private final OptionalInt codecLevel;
  private final byte[] scratch = new byte[PageRef.PAGE_SIZE];

  private int[] locations = new int[64];
  private int nextSlot;
  private final IntStack freeSlots = new IntStack();
  private ZsPage[] zspages = new ZsPage[16];
  private int nextZspageId;
  private final IntStack freeZspageIds = new IntStack();
  private final ZsPage[] groupHead = new ZsPage[GROUPS];
  private final long[] groupCount = new long[GROUPS];

  private final PageRef[] reserve;
  private int reserveCount;
  private boolean grantPending;
  private final ArrayDeque<Alloc> waiting = new ArrayDeque<>();
  private boolean drained;

  private long objsUsed;
  private long zspageCount;
  private long pagesCompacted;

  private SizeClass(ActorContext<Command> ctx, ClassGeometry geometry, ActorRef<PageArena.Command> arena,
      CodecKind codec, OptionalInt level) {
    super(ctx);
    this.geometry = geometry;
    this.size = geometry.size();
    this.objs = geometry.objsPerZspage();
    this.ppz = geometry.pagesPerZspage();
    this.objBits = geometry.objBits();
    this.objMask = (1 << objBits) - 1;
    this.arena = arena;
    this.grantAdapter = ctx.messageAdapter(PageArena.GrantReply.class, PagesGranted::new);
    this.codecKind = codec;
    this.codecLevel = level;
    this.reserve = new PageRef[2 * ppz];
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Alloc.class, this::onAlloc)
        .onMessage(Read.class, this::onRead)
        .onMessage(ReadStored.class, this::onReadStored)
        .onMessage(Free.class, this::onFree)
        .onMessage(PagesGranted.class, this::onPagesGranted)
        .onMessage(Compact.class, this::onCompact)
        .onMessage(GetStats.class, m -> {
          m.replyTo().tell(stats());
          return this;
        })
        .onMessage(Drain.class, this::onDrain)
        .build();
  }

  // ---- allocation -------------------------------------------------------------------------

  private Behavior<Command> onAlloc(Alloc a) {
    if (drained) {
      a.replyTo().tell(new AllocReply.AllocRefused(a.tag(), a.generation(),
          new EngineError(ErrorCode.SHUTTING_DOWN, "the pool is shutting down")));
      return this;
    }
    if (!waiting.isEmpty() || !tryAlloc(a)) {
      waiting.add(a);
      requestPages();
    }
    return this;
  }

  private boolean tryAlloc(Alloc a) {
    ZsPage z = fullestPartial(null);
    if (z == null) {
      if (reserveCount < ppz) {
        return false;
      }
      z = newZspage();
    }
    int slot = newSlot();
    int obj = z.take(slot);
    z.write(size, obj, a.data(), a.data().length);
    locations[slot] = (z.id << objBits) | obj;
    objsUsed++;
    regroup(z);
    a.replyTo().tell(new AllocReply.Allocated(a.tag(), a.generation(), Handle.of(geometry.index(), slot)));
    return true;
  }

  private void requestPages() {
    if (!grantPending) {
      grantPending = true;
      arena.tell(new PageArena.Grant(ppz - reserveCount, reserve.length - reserveCount, grantAdapter));
    }
  }

  private Behavior<Command> onPagesGranted(PagesGranted g) {
    grantPending = false;
    if (g.reply() instanceof PageArena.Granted granted) {
      PageRef[] pages = granted.pages();
      if (drained) {
        arena.tell(new PageArena.Return(pages, pages.length));
        return this;
      }
      // Frees may have refilled the reserve since the request; surplus pages go straight back.
      int keep = Math.min(pages.length, reserve.length - reserveCount);
      System.arraycopy(pages, 0, reserve, reserveCount, keep);
      reserveCount += keep;
      if (keep < pages.length) {
        arena.tell(new PageArena.Return(Arrays.copyOfRange(pages, keep, pages.length), pages.length - keep));
      }
      while (!waiting.isEmpty() && tryAlloc(waiting.peek())) {
        waiting.poll();
      }
      if (!waiting.isEmpty()) {
        requestPages();
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

  private ZsPage newZspage() {
    PageRef[] pages = new PageRef[ppz];
    for (int i = 0; i < ppz; i++) {
      pages[i] = reserve[--reserveCount];
      reserve[reserveCount] = null;
    }
    int id = freeZspageIds.isEmpty() ? nextZspageId++ : freeZspageIds.pop();
    if (id > (Integer.MAX_VALUE >>> objBits)) {
      throw new IllegalStateException("size class " + size + " ran out of zspage ids (" + id + ")");
    }
    if (id >= zspages.length) {
      zspages = Arrays.copyOf(zspages, zspages.length * 2);
    }
    ZsPage z = new ZsPage(id, pages, objs);
    zspages[id] = z;
    zspageCount++;
    return z;
  }

  private int newSlot() {
    if (!freeSlots.isEmpty()) {
      return freeSlots.pop();
    }
    if (nextSlot == locations.length) {
      locations = Arrays.copyOf(locations, locations.length * 2);
    }
    return nextSlot++;
  }

  // ---- read and free ----------------------------------------------------------------------

  private Behavior<Command> onRead(Read r) {
    int loc = locations[r.slot()];
    ZsPage z = zspages[loc >>> objBits];
    int obj = loc & objMask;
    byte[] page = new byte[PageRef.PAGE_SIZE];
    try {
      if (r.length() == PageRef.PAGE_SIZE) {
        z.read(size, obj, page, PageRef.PAGE_SIZE);
      } else {
        PageCodec codec = PageCodecs.forCurrentThread(codecKind, codecLevel);
        if (z.contiguous(size, obj, r.length())) {
          PageRef p = z.pageOf(size, obj);
          codec.decompress(p.memory(), p.offset() + z.offsetInPage(size, obj), r.length(), page, 0, page.length);
        } else {
          z.read(size, obj, scratch, r.length());
          codec.decompress(scratch, 0, r.length(), page, 0, page.length);
        }
      }
    } catch (CorruptPageException e) {
      r.replyTo().tell(new LoadReply.LoadFailed(r.pageIndex(),
          new EngineError(ErrorCode.CORRUPT, "page " + r.pageIndex() + ": " + e.getMessage())));
      return this;
    }
    r.replyTo().tell(new LoadReply.Loaded(r.pageIndex(), page));
    return this;
  }

  private Behavior<Command> onReadStored(ReadStored r) {
    int loc = locations[r.slot()];
    byte[] bytes = new byte[r.length()];
    zspages[loc >>> objBits].read(size, loc & objMask, bytes, r.length());
    r.replyTo().tell(new StoredBytes(r.tag(), r.generation(), bytes));
    return this;
  }

  private Behavior<Command> onFree(Free f) {
    int loc = locations[f.slot()];
    if (loc < 0) {
      throw new IllegalStateException("size class " + size + ": handle slot " + f.slot() + " freed twice");
    }
    locations[f.slot()] = -1;
    freeSlots.push(f.slot());
    ZsPage z = zspages[loc >>> objBits];
    z.release(loc & objMask);
    objsUsed--;
    if (z.inUse == 0) {
      freeZspage(z);
    } else {
      regroup(z);
    }
    return this;
  }

  private void freeZspage(ZsPage z) {
    unlink(z);
    zspages[z.id] = null;
    freeZspageIds.push(z.id);
    zspageCount--;
    PageRef[] back = null;
    int backCount = 0;
    for (PageRef p : z.pages) {
      if (reserveCount < ppz) {
        reserve[reserveCount++] = p;
      } else {
        if (back == null) {
          back = new PageRef[z.pages.length];
        }
        back[backCount++] = p;
      }
    }
    if (backCount > 0) {
      arena.tell(new PageArena.Return(back, backCount));
    }
  }

  // ---- fullness groups --------------------------------------------------------------------

  private int groupOf(ZsPage z) {
    if (z.inUse == 0) {
      return 0;
    }
    if (z.inUse == objs) {
      return FULL;
    }
    return 1 + (z.inUse * 10 - 1) / objs;
  }

  private void regroup(ZsPage z) {
    int g = groupOf(z);
    if (g != z.group) {
      unlink(z);
      z.group = g;
      z.next = groupHead[g];
      if (z.next != null) {
        z.next.prev = z;
      }
      groupHead[g] = z;
      groupCount[g]++;
    }
  }

  private void unlink(ZsPage z) {
    if (z.group < 0) {
      return;
    }
    if (z.prev != null) {
      z.prev.next = z.next;
    } else {
      groupHead[z.group] = z.next;
    }
    if (z.next != null) {
      z.next.prev = z.prev;
    }
    groupCount[z.group]--;
    z.prev = null;
    z.next = null;
    z.group = -1;
  }

  private ZsPage fullestPartial(ZsPage except) {
    for (int g = FULL - 1; g >= 1; g--) {
      for (ZsPage z = groupHead[g]; z != null; z = z.next) {
        if (z != except) {
          return z;
        }
      }
    }
    return null;
  }

  private ZsPage emptiestPartial() {
    for (int g = 1; g < FULL; g++) {
      if (groupHead[g] != null) {
        return groupHead[g];
      }
    }
    return null;
  }

  // ---- compaction -------------------------------------------------------------------------

  private Behavior<Command> onCompact(Compact c) {
    long freedPages = 0;
    long moved = 0;
    while (zspageCount * objs - objsUsed >= objs) { // a whole zspage's worth of free slots
      ZsPage src = emptiestPartial();
      ZsPage dst = src == null ? null : fullestPartial(src);
      if (dst == null) {
        break;
      }
      for (int i = objs - 1; i >= 0 && src.inUse > 0 && !dst.full(); i--) {
        int slot = src.slots[i];
        if (slot >= 0) {
          src.read(size, i, scratch, size);
          int obj = dst.take(slot);
          dst.write(size, obj, scratch, size);
          src.release(i);
          locations[slot] = (dst.id << objBits) | obj;
          moved++;
        }
      }
      regroup(dst);
      if (src.inUse == 0) {
        freeZspage(src);
        freedPages += ppz;
      } else {
        regroup(src);
      }
    }
    pagesCompacted += freedPages;
    freedPages += returnReserve();
    c.replyTo().tell(new CompactionResult(freedPages, moved));
    return this;
  }

  /** Gives the reserve back to the arena so idle classes hold no pages. */
  private int returnReserve() {
    int n = reserveCount;
    if (n > 0) {
      arena.tell(new PageArena.Return(Arrays.copyOf(reserve, n), n));
      Arrays.fill(reserve, null);
      reserveCount = 0;
    }
    return n;
  }

  // ---- stats and drain --------------------------------------------------------------------

  private SizeClassStats stats() {
    List<Long> groups = new ArrayList<>(GROUPS);
    for (long g : groupCount) {
      groups.add(g);
    }
    return new SizeClassStats(size, ppz, objs, zspageCount * objs, objsUsed, zspageCount,
        zspageCount * ppz, groups, pagesCompacted);
  }

  private Behavior<Command> onDrain(Drain d) {
    drained = true;
    for (Alloc a : waiting) {
      a.replyTo().tell(new AllocReply.AllocRefused(a.tag(), a.generation(),
          new EngineError(ErrorCode.SHUTTING_DOWN, "the pool is shutting down")));
    }
    waiting.clear();
    for (int id = 0; id < nextZspageId; id++) {
      ZsPage z = zspages[id];
      if (z != null) {
        unlink(z);
        zspages[id] = null;
        zspageCount--;
        arena.tell(new PageArena.Return(z.pages, z.pages.length));
      }
    }
    returnReserve();
    d.replyTo().tell(new Drained(geometry.index(), objsUsed));
    return this;
  }
}
