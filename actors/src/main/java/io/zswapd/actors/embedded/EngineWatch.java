package io.zswapd.actors.embedded;

import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Terminated;
import akka.actor.typed.javadsl.Behaviors;
import io.zswapd.actors.ZswapGuardian;
import io.zswapd.actors.support.EngineDispatcher;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the engine's root actor. The guardian reports the failures of the actors below it
 * itself; this covers the guardian's own: if it stops while the actor system is not shutting
 * down, the engine has failed, and {@code failed} completes as for any other engine failure.
 */
final class EngineWatch {
  private static final Logger LOG = LoggerFactory.getLogger(EngineWatch.class);

  private EngineWatch() {}

  static void start(ActorSystem<?> system, ActorRef<ZswapGuardian.Command> guardian, CompletableFuture<String> failed) {
    system.systemActorOf(Behaviors.<Void>setup(ctx -> {
      ctx.watch(guardian);
      return Behaviors.receive(Void.class).onSignal(Terminated.class, t -> {
        if (CoordinatedShutdown.get(system).getShutdownReason().isEmpty() && !failed.isDone()) {
          String what = "the engine's root actor stopped";
          LOG.error("zswapd engine failed: {}. The engine serves nothing more: every request is answered "
              + "ENGINE_FAILED (NBD EIO); restart it (the daemon exits with status 70).", what);
          failed.complete(what);
        }
        return Behaviors.stopped();
      }).build();
    }), "zswapd-watch", EngineDispatcher.PROPS);
  }
}
