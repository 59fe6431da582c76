package io.zswapd.actors.embedded;

import akka.actor.typed.ActorRef;
import akka.actor.typed.RecipientRef;
import io.zswapd.actors.support.LocalRef;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import kamon.metric.Histogram;

/**
 * Ask an actor and get a plain {@link CompletableFuture}, completed on the replying thread.
 *
 * <p>Why not Akka's {@code AskPattern}, for the per-page requests of the embedded API and the
 * NBD bridge:
 * <ul>
 *   <li>its javadsl CompletionStage (Scala's {@code FutureConverters} wrapper) turns every
 *       {@code thenApply}/{@code thenCompose} into the {@code *Async} form on
 *       {@code ForkJoinPool.commonPool()}, which on a 2-core machine has parallelism 1, so
 *       CompletableFuture started a new thread per callback (about 150 us per request);</li>
 *   <li>every ask schedules its timeout on Akka's scheduler, and a cancelled timeout stays in
 *       the timer wheel until it would have fired: at 200,000 requests a second with a 60 s
 *       timeout that is 12 million dead timer entries, over half a gigabyte of heap.</li>
 * </ul>
 * Here the reply goes to a {@link ReplyRef} that completes the future directly, and the
 * timeout is the future's own ({@code orTimeout}), which is removed from the timer queue the
 * moment the reply arrives.
 */
final class Ask {
  private Ask() {}

  static <Req, Res> CompletableFuture<Res> ask(RecipientRef<Req> target, Function<ActorRef<Res>, Req> request,
      Duration timeout, akka.actor.typed.Scheduler ignored) {
    return ask(target, request, timeout, ignored, null);
  }

  /**
   * As {@link #ask(RecipientRef, Function, Duration, akka.actor.typed.Scheduler)}, recording in
   * {@code latency} (when not null) the nanoseconds from now to the reply: the reply ref carries
   * the start time, so timing a request allocates nothing more.
   */
  static <Req, Res> CompletableFuture<Res> ask(RecipientRef<Req> target, Function<ActorRef<Res>, Req> request,
      Duration timeout, akka.actor.typed.Scheduler ignored, Histogram latency) {
    ReplyRef<Res> reply = new ReplyRef<>(latency);
    target.tell(request.apply(reply));
    return reply.future.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionallyCompose(e -> CompletableFuture.failedFuture(e instanceof TimeoutException
            ? new TimeoutException("zswapd did not answer within " + timeout.toSeconds() + " s") : e));
  }

  /** A reply-to reference that completes a future ({@link LocalRef}). */
  static final class ReplyRef<T> extends LocalRef<T> {
    private static final long serialVersionUID = 1L;
    final transient CompletableFuture<T> future = new CompletableFuture<>();
    private final transient Histogram latency;
    private final long startNanos;

    ReplyRef(Histogram latency) {
      this.latency = latency;
      this.startNanos = latency == null ? 0 : System.nanoTime();
    }

    @Override
    protected void receive(T message) {
      if (latency != null && !future.isDone()) {
        latency.record(System.nanoTime() - startNanos);
      }
      future.complete(message);
    }
  }
}
