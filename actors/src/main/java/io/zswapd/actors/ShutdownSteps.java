package io.zswapd.actors;

import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.ActorContext;
import io.zswapd.actors.migration.MigrationWorker;
import io.zswapd.actors.pool.Pool;
import io.zswapd.actors.support.Gather;
import io.zswapd.actors.tree.SwapType;
import io.zswapd.actors.writeback.BackingStats;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.ShutdownReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shutdown, one of the guardian's four jobs, in four steps, each answered to the guardian by a
 * message of its own that it hands back here: every export closed and its pages invalidated;
 * the backing files closed; migration stopped (the 2019 destroy seed: no migration may run
 * while chunks go); the pool drained, with a report of what was left. Each step waits at most
 * {@link #STEP_TIMEOUT} for its answers, then goes on without them and says so, in the log and
 * in the report (which is then not clean), so the steps together stay well inside the daemon's
 * 30 s shutdown phase.
 *
 * <p>Plain state of the guardian, touched only on its thread.
 */
final class ShutdownSteps {
  static final Duration STEP_TIMEOUT = Duration.ofSeconds(5);
  private static final Logger LOG = LoggerFactory.getLogger(ZswapGuardian.class);

  private final ActorContext<ZswapGuardian.Command> ctx;
  private final ExportTable table;
  private final ActorRef<Pool.Command> pool;
  private ActorRef<MigrationWorker.Command> migration;
  private boolean shutDown;
  private long startNanos;
  /** Steps that timed out and were passed over; reported, and the report is not clean. */
  private final List<String> skipped = new ArrayList<>();

  ShutdownSteps(ActorContext<ZswapGuardian.Command> ctx, ExportTable table, ActorRef<Pool.Command> pool) {
    this.ctx = ctx;
    this.table = table;
    this.pool = pool;
  }

  /** The migration worker, stopped in step 3 (made after the exports). */
  void migration(ActorRef<MigrationWorker.Command> migration) {
    this.migration = migration;
  }

  /** Whether shutdown has begun: from then on nothing new is started. */
  boolean shutDown() {
    return shutDown;
  }

  private long millis() {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  /** Step 1: every export closed, then all its pages invalidated. */
  void start(ZswapGuardian.Shutdown m) {
    shutDown = true;
    startNanos = System.nanoTime();
    ActorRef<ZswapGuardian.Command> self = ctx.getSelf();
    List<ActorRef<SwapType.Command>> all = table.all();
    LOG.info("shutdown: closing {} export(s) and invalidating their pages", all.size());
    ActorRef<InvalidateReply> gather = Gather.spawn(ctx, all.size(), 0, (acc, r) -> acc + 1,
        acc -> self.tell(new ZswapGuardian.ExportsInvalidated(m.replyTo())), STEP_TIMEOUT, acc -> {
          LOG.warn("shutdown: {} export(s) did not finish invalidating within {}; going on", all.size() - acc,
              STEP_TIMEOUT);
          skipped.add("invalidate exports");
          self.tell(new ZswapGuardian.ExportsInvalidated(m.replyTo()));
        });
    for (ActorRef<SwapType.Command> e : all) {
      // Closed first: requests that reach its shards later are refused, so none lands after the invalidation.
      e.tell(new SwapType.InvalidateAll(true, gather));
    }
  }

  /**
   * Step 2: the backing files closed. Shards sent their frees (to size classes and backing
   * stores) before answering step 1, so the backing stores close and the pool drains behind them.
   */
  void exportsInvalidated(ZswapGuardian.ExportsInvalidated m) {
    LOG.info("shutdown: pages invalidated ({} ms); closing the backing files", millis());
    ActorRef<ZswapGuardian.Command> self = ctx.getSelf();
    List<ActorRef<SwapType.Command>> all = table.all();
    ActorRef<BackingStats> closed = Gather.spawn(ctx, all.size(), 0L,
        (acc, b) -> acc + b.slotsInUse(), slots -> self.tell(new ZswapGuardian.BackingClosed(slots, m.replyTo())),
        STEP_TIMEOUT, slots -> {
          LOG.warn("shutdown: a backing store did not close within {}; going on", STEP_TIMEOUT);
          skipped.add("close backing files");
          self.tell(new ZswapGuardian.BackingClosed(-1, m.replyTo()));
        });
    for (ActorRef<SwapType.Command> e : all) {
      e.tell(new SwapType.CloseBacking(closed));
    }
  }

  /**
   * Step 3 (the 2019 destroy seed): size classes stop accepting migrations and the queued ones
   * are finished or refused before any page is drained; only then can chunks go.
   */
  void backingClosed(ZswapGuardian.BackingClosed m) {
    LOG.info("shutdown: backing files closed ({} ms, {} slots left); stopping migration", millis(),
        m.backingSlotsInUse());
    ActorRef<ZswapGuardian.Command> self = ctx.getSelf();
    ActorRef<MigrationWorker.Stopped> stopped = Gather.spawn(ctx, 1, 0L, (a, s) -> a,
        a -> self.tell(new ZswapGuardian.MigrationsStopped(m.backingSlotsInUse(), m.replyTo())), STEP_TIMEOUT,
        a -> {
          LOG.warn("shutdown: the migration worker did not stop within {}; draining anyway", STEP_TIMEOUT);
          skipped.add("stop migration");
          self.tell(new ZswapGuardian.MigrationsStopped(m.backingSlotsInUse(), m.replyTo()));
        });
    migration.tell(new MigrationWorker.Stop(stopped));
  }

  /** Step 4: the pool drained; the report says what was left. */
  void migrationsStopped(ZswapGuardian.MigrationsStopped m) {
    LOG.info("shutdown: migration stopped ({} ms); draining the pool", millis());
    ActorRef<ShutdownReport> replyTo = m.replyTo();
    ActorRef<Pool.DrainReport> once = Gather.spawn(ctx, 1, (Pool.DrainReport) null, (acc, d) -> d,
        d -> {
          ShutdownReport report = new ShutdownReport(d.handlesInUse(), d.arena().pagesInUse(), d.arena().chunksHeld(),
              d.arena().chunksReleased(), m.backingSlotsInUse(), skipped);
          LOG.info("shutdown: pool drained ({} ms): {}", millis(), report.clean() ? "nothing left"
              : "left " + report);
          replyTo.tell(report);
        },
        STEP_TIMEOUT, d -> {
          LOG.error("shutdown: the pool did not drain within {}", STEP_TIMEOUT);
          List<String> all = new ArrayList<>(skipped);
          all.add("drain the pool");
          replyTo.tell(new ShutdownReport(-1, -1, -1, -1, m.backingSlotsInUse(), all));
        });
    pool.tell(new Pool.Drain(once));
  }
}
