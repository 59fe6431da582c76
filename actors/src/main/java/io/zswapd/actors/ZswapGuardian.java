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
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.writeback.BackingIo;
import io.zswapd.actors.writeback.BackingStats;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.WritebackWorker;
import io.zswapd.config.WritebackSettings;
import io.zswapd.protocol.engine.WritebackResult;
import java.util.Optional;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.migration.MigrationWorker;
import io.zswapd.protocol.engine.MigrationResult;
import io.zswapd.actors.overflow.OverflowDirectory;
import io.zswapd.actors.pool.Pool;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.support.EngineDispatcher;
import io.zswapd.actors.support.Gather;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.actors.tree.SwapType;
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
 * The root of the engine: creates the {@link Pool}, one {@link SwapType} per export, and
 * routes each {@link EngineCommand} to the export it names. It owns the table of exports,
 * which changes only when a namespace is added.
 *
 * <p>Until the pool reports its size classes, requests wait in a stash. After
 * {@link Shutdown} every request is refused with {@code SHUTTING_DOWN}.
 */
public final class ZswapGuardian extends AbstractBehavior<ZswapGuardian.Command> {
  /** For callbacks that run in gatherer actors, outside this actor's context. */
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ZswapGuardian.class);


  public sealed interface Command {}

  /** A command for the whole engine (page requests go to their export's {@link SwapType} instead). */
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
  public record OpenNamespace(String namespace, ActorRef<ActorRef<OverflowDirectory.Command>> replyTo)
      implements Command {}

  /** Page space of a namespace: 2^50 bytes, far more than any pool; shards are made on use. */
  public static final long NAMESPACE_BYTES = 1L << 50;

  /**
   * The routing table of page requests: each export's {@link SwapType}, the one place its page
   * requests go. Immutable; a new table, with a higher {@code version}, is made whenever an
   * export is added or removed. Overflow namespaces are not in it: their directories hold their
   * own export's route.
   */
  public record GetRoutes(ActorRef<Routes> replyTo) implements Command {}

  public record Routes(long version, Map<String, ActorRef<SwapType.Command>> exports) {
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

  private record PoolReady(Pool.Ready ready) implements Command {}

  private record ExportsInvalidated(ActorRef<ShutdownReport> replyTo) implements Command {}

  private record BackingClosed(long backingSlotsInUse, ActorRef<ShutdownReport> replyTo) implements Command {}

  private record RemovedPagesFreed(RemoveExport request, ActorRef<SwapType.Command> swapType, long freed)
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

  private record ResetPagesFreed(ResetExport request, long freed) implements Command {}

  private record RemovalMigrationsIdle(RemoveExport request, ActorRef<SwapType.Command> swapType, long freed)
      implements Command {}

  private record MigrationsStopped(long backingSlotsInUse, ActorRef<ShutdownReport> replyTo) implements Command {}

  /** {@code backingSlotsInUse} is what the backing store still held when it closed (0 unless leaked). */
  public record ExportRemoved(String name, boolean existed, long pagesFreed, long backingSlotsInUse) {}

  private static final Duration FAN_OUT_TIMEOUT = Duration.ofSeconds(60);
  /** After a failure some parts may be gone: stats wait this long for the living ones. */
  private static final Duration FAILED_STATS_TIMEOUT = Duration.ofSeconds(2);
  /** Pool figures when the pool did not answer (it failed). */
  private static final io.zswapd.protocol.engine.PoolStats NO_POOL =
      new io.zswapd.protocol.engine.PoolStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);



  private static long acceptBelow(long limit, PoolSettings p) {
    return (long) (limit * p.acceptThreshold()) / 4096 * 4096;
  }

  /**
   * @param backingIos the opened backing file of every export that has one, by export name
   * @param spawnHook  applied to every engine actor spawned below ({@link SpawnHook#NONE} but in tests)
   */
  public static Behavior<Command> create(ZswapdSettings settings, Map<String, BackingIo> backingIos,
      SpawnHook spawnHook) {
    return create(settings, backingIos, spawnHook, failure -> { });
  }

  /**
   * @param onFailure told once, from the guardian's thread, when an engine actor has failed and
   *                  the engine stopped serving (see {@code childStopped})
   */
  public static Behavior<Command> create(ZswapdSettings settings, Map<String, BackingIo> backingIos,
      SpawnHook spawnHook, Consumer<String> onFailure) {
    return Behaviors.withStash(100_000, stash -> Behaviors.setup(ctx -> {
      PoolSettings p = settings.pool();
      PoolGeometry geometry = PoolGeometry.of(p.maxPagesPerZspage());
      // Zswapd.get checked it against the JVM's direct-memory limit (DirectMemoryBudget)
      long limit = p.maxSizeBytes();
      long acceptBelow = acceptBelow(limit, p);
      ActorRef<Pool.Ready> ready = ctx.messageAdapter(Pool.Ready.class, PoolReady::new);
      ActorRef<Pool.Command> pool = ctx.spawn(spawnHook.wrap(EngineActor.of(EngineActor.Role.POOL),
          Pool.create(geometry, (int) p.arenaChunkSizeBytes(), limit, acceptBelow,
              CodecKind.valueOf(p.compressor().name()), p.compressionLevel(), p.migration().checkedMemory(), ready,
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

  private final PoolGeometry geometry;
  private final PageCompressor compressor;
  private final ActorRef<Pool.Command> pool;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final Map<String, ActorRef<SwapType.Command>> exports = new LinkedHashMap<>();
  /** The routing table handed out now; replaced whole when an export is added or removed. */
  private Routes routes;
  private final Map<String, ActorRef<OverflowDirectory.Command>> namespaces = new LinkedHashMap<>();
  private final Map<String, ActorRef<SwapType.Command>> namespaceExports = new LinkedHashMap<>();
  private boolean shutDown;
  private final ActorRef<WritebackWorker.Command> writeback;
  /** The pool settings in force: the configured ones, then each live change applied. */
  private PoolSettings live;
  private final ActorRef<MigrationWorker.Command> migration;
  private final SpawnHook spawnHook;
  private final Consumer<String> onFailure;
  /** Set once an engine actor has failed: what failed and what was lost. Nothing is served after. */
  private String failure;

  private ZswapGuardian(ActorContext<Command> ctx, ZswapdSettings settings, PoolGeometry geometry,
      ActorRef<Pool.Command> pool, Pool.Ready ready, Map<String, BackingIo> backingIos, SpawnHook spawnHook,
      Consumer<String> onFailure) {
    super(ctx);
    this.spawnHook = spawnHook;
    this.onFailure = onFailure;
    this.geometry = geometry;
    this.compressor = PageCompressor.of(settings.pool());
    this.pool = pool;
    this.classes = ready.classes();
    List<ActorRef<SwapType.Command>> backed = new ArrayList<>();
    for (ExportSettings e : settings.exports()) {
      Optional<BackingIo> io = Optional.ofNullable(backingIos.get(e.name()));
      ActorRef<SwapType.Command> ref = getContext().spawn(spawnHook.wrap(
          EngineActor.ofExport(EngineActor.Role.SWAP_TYPE, e.name()),
          SwapType.create(e.name(), e.pages(), e.readOnly(), classes, geometry, compressor, io,
              e.backingSizeBytes().orElse(BackingStore.UNLIMITED), spawnHook)),
          "export-" + actorName(e.name()), EngineDispatcher.SAME);
      exports.put(e.name(), watched(ref));
      io.ifPresent(x -> backed.add(ref));
    }
    this.routes = new Routes(1, exports);
    this.live = settings.pool();
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
          default -> "engine actor " + child;
        } + " failed: " + failed.getCause();
    failure = what;
    LOG.error("zswapd engine failed: {}. The engine serves nothing more: every request is "
        + "answered ENGINE_FAILED (NBD EIO); restart it (the daemon exits with status 70).", what,
        failed.getCause());
    onFailure.accept(what);
    return this;
  }


  private void addExport(ExportSettings e) {
    exports.put(e.name(), spawnSwapType(e.name(), e.pages(), e.readOnly()));
    routes = new Routes(routes.version() + 1, exports);
  }

  private ActorRef<SwapType.Command> spawnSwapType(String name, long pages, boolean readOnly) {
    return watched(getContext().spawn(spawnHook.wrap(EngineActor.ofExport(EngineActor.Role.SWAP_TYPE, name),
        SwapType.create(name, pages, readOnly, classes, geometry, compressor, Optional.empty(), BackingStore.UNLIMITED,
            spawnHook)), "export-" + actorName(name), EngineDispatcher.SAME));
  }

  private Behavior<Command> onOpenNamespace(OpenNamespace m) {
    ActorRef<OverflowDirectory.Command> directory = namespaces.get(m.namespace());
    if (directory == null) {
      String export = "overflow:" + m.namespace();
      ActorRef<SwapType.Command> swapType = spawnSwapType(export, NAMESPACE_BYTES / PageImage.PAGE_SIZE, false);
      directory = watched(getContext().spawn(spawnHook.wrap(
          EngineActor.ofExport(EngineActor.Role.OVERFLOW_DIRECTORY, export), OverflowDirectory.create(export, swapType)),
          "namespace-" + actorName(m.namespace()), EngineDispatcher.SAME));
      namespaces.put(m.namespace(), directory);
      namespaceExports.put(export, swapType);
    }
    m.replyTo().tell(directory);
    return this;
  }

  private List<ActorRef<SwapType.Command>> allSwapTypes() {
    List<ActorRef<SwapType.Command>> all = new ArrayList<>(exports.values());
    all.addAll(namespaceExports.values());
    return all;
  }

  /** Export names allow '.', which actor names also allow; anything else is escaped. */
  private static String actorName(String name) {
    return java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onSignal(Terminated.class, this::childStopped)
        .onMessage(Command.class, m -> failure != null, this::whenFailed)
        .onMessage(Engine.class, this::onEngine)
        .onMessage(AddExport.class, m -> {
          boolean created = !shutDown && !exports.containsKey(m.export().name());
          if (created) {
            addExport(m.export());
          }
          m.replyTo().tell(new ExportAdded(m.export().name(), created));
          return this;
        })
        .onMessage(OpenNamespace.class, this::onOpenNamespace)
        .onMessage(GetRoutes.class, m -> {
          m.replyTo().tell(routes);
          return this;
        })
        .onMessage(SetPoolLimit.class, m -> {
          pool.tell(new Pool.SetLimit(m.limitBytes(), m.acceptBelowBytes()));
          return this;
        })
        .onMessage(ChangeSetting.class, this::onChangeSetting)
        .onMessage(ResetMax.class, m -> {
          pool.tell(new Pool.ResetMax());
          m.replyTo().tell(akka.Done.getInstance());
          return this;
        })
        .onMessage(Shutdown.class, this::onShutdown)
        .onMessage(ExportsInvalidated.class, this::onExportsInvalidated)
        .onMessage(BackingClosed.class, this::onBackingClosed)
        .onMessage(RemoveExport.class, this::onRemoveExport)
        .onMessage(RemovedPagesFreed.class, m -> {
          // The frees are queued at the size classes; a pass in flight may still hold some of
          // those zspages isolated. Wait for it, so the removal answers with the memory released.
          ActorRef<Command> self = getContext().getSelf();
          ActorRef<MigrationWorker.Idle> idle = Gather.spawn(getContext(), 1, 0L, (a, i) -> a,
              a -> self.tell(new RemovalMigrationsIdle(m.request(), m.swapType(), m.freed())), FAN_OUT_TIMEOUT,
              a -> self.tell(new RemovalMigrationsIdle(m.request(), m.swapType(), m.freed())));
          migration.tell(new MigrationWorker.AwaitIdle(idle));
          return this;
        })
        .onMessage(ResetExport.class, this::onResetExport)
        .onMessage(ResetPagesFreed.class, m -> {
          ResetExport r = m.request();
          ActorRef<MigrationWorker.Idle> idle = Gather.spawn(getContext(), 1, 0L, (a, i) -> a,
              a -> r.replyTo().tell(new ExportReset(r.name(), true, m.freed(), false)), FAN_OUT_TIMEOUT,
              a -> r.replyTo().tell(new ExportReset(r.name(), true, m.freed(), false)));
          migration.tell(new MigrationWorker.AwaitIdle(idle));
          return this;
        })
        .onMessage(MigrationsStopped.class, this::onMigrationsStopped)
        .onMessage(RemovalMigrationsIdle.class, m -> {
          RemoveExport r = m.request();
          ActorRef<BackingStats> closed = Gather.spawn(getContext(), 1, (BackingStats) null, (a, b) -> b,
              b -> r.replyTo().tell(new ExportRemoved(r.name(), true, m.freed(), b.slotsInUse())), FAN_OUT_TIMEOUT,
              b -> r.replyTo().tell(new ExportRemoved(r.name(), true, m.freed(), -1)));
          m.swapType().tell(new SwapType.CloseBacking(closed));
          return this;
        })
        .build();
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
      r.replyTo().tell(new ExportRemoved(r.name(), exports.containsKey(r.name()), 0, -1));
    } else if (m instanceof ResetExport r) {
      r.replyTo().tell(new ExportReset(r.name(), false, 0, true));
    } else if (m instanceof ChangeSetting c) {
      c.replyTo().tell(new SettingChanged(c.setting(), live, 0, 0));
    } else if (m instanceof ResetMax r) {
      r.replyTo().tell(akka.Done.getInstance());
    } else if (m instanceof GetRoutes r) {
      r.replyTo().tell(routes);
    } else {
      getContext().getLog().debug("after the engine failed, dropped {}", m);
    }
    return this;
  }

  /** A shutdown after a failure: nothing can be drained or counted; not clean. */
  static final ShutdownReport FAILED_REPORT = new ShutdownReport(-1, -1, -1, -1, -1, List.of("all: the engine had failed"));

  private Behavior<Command> onChangeSetting(ChangeSetting m) {
    LiveSetting change = m.setting();
    live = change.applyTo(live);
    long limit = live.maxSizeBytes(); // Zswapd.set checked it against the direct-memory limit
    if (change instanceof LiveSetting.MaxSize || change instanceof LiveSetting.AcceptThreshold) {
      // Below the current usage, the next allocation finds no room: pool_limit_hit counts and
      // writeback (or, without a backing file, refusal) starts, as when the pool fills up.
      pool.tell(new Pool.SetLimit(limit, acceptBelow(limit, live)));
    } else if (writeback != null) {
      writeback.tell(new WritebackWorker.SetPolicy(live.writeback().idleAfter(), live.writeback().reclaimTimeout()));
    }
    getContext().getLog().info("{} = {} (live): pool limit {} B, accept below {} B, writeback idle-after {}, "
        + "reclaim-timeout {}", change.key(), change.value(), limit, acceptBelow(limit, live),
        live.writeback().idleAfter().map(LiveSetting::duration).orElse("off"),
        LiveSetting.duration(live.writeback().reclaimTimeout()));
    m.replyTo().tell(new SettingChanged(change, live, limit, acceptBelow(limit, live)));
    return this;
  }

  private Behavior<Command> onEngine(Engine m) {
    EngineCommand.Control c = m.command();
    if (c instanceof EngineCommand.GetStats s) {
      gatherStats(s.replyTo());
    } else if (c instanceof EngineCommand.Writeback w) {
      if (writeback == null || shutDown) {
        w.replyTo().tell(WritebackResult.NONE);
      } else {
        writeback.tell(new WritebackWorker.Writeback(w.mode(), w.replyTo()));
      }
    } else if (c instanceof EngineCommand.Compact k) {
      pool.tell(new Pool.Compact(k.replyTo()));
    } else if (c instanceof EngineCommand.Migrate mig) {
      if (shutDown) {
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
    List<String> order = new ArrayList<>(exports.keySet());
    order.addAll(namespaceExports.keySet());
    List<ActorRef<SwapType.Command>> all = allSwapTypes();
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

  /**
   * How long each step of shutdown waits for its answers before it goes on without them (and
   * says so): the steps together stay well inside the daemon's 30 s shutdown phase.
   */
  private static final Duration SHUTDOWN_STEP_TIMEOUT = Duration.ofSeconds(5);
  private long shutdownStartNanos;
  /** Shutdown steps that timed out and were passed over; reported, and the report is not clean. */
  private final List<String> shutdownSkipped = new ArrayList<>();

  private long shutdownMillis() {
    return (System.nanoTime() - shutdownStartNanos) / 1_000_000;
  }

  private Behavior<Command> onShutdown(Shutdown m) {
    shutDown = true;
    shutdownStartNanos = System.nanoTime();
    ActorRef<Command> self = getContext().getSelf();
    List<ActorRef<SwapType.Command>> all = allSwapTypes();
    LOG.info("shutdown: closing {} export(s) and invalidating their pages", all.size());
    ActorRef<InvalidateReply> gather = Gather.spawn(getContext(), all.size(), 0, (acc, r) -> acc + 1,
        acc -> self.tell(new ExportsInvalidated(m.replyTo())), SHUTDOWN_STEP_TIMEOUT, acc -> {
          LOG.warn("shutdown: {} export(s) did not finish invalidating within {}; going on", all.size() - acc,
              SHUTDOWN_STEP_TIMEOUT);
          shutdownSkipped.add("invalidate exports");
          self.tell(new ExportsInvalidated(m.replyTo()));
        });
    for (ActorRef<SwapType.Command> e : all) {
      // Closed first: requests routed around the guardian are refused from now on, so none
      // lands after the invalidation.
      e.tell(new SwapType.Close());
      e.tell(SwapType.Pages.of(new EngineCommand.InvalidateArea("", gather)));
    }
    return this;
  }

  private Behavior<Command> onExportsInvalidated(ExportsInvalidated m) {
    // Shards sent their frees (to size classes and backing stores) before answering, so the
    // backing stores close and the pool drains behind them.
    LOG.info("shutdown: pages invalidated ({} ms); closing the backing files", shutdownMillis());
    ActorRef<Command> self = getContext().getSelf();
    List<ActorRef<SwapType.Command>> all = allSwapTypes();
    ActorRef<BackingStats> closed = Gather.spawn(getContext(), all.size(), 0L,
        (acc, b) -> acc + b.slotsInUse(), slots -> self.tell(new BackingClosed(slots, m.replyTo())),
        SHUTDOWN_STEP_TIMEOUT, slots -> {
          LOG.warn("shutdown: a backing store did not close within {}; going on", SHUTDOWN_STEP_TIMEOUT);
          shutdownSkipped.add("close backing files");
          self.tell(new BackingClosed(-1, m.replyTo()));
        });
    for (ActorRef<SwapType.Command> e : all) {
      e.tell(new SwapType.CloseBacking(closed));
    }
    return this;
  }

  private Behavior<Command> onBackingClosed(BackingClosed m) {
    // Destroy, 2019 seed: size classes stop accepting migrations and the queued ones are
    // finished or refused before any page is drained; only then can chunks go.
    LOG.info("shutdown: backing files closed ({} ms, {} slots left); stopping migration", shutdownMillis(),
        m.backingSlotsInUse());
    ActorRef<Command> self = getContext().getSelf();
    ActorRef<MigrationWorker.Stopped> stopped = Gather.spawn(getContext(), 1, 0L, (a, s) -> a,
        a -> self.tell(new MigrationsStopped(m.backingSlotsInUse(), m.replyTo())), SHUTDOWN_STEP_TIMEOUT,
        a -> {
          LOG.warn("shutdown: the migration worker did not stop within {}; draining anyway", SHUTDOWN_STEP_TIMEOUT);
          shutdownSkipped.add("stop migration");
          self.tell(new MigrationsStopped(m.backingSlotsInUse(), m.replyTo()));
        });
    migration.tell(new MigrationWorker.Stop(stopped));
    return this;
  }

  private Behavior<Command> onMigrationsStopped(MigrationsStopped m) {
    LOG.info("shutdown: migration stopped ({} ms); draining the pool", shutdownMillis());
    ActorRef<ShutdownReport> replyTo = m.replyTo();
    ActorRef<Pool.DrainReport> once = Gather.spawn(getContext(), 1, (Pool.DrainReport) null, (acc, d) -> d,
        d -> {
          ShutdownReport report = new ShutdownReport(d.handlesInUse(), d.arena().pagesInUse(), d.arena().chunksHeld(),
              d.arena().chunksReleased(), m.backingSlotsInUse(), shutdownSkipped);
          LOG.info("shutdown: pool drained ({} ms): {}", shutdownMillis(), report.clean() ? "nothing left"
              : "left " + report);
          replyTo.tell(report);
        },
        SHUTDOWN_STEP_TIMEOUT, d -> {
          LOG.error("shutdown: the pool did not drain within {}", SHUTDOWN_STEP_TIMEOUT);
          List<String> skipped = new ArrayList<>(shutdownSkipped);
          skipped.add("drain the pool");
          replyTo.tell(new ShutdownReport(-1, -1, -1, -1, m.backingSlotsInUse(), skipped));
        });
    pool.tell(new Pool.Drain(once));
    return this;
  }

  /** Reset: every page of the export invalidated, the export kept; answered when migrations are idle. */
  private Behavior<Command> onResetExport(ResetExport m) {
    ActorRef<SwapType.Command> target = shutDown ? null : exports.get(m.name());
    if (target == null && !shutDown) {
      target = namespaceExports.get(m.name());
    }
    if (target == null) {
      m.replyTo().tell(new ExportReset(m.name(), false, 0, shutDown));
      return this;
    }
    ActorRef<Command> self = getContext().getSelf();
    ActorRef<InvalidateReply> invalidated = Gather.spawn(getContext(), 1, 0L,
        (acc, r) -> r instanceof InvalidateReply.Invalidated i ? i.pagesFreed() : acc,
        freed -> self.tell(new ResetPagesFreed(m, freed)), FAN_OUT_TIMEOUT,
        freed -> m.replyTo().tell(new ExportReset(m.name(), true, freed, false)));
    target.tell(SwapType.Pages.of(new EngineCommand.InvalidateArea(m.name(), invalidated)));
    return this;
  }

  /** Removal of one export: swapoff (every page invalidated), its backing file closed, then refused. */
  private Behavior<Command> onRemoveExport(RemoveExport m) {
    ActorRef<SwapType.Command> target = exports.remove(m.name());
    if (target != null) {
      routes = new Routes(routes.version() + 1, exports);
    }
    if (target == null) {
      target = namespaceExports.remove(m.name());
    }
    if (target == null) {
      m.replyTo().tell(new ExportRemoved(m.name(), false, 0, 0));
      return this;
    }
    ActorRef<SwapType.Command> swapType = target;
    ActorRef<Command> self = getContext().getSelf();
    ActorRef<InvalidateReply> invalidated = Gather.spawn(getContext(), 1, 0L,
        (acc, r) -> r instanceof InvalidateReply.Invalidated i ? i.pagesFreed() : acc,
        freed -> self.tell(new RemovedPagesFreed(m, swapType, freed)),
        FAN_OUT_TIMEOUT, freed -> m.replyTo().tell(new ExportRemoved(m.name(), true, freed, -1)));
    swapType.tell(new SwapType.Close()); // first, as at shutdown
    swapType.tell(SwapType.Pages.of(new EngineCommand.InvalidateArea(m.name(), invalidated)));
    if (writeback != null) {
      writeback.tell(new WritebackWorker.Forget(swapType));
    }
    return this;
  }
}
