package io.zswapd.testkit;

import io.zswapd.actors.support.EngineActor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * Messages of chosen kinds at chosen engine actors (made by {@link GatedActors#hold} or
 * {@link GatedActors#watch}): numbered from 0 in the order they reach their actors, held while
 * the gate is closed, delivered when the test releases them, in the order they were held.
 *
 * <pre>{@code
 * MessageGate migrates = actors.hold("a Migrate", GatedActors.role(SIZE_CLASS), SizeClass.Migrate.class);
 * CompletionStage<MigrationResult> pass = zswapd.migrate();
 * migrates.awaitArrival(0);              // the worker sent a Migrate; the size class has not seen it
 * CompletionStage<ShutdownReport> down = zswapd.shutdown();
 * migrates.open();                       // every held Migrate delivered, later ones pass
 * }</pre>
 */
public final class MessageGate {
  /** How long {@link #awaitArrival} waits: generous for a loaded machine, short of a hang. */
  public static final Duration ARRIVAL_TIMEOUT = Duration.ofSeconds(30);

  private record Held(int index, Runnable delivery) {}

  private final String what;
  private final Predicate<EngineActor> actors;
  private final Predicate<Object> messages;
  private final Map<Integer, CompletableFuture<GatedActors.Arrival>> arrivals = new HashMap<>();
  private final List<Held> held = new ArrayList<>();
  private int count;
  private boolean closed;

  MessageGate(String what, Predicate<EngineActor> actors, Predicate<Object> messages, boolean closed) {
    this.what = what;
    this.actors = actors;
    this.messages = messages;
    this.closed = closed;
  }

  boolean matches(EngineActor actor, Object message) {
    return actors.test(actor) && messages.test(message);
  }

  /**
   * On the actor's thread: records the message; holds it (true) when closed and
   * {@code delivery} is given (null: another gate holds it already).
   */
  synchronized boolean offer(GatedActors.Arrival arrival, Runnable delivery) {
    int index = count++;
    boolean hold = closed && delivery != null;
    if (hold) {
      held.add(new Held(index, delivery));
    }
    arrival(index).complete(arrival); // after holding it, so whoever awaited it can release it
    return hold;
  }

  /** Completes when message {@code index} has reached its actor (held or not). */
  public synchronized CompletableFuture<GatedActors.Arrival> arrival(int index) {
    return arrivals.computeIfAbsent(index, i -> new CompletableFuture<>());
  }

  /** Waits for message {@code index}, at most {@link #ARRIVAL_TIMEOUT}; fails naming the gate if none came. */
  public GatedActors.Arrival awaitArrival(int index) {
    try {
      return arrival(index).get(ARRIVAL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("no " + what + " #" + index + " reached its actor in " + ARRIVAL_TIMEOUT + " ("
          + arrived() + " arrived)", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Messages that reached their actors so far, held or not. */
  public synchronized int arrived() {
    return count;
  }

  /** Messages held now. */
  public synchronized int held() {
    return held.size();
  }

  /** Whether message {@code index} is held now. */
  public synchronized boolean isHeld(int index) {
    return held.stream().anyMatch(h -> h.index() == index);
  }

  /** Delivers held message {@code index}; throws IllegalStateException if it is not held. */
  public synchronized void release(int index) {
    for (int i = 0; i < held.size(); i++) {
      if (held.get(i).index() == index) {
        held.remove(i).delivery().run();
        return;
      }
    }
    throw new IllegalStateException(what + " #" + index + " is not held (" + count + " arrived, held: "
        + held.stream().map(Held::index).toList() + ")");
  }

  /** Delivers every held message in the order they arrived; the gate stays as it is. Returns how many. */
  public synchronized int releaseAll() {
    int n = held.size();
    held.forEach(h -> h.delivery().run());
    held.clear();
    return n;
  }

  /** Delivers every held message, in order, and lets later ones pass. */
  public synchronized void open() {
    closed = false;
    releaseAll();
  }

  /** Holds the messages that arrive from now on. */
  public synchronized void close() {
    closed = true;
  }

  @Override
  public String toString() {
    return "gate for " + what;
  }
}
