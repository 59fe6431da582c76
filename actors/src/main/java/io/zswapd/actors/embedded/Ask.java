package io.zswapd.actors.embedded;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.RecipientRef;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.support.EngineDispatcher;
import io.zswapd.actors.support.LocalRef;
import io.zswapd.protocol.engine.EngineError;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import kamon.metric.Histogram;

/**
 * Ask an actor and get a plain {@link CompletableFuture}, completed on the replying thread,
 * failed with a {@link TimeoutException} when no reply comes within the timeout.
 *
 * <p>Why not Akka's {@code AskPattern}, for the per-page requests of the embedded API (the NBD
 * bridge asks without futures, see {@link Zswapd#send}):
 * <ul>
 *   <li>its javadsl CompletionStage (Scala's {@code FutureConverters} wrapper) turns every
 *       {@code thenApply}/{@code thenCompose} into the {@code *Async} form on
 *       {@code ForkJoinPool.commonPool()}, which on a 2-core machine has parallelism 1, so
 *       CompletableFuture started a new thread per callback (about 150 us per request);</li>
 *   <li>every ask schedules its timeout on Akka's scheduler, and a cancelled timeout stays in
 *       the timer wheel until it would have fired: at 200,000 requests a second with a 60 s
 *       timeout that is 12 million dead timer entries, over half a gigabyte of heap.</li>
 * </ul>
 * Nor {@code CompletableFuture.orTimeout}: its timer is one JDK-wide scheduled executor, whose
 * queue every request locks twice (to schedule, and to cancel when the reply comes). With
 * requesting and replying threads contending for that lock, it cost single-page loads of
 * same-filled pages about 40% of their throughput.
 *
 * <p>Here the reply goes to a {@link ReplyRef} that completes the future directly, after turning
 * the reply into the caller's value (one future per request, no dependent stages). Timeouts are
 * swept: each request is put on a lock-free queue (one of a few, picked by the requesting thread),
 * and one actor, the only owner of the list of waiting requests, takes them off every
 * {@link #SWEEP} and fails those older than the timeout. A reply and a timeout race for the future
 * through one atomic exchange, so exactly one of them completes it, and a completed request drops its
 * future at once, so the queue never keeps a result alive. When the sweeper stops (the actor system
 * terminates) every request still waiting fails at once instead of at its timeout.
 *
 * <p>Where the future completes ({@link Completion}): completing it runs the caller's
 * callbacks, the next request of an actor's {@code pipeToSelf} or a stream's {@code mapAsync}
 * included, so a reply sent from an actor's thread completes its future from a task on the
 * engine's dispatcher. Completed on the tree shard's thread instead, a chain of single-page
 * stores compressed every next page on that one thread, inside the shard's turn: the shard,
 * busy with its callers' work, kept single-page stores to about one core.
 */
final class Ask {
  /** How often waiting requests are checked: the precision of a timeout. */
  static final Duration SWEEP = Duration.ofMillis(100);

  /**
   * Requests not yet seen by the sweeper, on one lock-free queue per stripe: a requesting thread
   * offers to the stripe its id picks, so threads that ask at once do not all contend for one
   * queue's tail (one CAS on a shared line per request, on every core, was a cost that grows
   * with the cores). The sweeper takes from every stripe.
   */
  private final Stripes started = new Stripes(Runtime.getRuntime().availableProcessors());
  /** Completed by the sweeper when it stops, before it fails what is left. */
  private final CompletableFuture<Void> sweeperStopped = new CompletableFuture<>();
  private final Duration timeout;
  /** The engine's dispatcher, where {@link Completion#TASK} futures complete. */
  private final Executor tasks;
  /** Completed once if the engine fails: from then on every request fails at once. */
  private final CompletableFuture<String> engineFailed;

  /** Where a request's future is completed, and so where the caller's callbacks run. */
  enum Completion {
    /** From a task on the engine's dispatcher: for replies sent from an actor's thread. */
    TASK,
    /** On the replying thread: for replies already sent from a task, not from an actor. */
    REPLYING_THREAD
  }

  Ask(ActorSystem<?> system, Duration timeout, String name) {
    this(system, timeout, name, new CompletableFuture<>());
  }

