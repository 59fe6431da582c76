package io.zswapd.bridge.nbd;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.stream.stage.AsyncCallback;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one owner of what an NBD server's connections hold together: how many are served
 * ({@code nbd.max-connections}), how many flows are still open (shutdown waits for them), and
 * the heap their requests and replies may take ({@code nbd.buffer-memory}).
 *
 * <p><b>Admission.</b> A connection stage asks once, before it sends the greeting; past the
 * limit it is refused and closes at once. Refusals are logged at most once per
 * {@link #LOG_INTERVAL}, with how many there were.
 *
 * <p><b>Buffer memory.</b> A stage does not ask per request: it asks for credit (at least
 * {@code ConnectionContext.creditChunk()}) when what it holds runs short, spends it on requests
 * and replies as they come, and gives back what it holds beyond one chunk once its requests
 * are answered, and everything when it ends. So a connection doing 4 KiB requests sends no
 * message here at all in steady state. Requests for credit are granted in arrival order; one
 * that does not fit waits, and so do those behind it, so a large request is never starved by
 * small ones. The stage stops reading while it waits.
 *
 * <p>A grant or an admission may reach a stage that has just stopped (its client went away):
 * each is delivered with {@code invokeWithFeedback}, and one the stage did not take is undone
 * here, so neither credit nor a connection slot leaks.
 */
final class Connections extends AbstractBehavior<Connections.Command> {
  private static final Logger LOG = LoggerFactory.getLogger(Connections.class);
  static final Duration LOG_INTERVAL = Duration.ofSeconds(10);

  sealed interface Command {}

  /** A connection's flow was materialized (an accepted socket); open until {@link Closed}. */
  record Opened() implements Command {}

  /** A flow ended, socket closed. */
  record Closed() implements Command {}

  /** A connection stage asks to be served; answered true while fewer than the limit are served. */
  record Admit(String peer, AsyncCallback<Boolean> answer) implements Command {}

  /** An admitted connection ended, giving back {@code bytes} of credit and what it still held. */
  record Left(long bytes) implements Command {}

  /** A connection asks for {@code bytes} more credit; granted whole, in arrival order. */
  record Acquire(long bytes, AsyncCallback<Long> grant) implements Command {}

  /** Credit a connection no longer needs. */
  record Release(long bytes) implements Command {}

  /** Answered with 0 once no flow is open. */
  record AwaitIdle(ActorRef<Integer> replyTo) implements Command {}

  record GetOpen(ActorRef<Integer> replyTo) implements Command {}

  /** The state of the budget, for tests and stats. */
  record GetBudget(ActorRef<ConnectionBudget> replyTo) implements Command {}

  private record Undo(boolean admission, long bytes) implements Command {}

  private record Waiter(long bytes, AsyncCallback<Long> grant) {}

  static Behavior<Command> create(int maxConnections, long bufferBytes, NbdMetrics metrics) {
    return Behaviors.setup(ctx -> new Connections(ctx, maxConnections, bufferBytes, metrics));
  }

  private final int maxConnections;
  private final long bufferBytes;
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  private final List<ActorRef<Integer>> idleWaiters = new ArrayList<>();
  private int flows;
  private int admitted;
  private long available;
  private long refusedSinceLog;
  private long lastRefusalLogNanos;
  private boolean loggedOnce;

  private final NbdMetrics metrics;

  private Connections(ActorContext<Command> ctx, int maxConnections, long bufferBytes, NbdMetrics metrics) {
    super(ctx);
    this.metrics = metrics;
    this.maxConnections = maxConnections;
    this.bufferBytes = bufferBytes;
    this.available = bufferBytes;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Opened.class, m -> {
          flows++;
          return this;
        })
        .onMessage(Closed.class, m -> {
          flows--;
          if (flows == 0) {
            idleWaiters.forEach(w -> w.tell(0));
            idleWaiters.clear();
          }
          return this;
        })
        .onMessage(Admit.class, this::onAdmit)
        .onMessage(Left.class, m -> {
          admitted--;
          giveBack(m.bytes());
          return this;
        })
        .onMessage(Acquire.class, m -> {
          waiters.add(new Waiter(m.bytes(), m.grant()));
          grant();
          metrics.bufferInUse(bufferBytes - available);
          return this;
        })
        .onMessage(Release.class, m -> {
          giveBack(m.bytes());
          return this;
        })
        .onMessage(Undo.class, m -> {
          if (m.admission()) {
            admitted--;
          }
          giveBack(m.bytes());
          return this;
        })
        .onMessage(AwaitIdle.class, m -> {
          if (flows == 0) {
            m.replyTo().tell(0);
          } else {
            idleWaiters.add(m.replyTo());
          }
          return this;
        })
        .onMessage(GetOpen.class, m -> {
          m.replyTo().tell(flows);
          return this;
        })
        .onMessage(GetBudget.class, m -> {
          m.replyTo().tell(new ConnectionBudget(admitted, available, waiters.size()));
          return this;
        })
        .build();
  }

  private Behavior<Command> onAdmit(Admit m) {
    if (admitted >= maxConnections) {
      refused(m.peer());
      deliver(m.answer(), false, new Undo(false, 0));
      return this;
    }
    admitted++;
    deliver(m.answer(), true, new Undo(true, 0));
    return this;
  }

  private void refused(String peer) {
    metrics.refused();
    refusedSinceLog++;
    long now = System.nanoTime();
    if (!loggedOnce || now - lastRefusalLogNanos >= LOG_INTERVAL.toNanos()) {
      LOG.warn("nbd: refused {} connection(s) (the latest {}): {} are served, the limit zswapd.nbd.max-connections",
          refusedSinceLog, peer, maxConnections);
      refusedSinceLog = 0;
      lastRefusalLogNanos = now;
      loggedOnce = true;
    }
  }

  private void giveBack(long bytes) {
    available += bytes;
    if (available > bufferBytes) {
      LOG.error("nbd: buffer credit returned beyond buffer-memory ({} > {} bytes); capping", available, bufferBytes);
      available = bufferBytes;
    }
    grant();
    metrics.bufferInUse(bufferBytes - available);
  }

  /** Grants waiting requests in arrival order while the first one fits. */
  private void grant() {
    while (!waiters.isEmpty() && waiters.peek().bytes() <= available) {
      Waiter w = waiters.poll();
      available -= w.bytes();
      deliver(w.grant(), w.bytes(), new Undo(false, w.bytes()));
    }
  }

  /** Hands {@code value} to a stage; if the stage has stopped, {@code undo} comes back here. */
  private <T> void deliver(AsyncCallback<T> callback, T value, Undo undo) {
    ActorRef<Command> self = getContext().getSelf();
    CompletionStage<Done> taken = scala.jdk.javaapi.FutureConverters.asJava(callback.invokeWithFeedback(value));
    taken.whenComplete((done, failure) -> {
      if (failure != null && (undo.admission() || undo.bytes() > 0)) {
        self.tell(undo);
      }
    });
  }
}
