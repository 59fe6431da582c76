package io.zswapd.actors.recompress;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import io.zswapd.actors.support.Gather;
import io.zswapd.actors.tree.RecompressSelection;
import io.zswapd.actors.tree.SwapType;
import io.zswapd.config.RecompressSettings;
import io.zswapd.protocol.engine.RecompressMode;
import io.zswapd.protocol.engine.RecompressResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Recompresses stored pages with their export's second codec: zram's {@code recompress}, on
 * demand and as a background policy ({@code pool.recompress}).
 *
 * <ul>
 *   <li><b>On demand</b> ({@link RecompressNow}): every export with a second codec, every shard
 *       at once, as fast as it goes (as zram's, which runs in the writer's context).</li>
 *   <li><b>In the background</b> ({@code idle-after}): every period a pass visits the exports,
 *       and in each its shards, one at a time, at most {@code max-rate} pages a second; each
 *       shard takes the pages nobody touched since its last visit (and raw ones with
 *       {@code huge}), then starts a new idle period. A period that ends while its pass still
 *       runs is skipped, so passes never pile up, and the background work uses one core at most.</li>
 * </ul>
 * The worker owns no page and no entry: the shards choose, mark and install (ShardRecompress).
 */
public final class RecompressWorker extends AbstractBehavior<RecompressWorker.Command> {

  public sealed interface Command {}

  /** Recompress what {@code mode} names in {@code exports} (those without a second codec answer at once). */
  public record RecompressNow(RecompressMode mode, int threshold, List<ActorRef<SwapType.Command>> exports,
      ActorRef<RecompressResult> replyTo) implements Command {}

  /** {@code pool.recompress} changed while running: the period restarts from now. */
  public record SetPolicy(RecompressSettings settings) implements Command {}

  private enum Tick implements Command { INSTANCE }

  /** The exports a pass visits, from the guardian. */
  public record Exports(List<ActorRef<SwapType.Command>> exports) implements Command {}

  private record PassPart(RecompressResult result) implements Command {}

  private static final Object PASS_TIMER = "pass";
  private static final Duration ON_DEMAND_TIMEOUT = Duration.ofHours(1);
  private static final Duration PART_TIMEOUT = Duration.ofHours(1);

  /**
   * @param exports asked for the current exports at the start of each pass (the guardian's
   *                routing table, read on its own thread)
   */
  public static Behavior<Command> create(RecompressSettings settings,
      Consumer<ActorRef<Exports>> exports) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      RecompressWorker worker = new RecompressWorker(ctx, timers, exports);
      worker.apply(settings);
      return worker;
    }));
  }

  private final TimerScheduler<Command> timers;
  private final Consumer<ActorRef<Exports>> exports;
  private final ActorRef<Exports> exportsAdapter;
  private RecompressSettings settings;
  /** The pass running: the exports still to visit; null when none runs. */
  private List<ActorRef<SwapType.Command>> pass;
  private RecompressResult passSum = RecompressResult.NONE;

  private RecompressWorker(ActorContext<Command> ctx, TimerScheduler<Command> timers,
      Consumer<ActorRef<Exports>> exports) {
    super(ctx);
    this.timers = timers;
    this.exports = exports;
    this.exportsAdapter = ctx.getSelf().narrow();
  }

  private void apply(RecompressSettings s) {
    settings = s;
    timers.cancel(PASS_TIMER);
    s.idleAfter().ifPresent(period -> timers.startTimerWithFixedDelay(PASS_TIMER, Tick.INSTANCE, period));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(RecompressNow.class, this::onNow)
        .onMessage(SetPolicy.class, m -> {
          apply(m.settings());
          return this;
        })
        .onMessage(Tick.class, m -> {
          if (pass == null) {
            pass = List.of(); // asked: a second tick before the answer starts nothing
            exports.accept(exportsAdapter);
          }
          return this;
        })
        .onMessage(Exports.class, m -> {
          pass = new ArrayList<>(m.exports());
          passSum = RecompressResult.NONE;
          return visitNext();
        })
        .onMessage(PassPart.class, m -> {
          passSum = passSum.plus(m.result());
          return visitNext();
        })
        .build();
  }

  private Behavior<Command> onNow(RecompressNow m) {
    RecompressSelection selection = RecompressSelection.onDemand(m.mode(), m.threshold(), settings.minSaving());
    if (m.exports().isEmpty()) {
      m.replyTo().tell(RecompressResult.NONE);
      return this;
    }
    ActorRef<RecompressResult> sum = Gather.spawn(getContext(), m.exports().size(), RecompressResult.NONE,
        RecompressResult::plus, m.replyTo()::tell, ON_DEMAND_TIMEOUT, m.replyTo()::tell);
    for (ActorRef<SwapType.Command> export : m.exports()) {
      export.tell(new SwapType.Recompress(selection, 0, sum));
    }
    return this;
  }

  /** The pass goes on with its next export, or ends. */
  private Behavior<Command> visitNext() {
    if (pass.isEmpty()) {
      if (passSum.recompressed() + passSum.kept() + passSum.failed() > 0) {
        getContext().getLog().debug("recompression pass: {}", passSum);
      }
      pass = null;
      return this;
    }
    ActorRef<SwapType.Command> export = pass.remove(0);
    RecompressSelection selection = RecompressSelection.pass(settings.huge(), settings.threshold(),
        settings.minSaving());
    ActorRef<Command> self = getContext().getSelf();
    // an export removed meanwhile never answers: the pass goes on without it after a while
    ActorRef<RecompressResult> part = Gather.spawn(getContext(), 1, RecompressResult.NONE, (a, r) -> r,
        r -> self.tell(new PassPart(r)), PART_TIMEOUT, r -> self.tell(new PassPart(r)));
    export.tell(new SwapType.Recompress(selection, settings.maxRate(), part));
    return this;
  }
}
