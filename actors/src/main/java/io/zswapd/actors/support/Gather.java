package io.zswapd.actors.support;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import java.time.Duration;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * A short-lived actor that waits for {@code expected} replies, folds them, hands the result
 * to {@code done} and stops: the scatter-gather step of stats, range invalidation and
 * shutdown. It owns its accumulator, so nothing else needs to count replies.
 */
public final class Gather {
  private static final Object TIMEOUT = new Object();

  private Gather() {}

  /**
   * Spawns the gatherer as an anonymous child of {@code ctx} and returns the ref to reply to.
   *
   * @param expected  replies to wait for (0 completes at once)
   * @param initial   the accumulator before any reply
   * @param fold      adds one reply to the accumulator
   * @param done      receives the final accumulator
   * @param timeout   after this the partial result goes to {@code onTimeout} instead
   */
  public static <R, A> ActorRef<R> spawn(ActorContext<?> ctx, int expected, A initial, BiFunction<A, R, A> fold,
      Consumer<A> done, Duration timeout, Consumer<A> onTimeout) {
    return ctx.spawnAnonymous(of(expected, initial, fold, done, timeout, onTimeout), EngineDispatcher.SAME);
  }

  @SuppressWarnings("unchecked")
  public static <R, A> Behavior<R> of(int expected, A initial, BiFunction<A, R, A> fold, Consumer<A> done,
      Duration timeout, Consumer<A> onTimeout) {
    if (expected == 0) {
      return Behaviors.setup(ctx -> {
        done.accept(initial);
        return Behaviors.stopped();
      });
    }
    return Behaviors.withTimers(timers -> {
      timers.startSingleTimer((R) TIMEOUT, timeout);
      return collecting(expected, initial, fold, done, onTimeout);
    });
  }

  private static <R, A> Behavior<R> collecting(int remaining, A acc, BiFunction<A, R, A> fold, Consumer<A> done,
      Consumer<A> onTimeout) {
    return Behaviors.receive((ctx, msg) -> {
      if (msg == TIMEOUT) {
        onTimeout.accept(acc);
        return Behaviors.stopped();
      }
      A next = fold.apply(acc, msg);
      if (remaining == 1) {
        done.accept(next);
        return Behaviors.stopped();
      }
      return collecting(remaining - 1, next, fold, done, onTimeout);
    });
  }
}
