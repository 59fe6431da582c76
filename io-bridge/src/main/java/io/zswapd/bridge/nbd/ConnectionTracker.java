package io.zswapd.bridge.nbd;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import java.util.ArrayList;
import java.util.List;

/**
 * Counts open NBD connections so shutdown can wait until every one has answered its
 * in-flight requests and closed. The count is this actor's alone.
 */
final class ConnectionTracker {
  sealed interface Command {}

  record Opened() implements Command {}

  record Closed() implements Command {}

  record AwaitIdle(ActorRef<Integer> replyTo) implements Command {}

  record GetOpen(ActorRef<Integer> replyTo) implements Command {}

  private ConnectionTracker() {}

  static Behavior<Command> create() {
    return tracking(0, new ArrayList<>());
  }

  private static Behavior<Command> tracking(int open, List<ActorRef<Integer>> waiting) {
    return Behaviors.receive(Command.class)
        .onMessage(Opened.class, m -> tracking(open + 1, waiting))
        .onMessage(Closed.class, m -> {
          if (open == 1) {
            waiting.forEach(w -> w.tell(0));
            return tracking(0, new ArrayList<>());
          }
          return tracking(open - 1, waiting);
        })
        .onMessage(AwaitIdle.class, m -> {
          if (open == 0) {
            m.replyTo().tell(0);
            return Behaviors.same();
          }
          List<ActorRef<Integer>> more = new ArrayList<>(waiting);
          more.add(m.replyTo());
          return tracking(open, more);
        })
        .onMessage(GetOpen.class, m -> {
          m.replyTo().tell(open);
          return Behaviors.same();
        })
        .build();
  }
}
