package io.zswapd.actors;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.ChildFailed;
import akka.actor.typed.Terminated;
import io.zswapd.actors.support.EngineActorFailure;
import java.util.function.Consumer;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.StashBuffer;
import io.zswapd.actors.writeback.BackingIo;
import io.zswapd.actors.writeback.BackingStats;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.WritebackWorker;
import io.zswapd.actors.recompress.RecompressWorker;
import io.zswapd.protocol.engine.RecompressResult;
import io.zswapd.config.WritebackSettings;
import io.zswapd.protocol.engine.WritebackResult;
import java.util.Optional;
import io.zswapd.actors.cluster.ClusterShards;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.migration.MigrationWorker;
import io.zswapd.protocol.engine.MigrationResult;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.arena.ChunkMemory;
import io.zswapd.actors.pool.Pool;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.support.EngineDispatcher;
import io.zswapd.actors.support.Gather;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.actors.tree.ExportRoute;
import io.zswapd.actors.tree.SwapType;
import io.zswapd.config.ClusterSettings;
import io.zswapd.config.ExportSettings;
import io.zswapd.config.LiveSetting;
import io.zswapd.config.PoolSettings;
import io.zswapd.config.ZswapdSettings;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadRangeReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.ShutdownReport;
import io.zswapd.protocol.engine.StoreReply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The root of the engine: creates the {@link Pool}, one {@link SwapType} per export and the
 * writeback and migration workers, answers the engine's {@link EngineCommand.Control} commands
 * (stats, writeback, compaction, migration) and stops serving at once if an engine actor fails.
 * Four more jobs each live in a class of their own, state included, touched only on the
 * guardian's thread: routing ({@link ExportTable}: the exports and the routing table page
 * requests go by), the export lifecycle ({@link ExportLifecycle}: add, reset, remove, overflow
 * namespaces), shutdown ({@link ShutdownSteps}) and live settings ({@link LiveSettings}). Their
 * messages are this actor's, handed to them unchanged.
 *
 * <p>Until the pool reports its size classes, requests wait in a stash.
 */
