package io.zswapd.actors.migration;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import io.zswapd.actors.arena.ArenaStats;
import io.zswapd.actors.arena.PageArena;
import io.zswapd.actors.pool.Pool;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.Gather;
import io.zswapd.config.MigrationSettings;
import io.zswapd.protocol.engine.CompactionResult;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.MigrationResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Gives memory back: compaction when the pool is fragmented, then page migration so that
 * sparse chunks empty out and the arena releases them to the OS (zram's {@code compact} plus
 * the kernel's compaction of zsmalloc pages). It owns no page data; it only sends messages to
 * the owners.
 *
 * <p>One pass, never two at once:
 * <pre>
 *  1. stats        engine stats (mem_used_total, compr_data_size, chunks held)
 *  2. compact      Pool.Compact when mem_used_total > fragmentation-threshold x compr_data_size
 *                  (always on demand)
 *  3. plan         PageArena.PlanEvacuation: the sparsest chunks (min-chunk-free) whose pages in
 *                  use fit in the other chunks, about max-pages-per-pass pages; marked so no
 *                  grant takes from them
 *  4. isolate      SizeClass.Isolate to every class: zspages with a page there leave their
 *                  fullness lists; each class answers which pages must move
 *  5. grant        PageArena.GrantForMigration: destination pages in the other chunks
 *  6. migrate      one SizeClass.Migrate per zspage (or Putback when pages ran short); each
 *                  class copies, updates its page table, returns the old pages; the arena
 *                  releases a chunk when its last page comes back
 *  7. end          PageArena.EndEvacuation; back to 3 while a round moved something
 * </pre>
 *
 * <p>Destroy: {@link Stop} closes every size class to migration ({@code StopMigrations}: isolated
 * zspages go back, later Migrates are refused and their pages returned untouched), lets the
 * pass in flight run out on those refusals, and answers only when no migration message is left
 * anywhere; the guardian drains the pool after that. {@link AwaitIdle} answers when no pass is
 * in flight (export removal and reset wait for it, so their pages are released when they
 * answer).
 */
public final class MigrationWorker extends AbstractBehavior<MigrationWorker.Command> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MigrationWorker.class);

  public sealed interface Command {}

  /** Compact and migrate now, until no chunk is worth emptying. */
  public record MigrateNow(ActorRef<MigrationResult> replyTo) implements Command {}

  /** Answered when no pass is in flight. */
  public record AwaitIdle(ActorRef<Idle> replyTo) implements Command {}

  public record Idle(long pagesMigrated) {}

  /** Destroy: close the size classes to migration, finish or refuse what is queued, then answer. */
  public record Stop(ActorRef<Stopped> replyTo) implements Command {}

  public record Stopped(long pagesMigrated, long migrationsRefused) {}

  private record Tick() implements Command {}

  private record StatsTimeout() implements Command {}

  private record StatsArrived(EngineStats stats) implements Command {}

  private record Compacted(CompactionResult result) implements Command {}

  private record PlanArrived(PageArena.EvacuationPlan plan) implements Command {}

  private record IsolatedAll(List<SizeClass.IsolatedZspage> zspages, boolean complete) implements Command {}

  private record PagesGranted(PageArena.GrantReply reply) implements Command {}

  private record MigrateDone(SizeClass.Migrated migrated) implements Command {}

  private record ArenaFigures(ArenaStats stats) implements Command {}

  private enum Phase { IDLE, STATS, COMPACT, PLAN, ISOLATE, GRANT, MIGRATE, FINAL }

  private static final Duration FAN_OUT_TIMEOUT = Duration.ofSeconds(30);
  /** Rounds (plan .. end) one pass runs at most; the next tick goes on from there. */
  static final int MAX_ROUNDS = 512;
  private static final Object STATS_TIMER = "stats";
  private static final Object TICK_TIMER = "tick";

  /**
   * @param askStats sends an engine stats request whose answer goes to the given ref
   */
  public static Behavior<Command> create(MigrationSettings settings, Consumer<ActorRef<EngineStats>> askStats,
      ActorRef<Pool.Command> pool, ActorRef<PageArena.Command> arena, List<ActorRef<SizeClass.Command>> classes) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      settings.period().ifPresent(p -> timers.startTimerWithFixedDelay(TICK_TIMER, new Tick(), p));
      return new MigrationWorker(ctx, timers, settings, askStats, pool, arena, classes);
    }));
  }

  private final TimerScheduler<Command> timers;
  private final MigrationSettings settings;
  private final Consumer<ActorRef<EngineStats>> askStats;
  private final ActorRef<Pool.Command> pool;
  private final ActorRef<PageArena.Command> arena;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final ActorRef<EngineStats> statsAdapter;
  private final ActorRef<CompactionResult> compactAdapter;
  private final ActorRef<PageArena.EvacuationPlan> planAdapter;
  private final ActorRef<PageArena.GrantReply> grantAdapter;
  private final ActorRef<SizeClass.Migrated> migratedAdapter;
  private final ActorRef<ArenaStats> arenaAdapter;

  private Phase phase = Phase.IDLE;
  private boolean stopping;
  private final List<ActorRef<Stopped>> stoppers = new ArrayList<>();
  private final List<ActorRef<Idle>> idleWaiters = new ArrayList<>();
  private final List<ActorRef<MigrationResult>> waitingOnDemand = new ArrayList<>();

  // the pass in flight
  private List<ActorRef<MigrationResult>> requesters = List.of();
  private boolean onDemand;
  private long chunksReleasedAtStart;
  private long passCompacted;
  private long passMigrated;
  private int rounds;
  private List<SizeClass.IsolatedZspage> isolated = List.of();
  private int pendingMigrates;
  private boolean roundProgress;

  // totals
  private long pagesMigrated;
  private long migrationsRefused;

  private MigrationWorker(ActorContext<Command> ctx, TimerScheduler<Command> timers, MigrationSettings settings,
      Consumer<ActorRef<EngineStats>> askStats, ActorRef<Pool.Command> pool, ActorRef<PageArena.Command> arena,
      List<ActorRef<SizeClass.Command>> classes) {
    super(ctx);
    this.timers = timers;
    this.settings = settings;
    this.askStats = askStats;
    this.pool = pool;
    this.arena = arena;
    this.classes = List.copyOf(classes);
    this.statsAdapter = ctx.messageAdapter(EngineStats.class, StatsArrived::new);
    this.compactAdapter = ctx.messageAdapter(CompactionResult.class, Compacted::new);
    this.planAdapter = ctx.messageAdapter(PageArena.EvacuationPlan.class, PlanArrived::new);
    this.grantAdapter = ctx.messageAdapter(PageArena.GrantReply.class, PagesGranted::new);
    this.migratedAdapter = ctx.messageAdapter(SizeClass.Migrated.class, MigrateDone::new);
    this.arenaAdapter = ctx.messageAdapter(ArenaStats.class, ArenaFigures::new);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Tick.class, m -> {
          if (phase == Phase.IDLE && !stopping) {
            startPass(false, List.of());
          }
          return this;
        })
        .onMessage(MigrateNow.class, this::onMigrateNow)
        .onMessage(AwaitIdle.class, m -> {
          if (phase == Phase.IDLE) {
            m.replyTo().tell(new Idle(pagesMigrated));
          } else {
            idleWaiters.add(m.replyTo());
          }
          return this;
        })
        .onMessage(Stop.class, this::onStop)
        .onMessage(StatsArrived.class, this::onStats)
        .onMessage(StatsTimeout.class, m -> {
          if (phase == Phase.STATS) {
            LOG.warn("engine stats did not answer in {}; migration pass skipped", FAN_OUT_TIMEOUT);
            finishPass();
          }
          return this;
        })
        .onMessage(Compacted.class, m -> {
          passCompacted += m.result().pagesFreed();
          plan();
          return this;
        })
        .onMessage(PlanArrived.class, this::onPlan)
        .onMessage(IsolatedAll.class, this::onIsolated)
        .onMessage(PagesGranted.class, this::onGranted)
        .onMessage(MigrateDone.class, this::onMigrateDone)
        .onMessage(ArenaFigures.class, this::onFinalFigures)
        .build();
  }

  private Behavior<Command> onMigrateNow(MigrateNow m) {
    if (stopping) {
      m.replyTo().tell(new MigrationResult(0, 0, 0, 0));
    } else if (phase == Phase.IDLE) {
      startPass(true, List.of(m.replyTo()));
    } else {
      waitingOnDemand.add(m.replyTo()); // after the pass in flight, one on-demand pass serves them all
    }
    return this;
  }

  private Behavior<Command> onStop(Stop m) {
    stopping = true;
    timers.cancel(TICK_TIMER);
    for (ActorRef<SizeClass.Command> c : classes) {
      c.tell(new SizeClass.StopMigrations()); // queued Migrates behind this are refused
    }
    for (ActorRef<MigrationResult> r : waitingOnDemand) {
      r.tell(new MigrationResult(0, 0, 0, 0));
    }
    waitingOnDemand.clear();
    if (phase == Phase.STATS) {
      // Nothing of the pass has happened yet; the engine's stats may not even answer while it
      // shuts down (its backing stores are closing), so the pass ends here.
      timers.cancel(STATS_TIMER);
      finishPass();
    }
    if (phase == Phase.IDLE) {
      m.replyTo().tell(new Stopped(pagesMigrated, migrationsRefused));
    } else {
      LOG.info("stopping: a migration pass is in flight (phase {}); it ends before the worker stops", phase);
      stoppers.add(m.replyTo());
    }
    return this;
  }

  // ---- a pass ---------------------------------------------------------------------------------

  private void startPass(boolean demand, List<ActorRef<MigrationResult>> replyTos) {
    onDemand = demand;
    requesters = replyTos;
    passCompacted = 0;
    passMigrated = 0;
    rounds = 0;
    phase = Phase.STATS;
    timers.startSingleTimer(STATS_TIMER, new StatsTimeout(), FAN_OUT_TIMEOUT.multipliedBy(2));
    askStats.accept(statsAdapter);
  }

  private Behavior<Command> onStats(StatsArrived m) {
    if (phase != Phase.STATS) {
      return this;
    }
    timers.cancel(STATS_TIMER);
    var p = m.stats().pool();
    chunksReleasedAtStart = p.chunksReleased();
    if (stopping) {
      finishPass();
      return this;
    }
    long compr = m.stats().comprDataSize();
    boolean fragmented = p.memUsedTotal() > settings.fragmentationThreshold() * compr;
    long chunkBytes = p.arenaChunksHeld() == 0 ? Long.MAX_VALUE : p.arenaBytesHeld() / p.arenaChunksHeld();
    boolean sparseChunks = p.arenaBytesHeld() - p.memUsedTotal() >= chunkBytes;
    if (onDemand || fragmented) {
      phase = Phase.COMPACT;
      pool.tell(new Pool.Compact(compactAdapter));
    } else if (sparseChunks) {
      plan();
    } else {
      finishPass();
    }
    return this;
  }

  private void plan() {
    if (stopping || rounds >= MAX_ROUNDS) {
      finishPass();
      return;
    }
    rounds++;
    phase = Phase.PLAN;
    arena.tell(new PageArena.PlanEvacuation(settings.minChunkFree(), settings.maxPagesPerPass(), planAdapter));
  }

  private Behavior<Command> onPlan(PlanArrived m) {
    int[] chunkIds = m.plan().chunkIds();
    if (chunkIds.length == 0 || stopping) {
      arena.tell(new PageArena.EndEvacuation());
      finishPass();
      return this;
    }
    phase = Phase.ISOLATE;
    ActorRef<Command> self = getContext().getSelf();
    // Runs in the gatherer: it only folds its own list and sends the result to this actor.
    ActorRef<SizeClass.Isolated> gather = Gather.spawn(getContext(), classes.size(),
        new ArrayList<SizeClass.IsolatedZspage>(), (acc, r) -> {
          acc.addAll(r.zspages());
          return acc;
        }, acc -> self.tell(new IsolatedAll(acc, true)), FAN_OUT_TIMEOUT, acc -> self.tell(new IsolatedAll(acc, false)));
    for (ActorRef<SizeClass.Command> c : classes) {
      c.tell(new SizeClass.Isolate(chunkIds, gather));
    }
    return this;
  }

  private Behavior<Command> onIsolated(IsolatedAll m) {
    if (!m.complete()) {
      LOG.warn("size classes did not answer an isolation in {}; putting every isolated zspage back", FAN_OUT_TIMEOUT);
      for (ActorRef<SizeClass.Command> c : classes) {
        c.tell(new SizeClass.PutbackAll()); // behind the Isolate from this same sender
      }
      arena.tell(new PageArena.EndEvacuation());
      finishPass();
      return this;
    }
    isolated = m.zspages();
    int total = 0;
    for (SizeClass.IsolatedZspage z : isolated) {
      total += z.pages().length;
    }
    if (stopping || total == 0) {
      putBack(isolated, 0);
      roundProgress = !stopping; // only reserve pages were there: they went back at isolation
      endRound();
      return this;
    }
    phase = Phase.GRANT;
    arena.tell(new PageArena.GrantForMigration(total, grantAdapter));
    return this;
  }

  private Behavior<Command> onGranted(PagesGranted m) {
    int[] pages = m.reply() instanceof PageArena.Granted g ? g.pageIds() : new int[0];
    var chunks = m.reply() instanceof PageArena.Granted g ? g.chunks() : new io.zswapd.actors.arena.Chunk[0];
    DestinationPages destinations = new DestinationPages(pages);
    int i = 0;
    pendingMigrates = 0;
    roundProgress = false;
    for (; i < isolated.size() && !stopping; i++) {
      SizeClass.IsolatedZspage z = isolated.get(i);
      int[] to = destinations.take(z.pages().length);
      if (to == null) {
        break;
      }
      classes.get(z.classIndex()).tell(new SizeClass.Migrate(z.zspage(), z.pages(), to, chunks, migratedAdapter));
      pendingMigrates++;
    }
    putBack(isolated, i); // the destination pages ran short (or the engine is stopping)
    int[] unused = destinations.rest();
    if (unused.length > 0) {
      arena.tell(new PageArena.Return(unused, unused.length));
    }
    phase = Phase.MIGRATE;
    if (pendingMigrates == 0) {
      endRound();
    }
    return this;
  }

  private void putBack(List<SizeClass.IsolatedZspage> zspages, int from) {
    for (int i = from; i < zspages.size(); i++) {
      SizeClass.IsolatedZspage z = zspages.get(i);
      classes.get(z.classIndex()).tell(new SizeClass.Putback(z.zspage()));
    }
  }

  private Behavior<Command> onMigrateDone(MigrateDone m) {
    SizeClass.Migrated r = m.migrated();
    pagesMigrated += r.pagesMoved();
    passMigrated += r.pagesMoved();
    if (r.refused()) {
      migrationsRefused++;
    } else {
      roundProgress = true;
    }
    if (--pendingMigrates == 0) {
      endRound();
    }
    return this;
  }

  private void endRound() {
    isolated = List.of();
    arena.tell(new PageArena.EndEvacuation());
    if (roundProgress && !stopping) {
      plan();
    } else {
      finishPass();
    }
  }

  private void finishPass() {
    if (!requesters.isEmpty()) {
      phase = Phase.FINAL;
      arena.tell(new PageArena.GetStats(arenaAdapter));
      return;
    }
    becomeIdle();
  }

  private Behavior<Command> onFinalFigures(ArenaFigures m) {
    MigrationResult result = new MigrationResult(passCompacted, passMigrated,
        m.stats().chunksReleased() - chunksReleasedAtStart, m.stats().chunksHeld());
    for (ActorRef<MigrationResult> r : requesters) {
      r.tell(result);
    }
    becomeIdle();
    return this;
  }

  private void becomeIdle() {
    if (passMigrated > 0 || passCompacted > 0) {
      getContext().getLog().debug("migration pass: {} pages compacted, {} pages migrated in {} rounds",
          passCompacted, passMigrated, rounds);
    }
    phase = Phase.IDLE;
    requesters = List.of();
    for (ActorRef<Idle> r : idleWaiters) {
      r.tell(new Idle(pagesMigrated));
    }
    idleWaiters.clear();
    if (stopping) {
      for (ActorRef<Stopped> r : stoppers) {
        r.tell(new Stopped(pagesMigrated, migrationsRefused));
      }
      stoppers.clear();
    } else if (!waitingOnDemand.isEmpty()) {
      List<ActorRef<MigrationResult>> next = List.copyOf(waitingOnDemand);
      waitingOnDemand.clear();
      startPass(true, next);
    }
  }
}
