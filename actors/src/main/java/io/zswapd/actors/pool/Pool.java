package io.zswapd.actors.pool;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.ChildFailed;
import akka.actor.typed.Terminated;
import io.zswapd.actors.support.EngineActorFailure;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.support.EngineDispatcher;
import io.zswapd.actors.arena.ArenaStats;
import io.zswapd.actors.arena.ChunkMemory;
import io.zswapd.actors.arena.PageArena;
import io.zswapd.actors.arena.PageId;
import io.zswapd.actors.support.Gather;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.protocol.engine.CompactionResult;
import io.zswapd.protocol.engine.PoolStats;
import io.zswapd.protocol.engine.SizeClassStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The zsmalloc-style pool shared by every export: the {@link PageArena} and one
 * {@link SizeClass} per merged class of the {@link PoolGeometry}. The pool itself owns no page
 * data; it creates its children, tells the engine their refs ({@link Ready}) and fans
 * pool-wide requests (stats, compaction, drain) out to them.
 */
public final class Pool extends AbstractBehavior<Pool.Command> {
  /** For callbacks that run in gatherer actors, outside this actor's context. */
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Pool.class);


  public sealed interface Command {}

  public record GetStats(ActorRef<PoolReport> replyTo) implements Command {}

  public record Compact(ActorRef<CompactionResult> replyTo) implements Command {}

  /** Shutdown: every class gives its pages back; then the arena's final figures are reported. */
  public record Drain(ActorRef<DrainReport> replyTo) implements Command {}

  /** A new limit for the arena; {@code applied} (or null) is told once it is in force there. */
  public record SetLimit(long limitBytes, long acceptBelowBytes, ActorRef<akka.Done> applied) implements Command {}

  public record ResetMax() implements Command {}

  /**
   * The refs tree shards use to reach the size classes, indexed by class index: {@link #lanes}
   * actors per class of the geometry, lane {@code l} of geometry class {@code c} at
   * {@link ClassGeometry#actorIndex}.
   */
  public record Ready(List<ActorRef<SizeClass.Command>> classes, ActorRef<PageArena.Command> arena) {}

  public record PoolReport(PoolStats pool, List<SizeClassStats> classes) {}

  public record DrainReport(long handlesInUse, ArenaStats arena) {}

  private record DrainedAll(long handlesInUse, ActorRef<DrainReport> replyTo) implements Command {}

  private static final Duration FAN_OUT_TIMEOUT = Duration.ofSeconds(30);

  /**
   * @param chunkMemory   where the arena's chunks come from (checked: released chunks are left to the GC)
   * @param spawnHook     applied to the arena and every size class ({@link SpawnHook#NONE} but in tests)
   */
  public static Behavior<Command> create(PoolGeometry geometry, int chunkBytes, long limitBytes,
      long acceptBelowBytes, ChunkMemory chunkMemory, ActorRef<Ready> readyTo,
      SpawnHook spawnHook) {
    return Behaviors.setup(ctx -> {
      ActorRef<PageArena.Command> arena = ctx.spawn(spawnHook.wrap(EngineActor.of(EngineActor.Role.ARENA),
          PageArena.create(chunkBytes, limitBytes, acceptBelowBytes, chunkMemory)), "arena", EngineDispatcher.SAME);
      List<ActorRef<SizeClass.Command>> classes = new ArrayList<>();
      int lanes = lanes(geometry);
      for (ClassGeometry g : geometry.classes()) {
        for (int lane = 0; lane < lanes; lane++) {
          classes.add(ctx.spawn(spawnHook.wrap(EngineActor.sizeClass(classes.size()),
              SizeClass.create(g.lane(lanes, lane), arena, chunkBytes)),
              "class-" + g.size() + "-" + lane, EngineDispatcher.SAME));
        }
      }
      readyTo.tell(new Ready(List.copyOf(classes), arena));
      return new Pool(ctx, arena, classes);
    });
  }

  /**
   * How many actors serve each size class: one per core, as many as the handle's class bits
   * allow ({@link Handle#CLASS_ACTORS}: 48 lanes of the 85 classes of 4-page zspages). A
   * class's actor allocates, copies every object it is read for out of memory, and frees, on
   * its own thread; with one lane per core, the pages of one class (an application's data
   * often compresses to a few sizes) are allocated and read on every core instead of
   * queueing behind one actor. A page's lane is its slot in its tree shard modulo the lanes.
   * The price is one partly used zspage per lane and class while pages only arrive.
   */
  public static int lanes(PoolGeometry geometry) {
    int cores = Runtime.getRuntime().availableProcessors();
    return Math.max(1, Math.min(cores, Handle.CLASS_ACTORS / geometry.classes().size()));
  }

  private final ActorRef<PageArena.Command> arena;
  private final List<ActorRef<SizeClass.Command>> classes;

  private Pool(ActorContext<Command> ctx, ActorRef<PageArena.Command> arena, List<ActorRef<SizeClass.Command>> classes) {
    super(ctx);
    this.arena = arena;
    this.classes = classes;
    ctx.watch(arena);
    classes.forEach(ctx::watch);
  }

  /** A size class or the arena failed: every compressed page may be lost; the engine stops. */
  private Behavior<Command> childStopped(Terminated t) {
    if (t instanceof ChildFailed failed) {
      String child = t.getRef().path().name();
      throw new EngineActorFailure((child.equals("arena") ? "the page arena" : "size class actor " + child)
          + " (the compressed pages in the pool are lost)", failed.getCause());
    }
    return this;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onSignal(Terminated.class, this::childStopped)
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(Compact.class, this::onCompact)
        .onMessage(Drain.class, this::onDrain)
        .onMessage(DrainedAll.class, this::onDrainedAll)
        .onMessage(SetLimit.class, m -> {
          arena.tell(new PageArena.SetLimit(m.limitBytes(), m.acceptBelowBytes(), m.applied()));
          return this;
        })
        .onMessage(ResetMax.class, m -> {
          arena.tell(new PageArena.ResetMax());
          return this;
        })
        .build();
  }

  /** Accumulates the arena's figures and every class's, in any order. */
  private record StatsAcc(ArenaStats arena, List<SizeClassStats> classes) {
    StatsAcc add(Object reply) {
      if (reply instanceof ArenaStats a) {
        return new StatsAcc(a, classes);
      }
      List<SizeClassStats> more = new ArrayList<>(classes);
      more.add((SizeClassStats) reply);
      return new StatsAcc(arena, more);
    }
  }

  private Behavior<Command> onGetStats(GetStats m) {
    ActorRef<Object> gather = Gather.spawn(getContext(), classes.size() + 1,
        new StatsAcc(null, List.of()), StatsAcc::add,
        acc -> m.replyTo().tell(report(acc)), FAN_OUT_TIMEOUT,
        acc -> LOG.warn("pool stats timed out; {} of {} classes answered",
            acc.classes().size(), classes.size()));
    arena.tell(new PageArena.GetStats(gather.narrow()));
    for (ActorRef<SizeClass.Command> c : classes) {
      c.tell(new SizeClass.GetStats(gather.narrow()));
    }
    return this;
  }

  private static PoolReport report(StatsAcc acc) {
    List<SizeClassStats> sorted = new ArrayList<>(acc.classes());
    sorted.sort((a, b) -> Integer.compare(a.size(), b.size()));
    sorted = mergeLanes(sorted);
    long compacted = 0;
    long handles = 0;
    long migrated = 0;
    long isolated = 0;
    for (SizeClassStats s : sorted) {
      compacted += s.pagesCompacted();
      handles += s.objsUsed();
      migrated += s.pagesMigrated();
      isolated += s.zspagesIsolated();
    }
    ArenaStats a = acc.arena();
    PoolStats pool = new PoolStats(a.pagesInUse() * PageId.PAGE_SIZE, a.limitBytes(),
        a.maxPagesInUse() * PageId.PAGE_SIZE, compacted, a.poolLimitHit(), a.pagesInUse(), a.chunksHeld(),
        a.bytesHeld(), a.chunksReleased(), handles, a.rejectReclaimFail(), migrated, isolated, a.chunksAllocated(),
        a.bytesResident(), a.pagesDiscarded(), a.memoryKind(), a.acceptBelowBytes());
    return new PoolReport(pool, sorted);
  }

  /** One figure per class size: the lanes of a class summed (the list is sorted by size). */
  private static List<SizeClassStats> mergeLanes(List<SizeClassStats> sorted) {
    List<SizeClassStats> out = new ArrayList<>();
    for (SizeClassStats s : sorted) {
      SizeClassStats last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && last.size() == s.size()) {
        out.set(out.size() - 1, sum(last, s));
      } else {
        out.add(s);
      }
    }
    return out;
  }

  private static SizeClassStats sum(SizeClassStats a, SizeClassStats b) {
    List<Long> groups = new ArrayList<>(a.zspagesByFullness().size());
    for (int g = 0; g < a.zspagesByFullness().size(); g++) {
      groups.add(a.zspagesByFullness().get(g) + b.zspagesByFullness().get(g));
    }
    return new SizeClassStats(a.size(), a.pagesPerZspage(), a.objsPerZspage(), a.objsAllocated() + b.objsAllocated(),
        a.objsUsed() + b.objsUsed(), a.zspages() + b.zspages(), a.pagesUsed() + b.pagesUsed(), groups,
        a.pagesCompacted() + b.pagesCompacted(), a.pagesMigrated() + b.pagesMigrated(),
        a.zspagesIsolated() + b.zspagesIsolated(), a.zspagesListed() + b.zspagesListed());
  }

  private Behavior<Command> onCompact(Compact m) {
    ActorRef<CompactionResult> gather = Gather.spawn(getContext(), classes.size(), new CompactionResult(0, 0),
        (acc, r) -> new CompactionResult(acc.pagesFreed() + r.pagesFreed(), acc.objectsMoved() + r.objectsMoved()),
        acc -> m.replyTo().tell(acc), FAN_OUT_TIMEOUT, acc -> m.replyTo().tell(acc));
    for (ActorRef<SizeClass.Command> c : classes) {
      c.tell(new SizeClass.Compact(gather));
    }
    return this;
  }

  private Behavior<Command> onDrain(Drain m) {
    ActorRef<Command> self = getContext().getSelf();
    ActorRef<SizeClass.Drained> gather = Gather.spawn(getContext(), classes.size(), 0L,
        (acc, d) -> acc + d.handlesInUse(),
        acc -> self.tell(new DrainedAll(acc, m.replyTo())), FAN_OUT_TIMEOUT,
        acc -> self.tell(new DrainedAll(acc, m.replyTo())));
    for (ActorRef<SizeClass.Command> c : classes) {
      c.tell(new SizeClass.Drain(gather));
    }
    return this;
  }

  private Behavior<Command> onDrainedAll(DrainedAll m) {
    // Every class sent its pages back to the arena before answering, so the arena has them
    // queued ahead of this request (local mailboxes are FIFO from enqueue).
    ActorRef<DrainReport> replyTo = m.replyTo();
    long handles = m.handlesInUse();
    ActorRef<ArenaStats> once = Gather.spawn(getContext(), 1, (ArenaStats) null, (acc, a) -> a,
        a -> replyTo.tell(new DrainReport(handles, a)), FAN_OUT_TIMEOUT,
        a -> LOG.error("arena did not answer the drain in {}", FAN_OUT_TIMEOUT));
    arena.tell(new PageArena.GetStats(once));
    return this;
  }
}