public final class ZswapGuardian extends AbstractBehavior<ZswapGuardian.Command> {
  /** For callbacks that run in gatherer actors, outside this actor's context. */
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ZswapGuardian.class);


  public sealed interface Command {}

  /** A command for the whole engine (page requests go to their tree shards instead, by the routing table). */
  public record Engine(EngineCommand.Control command) implements Command {}

  /** Add an export at run time (an overflow-store namespace); answered with its settings. */
  public record AddExport(ExportSettings export, ActorRef<ExportAdded> replyTo) implements Command {}

  public record ExportAdded(String name, boolean created) {}

  /** Invalidate every export, drain the pool and report what was left. */
  public record Shutdown(ActorRef<ShutdownReport> replyTo) implements Command {}

  /**
   * Open (creating on first use) an overflow-store namespace: an export of its own, named
   * {@code overflow:<namespace>} in stats, reachable only through its directory.
   */
  public record OpenNamespace(String namespace, ActorRef<ActorRef<OverflowStore.Command>> replyTo)
      implements Command {}

  /** Page space of a namespace: 2^50 bytes, far more than any pool; shards are made on use. */
  public static final long NAMESPACE_BYTES = 1L << 50;

  /**
   * The routing table of page requests: each export's routing entry ({@link ExportRoute}), by
   * which its page requests reach their tree shards. Immutable; a new table, with a higher
   * {@code version}, is made whenever an export is added or removed. Answered once every export
   * started is in it. Overflow namespaces are not in it: their directories hold their own
   * export's entry.
   */
  public record GetRoutes(ActorRef<Routes> replyTo) implements Command {}

  /** An export's swap type made its shards: its routing entry. */
  record ExportReady(ExportRoute route) implements Command {}

  /** Every export's swap type now (none once shut down): where a recompression pass goes. */
  record GetExports(ActorRef<RecompressWorker.Exports> replyTo) implements Command {}

  public record Routes(long version, Map<String, ExportRoute> exports) {
    public Routes {
      exports = Map.copyOf(exports);
    }
  }

  public record SetPoolLimit(long limitBytes, long acceptBelowBytes) implements Command {}

  /**
   * Change a live setting ({@code zswapd set}): the guardian keeps the pool settings in force and
   * tells the arena (limit, accept threshold) or the writeback worker (idle period, reclaim
   * timeout). Answered once the change is on its way, so a later request through the guardian
   * sees it.
   */
  public record ChangeSetting(LiveSetting setting, ActorRef<SettingChanged> replyTo) implements Command {}

  /**
   * @param pool           the pool settings now in force
   * @param poolLimitBytes the limit in force: {@code pool.max-size} as now set
   * @param acceptBelowBytes once the limit is hit, stores are accepted again below this
   */
  public record SettingChanged(LiveSetting setting, PoolSettings pool, long poolLimitBytes, long acceptBelowBytes) {}

  /** Start {@code mem_used_max} again from the current {@code mem_used_total} (zram's {@code reset} of it). */
  public record ResetMax(ActorRef<akka.Done> replyTo) implements Command {}

  /** A limit change is in force in the arena: {@code answer} goes to {@code replyTo} now. */
  record LimitApplied(ActorRef<SettingChanged> replyTo, SettingChanged answer) implements Command {}

  private record PoolReady(Pool.Ready ready) implements Command {}

  /**
   * What a memory node's tree-shard entities need of this engine's pool ({@link ClusterShards}):
   * answered once the pool is ready.
   */
  public record GetPoolParts(ActorRef<ClusterShards.PoolParts> replyTo) implements Command {}

  record ExportsInvalidated(ActorRef<ShutdownReport> replyTo) implements Command {}

  record BackingClosed(long backingSlotsInUse, ActorRef<ShutdownReport> replyTo) implements Command {}

  record RemovedPagesFreed(RemoveExport request, ActorRef<SwapType.Command> swapType, long freed)
      implements Command {}

  /**
   * Remove an export at run time (swapoff then detach): every page is invalidated, its backing
   * file closed, and later requests for it are refused.
   */
  public record RemoveExport(String name, ActorRef<ExportRemoved> replyTo) implements Command {}

  /**
   * Reset an export (zram's {@code reset}): every page is dropped and its memory released, the
   * export stays. Answered once no migration can still name its pages.
   */
  public record ResetExport(String name, ActorRef<ExportReset> replyTo) implements Command {}

  /** {@code existed} false: no such export, or ({@code shuttingDown}) the engine is shut down. */
  public record ExportReset(String name, boolean existed, long pagesFreed, boolean shuttingDown) {}

  record ResetPagesFreed(ResetExport request, long freed) implements Command {}

  record RemovalMigrationsIdle(RemoveExport request, ActorRef<SwapType.Command> swapType, long freed)
      implements Command {}

  record MigrationsStopped(long backingSlotsInUse, ActorRef<ShutdownReport> replyTo) implements Command {}

  /** {@code backingSlotsInUse} is what the backing store still held when it closed (0 unless leaked). */
  public record ExportRemoved(String name, boolean existed, long pagesFreed, long backingSlotsInUse) {}

  private static final Duration FAN_OUT_TIMEOUT = Duration.ofSeconds(60);
  /** After a failure some parts may be gone: stats wait this long for the living ones. */
  private static final Duration FAILED_STATS_TIMEOUT = Duration.ofSeconds(2);
  /** Pool figures when the pool did not answer (it failed). */
  private static final io.zswapd.protocol.engine.PoolStats NO_POOL =
      new io.zswapd.protocol.engine.PoolStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "none", 0);



  /**
   * @param chunkMemory where the pool's chunks come from ({@code OffHeap.choose})
   * @param backingIos  the opened backing file of every export that has one, by export name
   * @param spawnHook   applied to every engine actor spawned below ({@link SpawnHook#NONE} but in tests)
   * @param onFailure told once, from the guardian's thread, when an engine actor has failed and
   *                  the engine stopped serving (see {@code childStopped})
   */
  public static Behavior<Command> create(ZswapdSettings settings, ChunkMemory chunkMemory, Map<String, BackingIo> backingIos,
      SpawnHook spawnHook, Consumer<String> onFailure) {
    return Behaviors.withStash(100_000, stash -> Behaviors.setup(ctx -> {
      PoolSettings p = settings.pool();
      PoolGeometry geometry = PoolGeometry.of(p.maxPagesPerZspage());
      // Zswapd.get checked it against the JVM's direct-memory limit (DirectMemoryBudget) for direct chunks
      long limit = p.maxSizeBytes();
      long acceptBelow = LiveSettings.acceptBelow(limit, p);
      ActorRef<Pool.Ready> ready = ctx.messageAdapter(Pool.Ready.class, PoolReady::new);
      ActorRef<Pool.Command> pool = ctx.spawn(spawnHook.wrap(EngineActor.of(EngineActor.Role.POOL),
          Pool.create(geometry, (int) p.arenaChunkSizeBytes(), limit, acceptBelow, chunkMemory, ready,
              spawnHook)), "pool", EngineDispatcher.SAME);
      ctx.watch(pool);
      return starting(ctx, stash, settings, geometry, pool, backingIos, spawnHook, onFailure);
    }));
  }

  private static Behavior<Command> starting(ActorContext<Command> ctx, StashBuffer<Command> stash,
      ZswapdSettings settings, PoolGeometry geometry, ActorRef<Pool.Command> pool, Map<String, BackingIo> backingIos,
      SpawnHook spawnHook, Consumer<String> onFailure) {
    return Behaviors.receive(Command.class)
        .onMessage(PoolReady.class, r -> stash.unstashAll(
            new ZswapGuardian(ctx, settings, geometry, pool, r.ready(), backingIos, spawnHook, onFailure)))
        .onSignal(ChildFailed.class, f -> {
          throw new EngineActorFailure("the pool, while starting", f.getCause());
        })
        .onAnyMessage(m -> {
          stash.stash(m);
          return Behaviors.same();
        })
        .build();
  }

  private final ActorRef<Pool.Command> pool;
  /** The pool's size classes, geometry and compressor, for tree shards hosted for the cluster. */
  private final ClusterShards.PoolParts poolParts;
  private final ExportTable table = new ExportTable();
  private final ExportLifecycle lifecycle;
  private final ShutdownSteps shutdown;
  private final LiveSettings live;
  private final ActorRef<WritebackWorker.Command> writeback;
  private final ActorRef<MigrationWorker.Command> migration;
  private final ActorRef<RecompressWorker.Command> recompress;
  private final Consumer<String> onFailure;
  /** Set once an engine actor has failed: what failed and what was lost. Nothing is served after. */
  private String failure;
  /** Asked for the routing table before every export started was in it: answered when all are. */
  private final List<ActorRef<Routes>> routesWaiting = new ArrayList<>();

  private ZswapGuardian(ActorContext<Command> ctx, ZswapdSettings settings, PoolGeometry geometry,
      ActorRef<Pool.Command> pool, Pool.Ready ready, Map<String, BackingIo> backingIos, SpawnHook spawnHook,
      Consumer<String> onFailure) {
    super(ctx);
    this.onFailure = onFailure;
    this.pool = pool;
    List<ActorRef<SizeClass.Command>> classes = ready.classes();
    PageCompressor compressor = PageCompressor.of(settings.pool());
    this.poolParts = new ClusterShards.PoolParts(classes, geometry, compressor, spawnHook);
    this.lifecycle = new ExportLifecycle(ctx, table, ctx.messageAdapter(ExportRoute.class, ExportReady::new),
        classes, geometry, compressor, spawnHook,
        settings.namespaces(), settings.cluster().role() == ClusterSettings.Role.FRONT ? ClusterShards.newRun() : 0);
    this.shutdown = new ShutdownSteps(ctx, table, pool);
    this.live = new LiveSettings(settings.pool(), pool, ctx);
    List<ActorRef<SwapType.Command>> backed = new ArrayList<>();
    for (ExportSettings e : settings.exports()) {
      Optional<BackingIo> io = Optional.ofNullable(backingIos.get(e.name()));
      ActorRef<SwapType.Command> ref = lifecycle.start(e, io);
      io.ifPresent(x -> backed.add(ref));
    }
    WritebackSettings w = settings.pool().writeback();
    this.writeback = backed.isEmpty() ? null : watched(getContext().spawn(
        spawnHook.wrap(EngineActor.of(EngineActor.Role.WRITEBACK_WORKER),
            WritebackWorker.create(pool, ready.arena(), List.copyOf(backed), w.idleAfter(), w.reclaimTimeout())),
        "writeback", EngineDispatcher.SAME));
    ActorRef<Command> self = getContext().getSelf();
    this.migration = watched(getContext().spawn(spawnHook.wrap(EngineActor.of(EngineActor.Role.MIGRATION_WORKER),
        MigrationWorker.create(settings.pool().migration(),
            statsTo -> self.tell(new Engine(new EngineCommand.GetStats(statsTo))), pool, ready.arena(), classes)),
        "migration", EngineDispatcher.SAME));
    this.recompress = watched(getContext().spawn(spawnHook.wrap(EngineActor.of(EngineActor.Role.RECOMPRESS_WORKER),
        RecompressWorker.create(settings.pool().recompress(), to -> self.tell(new GetExports(to)))),
        "recompress", EngineDispatcher.SAME));
    lifecycle.workers(migration, writeback);
    shutdown.migration(migration);
    live.workers(writeback, recompress);
  }
  private <T> ActorRef<T> watched(ActorRef<T> child) {
    getContext().watch(child);
    return child;
  }

  /**
   * An engine actor failed. The kernel would have oopsed; here the engine stops serving rather
   * than go on with state it can no longer trust: it logs once what failed and which pages are
   * lost, answers every request with ENGINE_FAILED (NBD: EIO) at once, and tells its owner
   * ({@code onFailure}: the embedded API fails every waiting request; the daemon exits non-zero
   * so that systemd restarts it). A failure is never a silent 60-second wait.
   */
  private Behavior<Command> childStopped(Terminated t) {
    if (!(t instanceof ChildFailed failed) || failure != null) {
      return this;
    }
    String child = t.getRef().path().name();
    String what = failed.getCause() instanceof EngineActorFailure e ? EngineActorFailure.describe(e)
        : switch (child) {
          case "pool" -> "the pool (the compressed pages in it are lost)";
          case "migration" -> "the migration worker";
          case "writeback" -> "the writeback worker";
          case "recompress" -> "the recompression worker";
          default -> "engine actor " + child;
        } + " failed: " + failed.getCause();
    failure = what;
    routesWaiting.forEach(r -> r.tell(table.routes())); // an export that was starting may never be ready now
    routesWaiting.clear();
    LOG.error("zswapd engine failed: {}. The engine serves nothing more: every request is "
        + "answered ENGINE_FAILED (NBD EIO); restart it (the daemon exits with status 70).", what,
        failed.getCause());
    onFailure.accept(what);
    return this;
  }


  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onSignal(Terminated.class, this::childStopped)
        .onMessage(Command.class, m -> failure != null, this::whenFailed)
        .onMessage(Engine.class, this::onEngine)
        .onMessage(GetRoutes.class, this::onGetRoutes)
        .onMessage(ExportReady.class, this::onExportReady)
        .onMessage(GetExports.class, m -> {
          m.replyTo().tell(new RecompressWorker.Exports(shutdown.shutDown() ? List.of() : table.all()));
          return this;
        })
        // the export lifecycle
        .onMessage(GetPoolParts.class, m -> done(() -> m.replyTo().tell(poolParts)))
        .onMessage(AddExport.class, m -> done(() -> lifecycle.add(m, shutdown.shutDown())))
        .onMessage(OpenNamespace.class, m -> done(() -> lifecycle.openNamespace(m)))
        .onMessage(ResetExport.class, m -> done(() -> lifecycle.reset(m, shutdown.shutDown())))
        .onMessage(ResetPagesFreed.class, m -> done(() -> lifecycle.resetPagesFreed(m)))
        .onMessage(RemoveExport.class, m -> done(() -> lifecycle.remove(m)))
        .onMessage(RemovedPagesFreed.class, m -> done(() -> lifecycle.removedPagesFreed(m)))
        .onMessage(RemovalMigrationsIdle.class, m -> done(() -> lifecycle.removalMigrationsIdle(m)))
        // live settings
        .onMessage(ChangeSetting.class, m -> done(() -> live.change(m)))
        .onMessage(LimitApplied.class, a -> done(() -> a.replyTo().tell(a.answer())))
        .onMessage(SetPoolLimit.class, m -> done(() -> live.setPoolLimit(m)))
        .onMessage(ResetMax.class, m -> done(() -> live.resetMax(m)))
        // shutdown
        .onMessage(Shutdown.class, m -> done(() -> shutdown.start(m)))
        .onMessage(ExportsInvalidated.class, m -> done(() -> shutdown.exportsInvalidated(m)))
        .onMessage(BackingClosed.class, m -> done(() -> shutdown.backingClosed(m)))
        .onMessage(MigrationsStopped.class, m -> done(() -> shutdown.migrationsStopped(m)))
        .build();
  }

  private Behavior<Command> onGetRoutes(GetRoutes m) {
    if (table.complete()) {
      m.replyTo().tell(table.routes());
    } else {
      routesWaiting.add(m.replyTo());
    }
    return this;
  }

  private Behavior<Command> onExportReady(ExportReady m) {
    lifecycle.ready(m.route());
    if (table.complete()) {
      routesWaiting.forEach(r -> r.tell(table.routes()));
      routesWaiting.clear();
    }
    return this;
  }

  /** A handler of one of the four jobs: the guardian's behavior stays. */
  private Behavior<Command> done(Runnable handled) {
    handled.run();
    return this;
  }

  /** After a failure: every request is answered at once, none reaches an actor that may be gone. */
  private Behavior<Command> whenFailed(Command m) {
    EngineError error = EngineError.engineFailed(failure);
    if (m instanceof Engine e) {
      EngineCommand.Control c = e.command();
      if (c instanceof EngineCommand.GetStats s) {
        gatherStats(s.replyTo()); // partial after a short wait: what is alive still counts
      } else if (c instanceof EngineCommand.Writeback w) {
        w.replyTo().tell(WritebackResult.NONE);
      } else if (c instanceof EngineCommand.Recompress r) {
        r.replyTo().tell(RecompressResult.NONE);
      } else if (c instanceof EngineCommand.Compact k) {
        k.replyTo().tell(new io.zswapd.protocol.engine.CompactionResult(0, 0));
      } else if (c instanceof EngineCommand.Migrate mig) {
        mig.replyTo().tell(new MigrationResult(0, 0, 0, 0));
      }
    } else if (m instanceof Shutdown s) {
      s.replyTo().tell(FAILED_REPORT);
    } else if (m instanceof AddExport a) {
      a.replyTo().tell(new ExportAdded(a.export().name(), false));
    } else if (m instanceof RemoveExport r) {
      r.replyTo().tell(new ExportRemoved(r.name(), table.hasExport(r.name()), 0, -1));
    } else if (m instanceof ResetExport r) {
      r.replyTo().tell(new ExportReset(r.name(), false, 0, true));
    } else if (m instanceof ChangeSetting c) {
      c.replyTo().tell(new SettingChanged(c.setting(), live.inForce(), 0, 0));
    } else if (m instanceof ResetMax r) {
      r.replyTo().tell(akka.Done.getInstance());
    } else if (m instanceof LimitApplied a) {
      a.replyTo().tell(a.answer()); // a limit change made before the failure
    } else if (m instanceof GetRoutes r) {
      r.replyTo().tell(table.routes()); // as it is: the exports still starting will not come
    } else if (m instanceof ExportReady r) {
      onExportReady(r);
    } else if (m instanceof GetExports r) {
      r.replyTo().tell(new RecompressWorker.Exports(List.of()));
    } else {
      getContext().getLog().debug("after the engine failed, dropped {}", m);
    }
    return this;
  }

  /** A shutdown after a failure: nothing can be drained or counted; not clean. */
  static final ShutdownReport FAILED_REPORT = new ShutdownReport(-1, -1, -1, -1, -1, List.of("all: the engine had failed"));

  private Behavior<Command> onEngine(Engine m) {
    EngineCommand.Control c = m.command();
    if (c instanceof EngineCommand.GetStats s) {
      gatherStats(s.replyTo());
    } else if (c instanceof EngineCommand.Writeback w) {
      if (writeback == null || shutdown.shutDown()) {
        w.replyTo().tell(WritebackResult.NONE);
      } else {
        writeback.tell(new WritebackWorker.Writeback(w.mode(), w.replyTo()));
      }
    } else if (c instanceof EngineCommand.Recompress r) {
      if (shutdown.shutDown()) {
        r.replyTo().tell(RecompressResult.NONE);
      } else {
        recompress.tell(new RecompressWorker.RecompressNow(r.mode(), r.threshold(), table.all(), r.replyTo()));
      }
    } else if (c instanceof EngineCommand.Compact k) {
      pool.tell(new Pool.Compact(k.replyTo()));
    } else if (c instanceof EngineCommand.Migrate mig) {
      if (shutdown.shutDown()) {
        mig.replyTo().tell(new MigrationResult(0, 0, 0, 0));
      } else {
        migration.tell(new MigrationWorker.MigrateNow(mig.replyTo()));
      }
    }
    return this;
  }

  /** Pool report and every export's stats, in any order. */
  private record StatsAcc(Pool.PoolReport pool, List<ExportStats> exports) {
    StatsAcc add(Object reply) {
      if (reply instanceof Pool.PoolReport p) {
        return new StatsAcc(p, exports);
      }
      List<ExportStats> more = new ArrayList<>(exports);
      more.add((ExportStats) reply);
      return new StatsAcc(pool, more);
    }
  }

  private void gatherStats(ActorRef<EngineStats> replyTo) {
    List<String> order = table.names();
    List<ActorRef<SwapType.Command>> all = table.all();
    java.util.function.Consumer<StatsAcc> answer = acc -> {
      List<ExportStats> sorted = new ArrayList<>(acc.exports());
      sorted.sort((a, b) -> Integer.compare(order.indexOf(a.export()), order.indexOf(b.export())));
      replyTo.tell(acc.pool() == null ? new EngineStats(NO_POOL, sorted, List.of())
          : new EngineStats(acc.pool().pool(), sorted, acc.pool().classes()));
    };
    // Never a silent wait: what answered in time is answered, the rest is left out.
    ActorRef<Object> gather = Gather.spawn(getContext(), all.size() + 1, new StatsAcc(null, List.of()),
        StatsAcc::add, answer, failure != null ? FAILED_STATS_TIMEOUT : FAN_OUT_TIMEOUT, acc -> {
          LOG.atLevel(failure != null ? org.slf4j.event.Level.DEBUG : org.slf4j.event.Level.WARN).log("engine stats: {} of {} parts did not answer in time; answering without them",
              all.size() + 1 - acc.exports().size() - (acc.pool() == null ? 0 : 1), all.size() + 1);
          answer.accept(acc);
        });
    pool.tell(new Pool.GetStats(gather.narrow()));
    for (ActorRef<SwapType.Command> e : all) {
      e.tell(new SwapType.GetStats(gather.narrow()));
    }
  }
}
