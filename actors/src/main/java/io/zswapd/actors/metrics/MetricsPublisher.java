package io.zswapd.actors.metrics;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.ZswapGuardian;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineStats;
import java.time.Duration;

/**
 * Every {@code metrics.tick-interval}, asks the engine for its stats and publishes them to
 * Kamon ({@link EngineMetrics}), then logs at most one warning line for limits hit and
 * backing I/O errors since the last tick ({@link LimitWarnings}).
 *
 * <p>This is how the engine's figures reach Kamon without touching a hot path: the tree
 * shards, size classes and arena keep their plain counters as they always did, and only this
 * actor, once a tick, turns a snapshot of them into gauge values and counter increments. One
 * stats request is in flight at a time, so snapshots are applied in order and counters only
 * move forward.
 */
public final class MetricsPublisher extends AbstractBehavior<MetricsPublisher.Command> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("io.zswapd.limits");

  public sealed interface Command {}

  private enum Tick implements Command { INSTANCE }

  private record Stats(EngineStats stats) implements Command {}

  private record StatsFailed(Throwable cause) implements Command {}

  private final ActorRef<ZswapGuardian.Command> guardian;
  private final Duration askTimeout;
  private final EngineMetrics metrics;
  private final LimitWarnings warnings = new LimitWarnings();
  private boolean asking;

  /**
   * @param engine     the {@code engine} tag of every instrument (the actor system's name)
   * @param compressor the {@code compressor} tag of compression figures
   */
  public static Behavior<Command> create(ActorRef<ZswapGuardian.Command> guardian, Duration tick, String engine,
      String compressor) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, tick);
      return new MetricsPublisher(ctx, guardian, tick, new EngineMetrics(engine, compressor));
    }));
  }

  private MetricsPublisher(ActorContext<Command> ctx, ActorRef<ZswapGuardian.Command> guardian, Duration tick,
      EngineMetrics metrics) {
    super(ctx);
    this.guardian = guardian;
    // a stats round may take a few ticks under load; past this it is given up and asked again
    this.askTimeout = tick.multipliedBy(10).compareTo(Duration.ofSeconds(30)) > 0 ? tick.multipliedBy(10)
        : Duration.ofSeconds(30);
    this.metrics = metrics;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Tick.class, t -> onTick())
        .onMessage(Stats.class, this::onStats)
        .onMessage(StatsFailed.class, f -> {
          asking = false;
          LOG.debug("engine stats for metrics failed: {}", f.cause().toString());
          return this;
        })
        .onSignal(PostStop.class, s -> {
          metrics.close();
          return this;
        })
        .build();
  }

  private Behavior<Command> onTick() {
    if (!asking) {
      asking = true;
      getContext().ask(EngineStats.class, guardian, askTimeout,
          replyTo -> new ZswapGuardian.Engine(new EngineCommand.GetStats(replyTo)),
          (stats, failure) -> stats != null ? new Stats(stats) : new StatsFailed(failure));
    }
    return this;
  }

  private Behavior<Command> onStats(Stats s) {
    asking = false;
    metrics.publish(s.stats());
    warnings.check(s.stats()).ifPresent(line -> LOG.warn("zswapd: {}", line));
    return this;
  }
}
