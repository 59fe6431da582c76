package io.zswapd.testkit;

import io.zswapd.actors.support.EngineActor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A failure injected into engine actors (made by {@link GatedActors#failOn}): while armed, each
 * message of the chosen kind at a chosen actor makes that actor throw
 * {@link GatedActors.InjectedFailure} instead of handling it, as a bug in its handler would.
 *
 * <pre>{@code
 * ActorFault lane = actors.failOn("size class actor 7 on an Alloc",
 *     GatedActors.actor(EngineActor.sizeClass(7)), m -> m instanceof SizeClass.Work);
 * ... store a page that lands there ...
 * lane.first().get(30, SECONDS);        // the lane threw
 * }</pre>
 */
public final class ActorFault {
  private final String what;
  private final Predicate<EngineActor> actors;
  private final Predicate<Object> messages;
  private final CompletableFuture<GatedActors.Arrival> first = new CompletableFuture<>();
  private final AtomicInteger failures = new AtomicInteger();
  private volatile boolean armed = true;

  ActorFault(String what, Predicate<EngineActor> actors, Predicate<Object> messages) {
    this.what = what;
    this.actors = actors;
    this.messages = messages;
  }

  boolean matches(EngineActor actor, Object message) {
    return armed && actors.test(actor) && messages.test(message);
  }

  /** On the actor's thread: counts the failure and makes the exception to throw. */
  GatedActors.InjectedFailure fail(GatedActors.Arrival arrival) {
    failures.incrementAndGet();
    first.complete(arrival);
    return new GatedActors.InjectedFailure("injected failure (" + what + "): " + arrival.actor() + " on "
        + arrival.message().getClass().getSimpleName());
  }

  /** Completes with the first message an actor threw on. */
  public CompletableFuture<GatedActors.Arrival> first() {
    return first;
  }

  /** How many messages were failed so far. */
  public int failures() {
    return failures.get();
  }

  /** No more failures from now on. */
  public void disarm() {
    armed = false;
  }
}