  /**
   * @param engineFailed completed (with what failed) if the engine fails: requests waiting then
   *                     fail at the next sweep (within {@link #SWEEP}), later ones at once; all
   *                     but {@link #control} requests, which the guardian still answers itself
   */
  Ask(ActorSystem<?> system, Duration timeout, String name, CompletableFuture<String> engineFailed) {
    this.engineFailed = engineFailed;
    this.timeout = timeout;
    this.tasks = system.dispatchers().lookup(EngineDispatcher.SELECTOR);
    long expiryTicks = Math.max(1, (timeout.toNanos() + SWEEP.toNanos() - 1) / SWEEP.toNanos());
    system.systemActorOf(Behaviors.<Sweep>setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Sweep.TICK, SWEEP);
      return new Sweeper(ctx, expiryTicks);
    })), name, EngineDispatcher.PROPS);
  }

  /**
   * Sends {@code request} (built around the reply-to) to {@code target}; the reply as it comes,
   * completed from a task ({@link Completion#TASK}).
   */
  <Req, Res> CompletableFuture<Res> ask(RecipientRef<Req> target, Function<ActorRef<Res>, Req> request) {
    return ask(target, request, null, Function.identity(), Completion.TASK);
  }

  /**
   * A request to the engine's guardian that it answers by itself even after an engine failure
   * (stats, shutdown, settings): it is sent and waited for as usual then, not failed at once.
   */
  <Req, Res> CompletableFuture<Res> control(RecipientRef<Req> guardian, Function<ActorRef<Res>, Req> request) {
    return ask(guardian::tell, request, null, Function.identity(), Completion.TASK, true);
  }

  /**
   * As {@link #ask(RecipientRef, Function)}, completed with {@code map} applied to the reply
   * (an exception it throws fails the future) where {@code completion} says, and recording in
   * {@code latency} (when not null) the nanoseconds from now to the reply.
   */
  <Req, Res, V> CompletableFuture<V> ask(RecipientRef<Req> target, Function<ActorRef<Res>, Req> request,
      Histogram latency, Function<Res, V> map, Completion completion) {
    return ask(target::tell, request, latency, map, completion, false);
  }

  /** As {@link #ask(RecipientRef, Function, Histogram, Function, Completion)}, the request handed to {@code send}. */
  <Req, Res, V> CompletableFuture<V> askVia(java.util.function.Consumer<Req> send,
      Function<ActorRef<Res>, Req> request, Histogram latency, Function<Res, V> map, Completion completion) {
    return ask(send, request, latency, map, completion, false);
  }

  private <Req, Res, V> CompletableFuture<V> ask(java.util.function.Consumer<Req> send,
      Function<ActorRef<Res>, Req> request, Histogram latency, Function<Res, V> map, Completion completion,
      boolean survivesFailure) {
    ReplyRef<Res, V> reply = new ReplyRef<>(latency, map, completion == Completion.TASK ? tasks : null,
        survivesFailure);
    CompletableFuture<V> future = reply.future;
    started.forThisThread().offer(reply);
    if (sweeperStopped.isDone()) {
      // The sweeper may have drained the queue before this request was on it.
      reply.fail(stopped());
    } else if (engineFailed.isDone() && !survivesFailure) {
      reply.fail(failed());
    } else {
      send.accept(request.apply(reply));
    }
    return future;
  }

  private TimeoutException timedOut() {
    long ms = timeout.toMillis();
    return new TimeoutException("zswapd did not answer within " + (ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms"));
  }

  private ZswapdException failed() {
    return new ZswapdException(EngineError.engineFailed(engineFailed.getNow("")));
  }

  private static IllegalStateException stopped() {
    return new IllegalStateException("zswapd is stopped: its actor system terminated");
  }

  private enum Sweep { TICK }

  /**
   * The one owner of the waiting list: each tick it takes the newly started requests off the
   * queue, drops the answered ones and fails those waiting {@code expiryTicks} ticks or more.
   */
  private final class Sweeper extends AbstractBehavior<Sweep> {
    private final long expiryTicks;
    private final List<ReplyRef<?, ?>> waiting = new ArrayList<>();
    private long ticks;

    Sweeper(ActorContext<Sweep> ctx, long expiryTicks) {
      super(ctx);
      this.expiryTicks = expiryTicks;
    }

    @Override
    public Receive<Sweep> createReceive() {
      return newReceiveBuilder()
          .onMessage(Sweep.class, tick -> sweep())
          .onSignal(PostStop.class, stop -> failAll())
          .build();
    }

    private Behavior<Sweep> sweep() {
      ticks++;
      for (ConcurrentLinkedQueue<ReplyRef<?, ?>> stripe : started.all) {
        for (ReplyRef<?, ?> r; (r = stripe.poll()) != null; ) {
          if (!r.answered()) {
            r.seenAtTick = ticks;
            waiting.add(r);
          }
        }
      }
      boolean failed = engineFailed.isDone();
      waiting.removeIf(r -> r.answered() || (failed && !r.survivesFailure && r.fail(failed()))
          || (ticks - r.seenAtTick >= expiryTicks && r.fail(timedOut())));
      return this;
    }

    private Behavior<Sweep> failAll() {
      sweeperStopped.complete(null);
      waiting.forEach(r -> r.fail(stopped()));
      for (ConcurrentLinkedQueue<ReplyRef<?, ?>> stripe : started.all) {
        for (ReplyRef<?, ?> r; (r = stripe.poll()) != null; ) {
          r.fail(stopped());
        }
      }
      return this;
    }
  }


  /**
   * A power of two of queues, at least one per core (at most 64); a thread offers to the one its
   * id picks.
   */
  private static final class Stripes {
    final ConcurrentLinkedQueue<ReplyRef<?, ?>>[] all;
    private final int mask;

    @SuppressWarnings("unchecked")
    Stripes(int cores) {
      int n = Integer.highestOneBit(Math.max(1, Math.min(64, cores)) * 2 - 1);
      all = new ConcurrentLinkedQueue[n];
      for (int i = 0; i < n; i++) {
        all[i] = new ConcurrentLinkedQueue<>();
      }
      mask = n - 1;
    }

    /** The calling thread's queue: thread ids are handed out in order, so neighbours differ. */
    ConcurrentLinkedQueue<ReplyRef<?, ?>> forThisThread() {
      return all[(int) Thread.currentThread().getId() & mask];
    }
  }

  /** A reply-to reference that completes a future ({@link LocalRef}). */
  static final class ReplyRef<T, V> extends LocalRef<T> {
    private static final long serialVersionUID = 1L;
    private static final VarHandle FUTURE;

    static {
      try {
        FUTURE = MethodHandles.lookup().findVarHandle(ReplyRef.class, "future", CompletableFuture.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    /** The caller's future until the reply or the timeout takes it (the atomic exchange). */
    private transient volatile CompletableFuture<V> future = new CompletableFuture<>();
    private final transient Histogram latency;
    private final transient Function<T, V> map;
    /** Where the future is completed; null: on the replying thread. */
    private final transient Executor completeOn;
    private final long startNanos;
    /** The sweeper's tick when it first saw this request; only the sweeper touches it. */
    private long seenAtTick;
    /** Asked of the guardian, which answers by itself after an engine failure. */
    private final transient boolean survivesFailure;

    ReplyRef(Histogram latency, Function<T, V> map, Executor completeOn, boolean survivesFailure) {
      this.survivesFailure = survivesFailure;
      this.latency = latency;
      this.map = map;
      this.completeOn = completeOn;
      this.startNanos = latency == null ? 0 : System.nanoTime();
    }

    boolean answered() {
      return future == null;
    }

    /** Fails the request unless it was answered; true either way (it needs no more watching). */
    @SuppressWarnings("unchecked")
    boolean fail(Throwable error) {
      CompletableFuture<V> f = (CompletableFuture<V>) FUTURE.getAndSet(this, null);
      if (f != null) {
        f.completeExceptionally(error);
      }
      return true;
    }

    @Override
    protected void receive(T message) {
      long answeredNanos = latency == null ? 0 : System.nanoTime();
      if (completeOn == null) {
        complete(message, answeredNanos);
        return;
      }
      try {
        completeOn.execute(() -> complete(message, answeredNanos));
      } catch (RejectedExecutionException e) {
        complete(message, answeredNanos); // the dispatcher is shutting down with the system
      }
    }

    /** Completes the future unless the timeout took it; the latency is to the engine's answer. */
    @SuppressWarnings("unchecked")
    private void complete(T message, long answeredNanos) {
      CompletableFuture<V> f = (CompletableFuture<V>) FUTURE.getAndSet(this, null);
      if (f == null) {
        return; // timed out (or a second reply)
      }
      if (latency != null) {
        latency.record(answeredNanos - startNanos);
      }
      V value;
      try {
        value = map.apply(message);
      } catch (RuntimeException e) {
        f.completeExceptionally(e);
        return;
      }
      f.complete(value);
    }
  }
}
