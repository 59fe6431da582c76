package io.zswapd.testkit;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.BehaviorInterceptor;
import akka.actor.typed.TypedActorContext;
import akka.actor.typed.javadsl.Behaviors;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.support.SpawnHook;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * A {@link SpawnHook} for race and failure tests: between an engine actor's mailbox and its
 * behavior sits an Akka {@link BehaviorInterceptor} that can hold chosen messages until the test
 * releases them ({@link MessageGate}), record them as they pass ({@link #watch}), or make the
 * actor throw on one ({@link ActorFault}). Messages between two engine actors (a tree shard's
 * {@code ReadStored} to a size class, the migration worker's {@code Migrate}) can so be held
 * exactly where a race needs them.
 *
 * <pre>{@code
 * GatedActors actors = new GatedActors();
 * MessageGate reads = actors.hold("the victim's ReadStored",
 *     GatedActors.role(EngineActor.Role.SIZE_CLASS), SizeClass.ReadStored.class);
 * try (EngineFixture engine = EngineFixture.start(hocon, ZswapdSetup.of(actors))) {
 *   CompletionStage<WritebackResult> shrink = engine.zswapd().writeback(WritebackMode.ALL);
 *   reads.awaitArrival(0);        // picked, marked, its read held at the size class
 *   ...                           // invalidate the victim, store another page
 *   reads.open();                 // the read is served now, then everything after it
 * }
 * ActorFault f = actors.failOn("shard 3 of swap0 on a load",
 *     GatedActors.actor(EngineActor.treeShard("swap0", 3)), m -> m instanceof TreeShard.Pages);
 * }</pre>
 *
 * <p>Gates and faults may be added before or after the engine starts; each applies to the
 * messages that reach an actor from then on. A message is held by the first closed gate it
 * matches (other gates only record it); a fault comes before any gate. A released message
 * reaches the behavior as it would have, in the order the gate held it, but behind whatever
 * reached the actor's mailbox meanwhile; no gate or fault sees it again. Test code only: the
 * gates are shared between the test's thread and the actors' threads and use locks.
 */
public final class GatedActors implements SpawnHook {

  /** A message as it reached an engine actor, and the thread that actor ran on. */
  public record Arrival(EngineActor actor, Object message, String thread) {}

  /** What {@link ActorFault} throws in the actor. */
  public static final class InjectedFailure extends RuntimeException {
    InjectedFailure(String message) {
      super(message);
    }
  }

  /** A held message on its way back to its actor; unwrapped by the interceptor. */
  private record Released(Object message) {}

  private final List<MessageGate> gates = new CopyOnWriteArrayList<>();
  private final List<ActorFault> faults = new CopyOnWriteArrayList<>();
  private final List<EngineActor> spawned = new CopyOnWriteArrayList<>();

  /** Every actor wrapped so far, in spawn order. */
  public List<EngineActor> spawned() {
    return List.copyOf(spawned);
  }

  /** A closed gate: holds every message of the actors and kind named from now on. */
  public MessageGate hold(String what, Predicate<EngineActor> actors, Predicate<Object> messages) {
    MessageGate gate = new MessageGate(what, actors, messages, true);
    gates.add(gate);
    return gate;
  }

  /** As {@link #hold(String, Predicate, Predicate)}, for messages of class {@code message}. */
  public MessageGate hold(String what, Predicate<EngineActor> actors, Class<?> message) {
    return hold(what, actors, message::isInstance);
  }

  /** An open gate: records the messages named as they pass, holding none until {@link MessageGate#close()}. */
  public MessageGate watch(String what, Predicate<EngineActor> actors, Predicate<Object> messages) {
    MessageGate gate = new MessageGate(what, actors, messages, false);
    gates.add(gate);
    return gate;
  }

  /** As {@link #watch(String, Predicate, Predicate)}, for messages of class {@code message}. */
  public MessageGate watch(String what, Predicate<EngineActor> actors, Class<?> message) {
    return watch(what, actors, message::isInstance);
  }

  /** Makes the actors named throw {@link InjectedFailure} on every message named, until disarmed. */
  public ActorFault failOn(String what, Predicate<EngineActor> actors, Predicate<Object> messages) {
    ActorFault fault = new ActorFault(what, actors, messages);
    faults.add(fault);
    return fault;
  }

  /** Actors of one role. */
  public static Predicate<EngineActor> role(EngineActor.Role role) {
    return a -> a.role() == role;
  }

  /** Exactly one actor, for example {@code EngineActor.treeShard("swap0", 3)}. */
  public static Predicate<EngineActor> actor(EngineActor actor) {
    return actor::equals;
  }

  /** Messages whose class has this simple name: for the private messages an actor sends itself or adapts. */
  public static Predicate<Object> named(String simpleClassName) {
    return m -> m.getClass().getSimpleName().equals(simpleClassName);
  }

  @Override
  @SuppressWarnings({"unchecked", "rawtypes"})
  public <T> Behavior<T> wrap(EngineActor actor, Behavior<T> behavior) {
    spawned.add(actor);
    Behavior<Object> intercepted = Behaviors.intercept(() -> new Interceptor<T>(actor), behavior);
    return (Behavior) intercepted;
  }

  /** One actor's interceptor: applies the faults and gates to each message before its behavior sees it. */
  private final class Interceptor<T> extends BehaviorInterceptor<Object, T> {
    private final EngineActor actor;

    Interceptor(EngineActor actor) {
      super(Object.class);
      this.actor = actor;
    }

    @Override
    @SuppressWarnings("unchecked")
    public Behavior<T> aroundReceive(TypedActorContext<Object> ctx, Object msg, ReceiveTarget<T> target) {
      if (msg instanceof Released r) {
        return target.apply(ctx, (T) r.message());
      }
      Arrival arrival = new Arrival(actor, msg, Thread.currentThread().getName());
      for (ActorFault f : faults) {
        if (f.matches(actor, msg)) {
          throw f.fail(arrival);
        }
      }
      ActorRef<Object> self = ctx.asJava().getSelf();
      boolean held = false;
      for (MessageGate g : gates) {
        if (g.matches(actor, msg)) {
          held |= g.offer(arrival, held ? null : () -> self.tell(new Released(msg)));
        }
      }
      return held ? Behaviors.same() : target.apply(ctx, (T) msg);
    }
  }
}
