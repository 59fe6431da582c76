package io.zswapd.testkit.examples;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.overflow.OverflowKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * An actor that parks the state of idle sessions in the overflow store and takes it back when
 * a session resumes, talking to the namespace's actor ({@link OverflowStore#ref()}) with tell
 * and ask, without blocking: the README's "From an actor". {@code EmbeddingExampleTest} runs it.
 */
public final class ActorExample {
  private ActorExample() {}

  /** What the session keeper is told. */
  public interface Command {}

  /** Park this session's state off the heap. */
  public record Park(String session, String state) implements Command {}

  /** Answer the session's state (or "none") to {@code replyTo}. */
  public record Resume(String session, ActorRef<String> replyTo) implements Command {}

  private record Restored(ActorRef<String> replyTo, OverflowStore.GetResult result, Throwable failure)
      implements Command {}

  /** Keeps sessions; their idle state lives in {@code store}. */
  public static final class SessionKeeper extends AbstractBehavior<Command> {
    private final OverflowStore store;

    public static Behavior<Command> create(OverflowStore store) {
      return Behaviors.setup(ctx -> new SessionKeeper(ctx, store));
    }

    private SessionKeeper(ActorContext<Command> ctx, OverflowStore store) {
      super(ctx);
      this.store = store;
    }

    @Override
    public Receive<Command> createReceive() {
      return newReceiveBuilder()
          .onMessage(Park.class, m -> {
            // tell: the put is answered to nobody; a later Get of the key is applied after it
            store.ref().tell(new OverflowStore.Put(OverflowKey.of(m.session()),
                m.state().getBytes(StandardCharsets.UTF_8), getContext().getSystem().ignoreRef()));
            return this;
          })
          .onMessage(Resume.class, m -> {
            // ask: the answer comes back as a message to this actor
            getContext().ask(OverflowStore.GetResult.class, store.ref(), Duration.ofSeconds(10),
                r -> new OverflowStore.Get(OverflowKey.of(m.session()), r),
                (result, failure) -> new Restored(m.replyTo(), result, failure));
            return this;
          })
          .onMessage(Restored.class, m -> {
            if (m.result() instanceof OverflowStore.Found f) {
              m.replyTo().tell(new String((byte[]) f.value(), StandardCharsets.UTF_8));
            } else {
              m.replyTo().tell(m.failure() != null ? "failed: " + m.failure().getMessage() : "none");
            }
            return this;
          })
          .build();
    }
  }

  public static void main(String[] args) {
    System.out.println(run());
  }

  /** Parks a session, resumes it and a session never parked; returns what they answered. */
  public static String run() {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "actor-example");
    try {
      OverflowStore store = Zswapd.get(system).overflowStore("sessions").toCompletableFuture().join();
      ActorRef<Command> keeper = system.systemActorOf(SessionKeeper.create(store), "keeper",
          akka.actor.typed.Props.empty());
      keeper.tell(new Park("s-1", "cart: 3 books"));
      String parked = AskPattern.<Command, String>ask(keeper, r -> new Resume("s-1", r), Duration.ofSeconds(10),
          system.scheduler()).toCompletableFuture().join();
      String never = AskPattern.<Command, String>ask(keeper, r -> new Resume("s-2", r), Duration.ofSeconds(10),
          system.scheduler()).toCompletableFuture().join();
      return "s-1: " + parked + "; s-2: " + never;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
    }
  }
}
