package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.MessageGate;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A memory node that leaves while its front goes away does not wait for a pull nobody will ask
 * for. A leaving node's shards keep their pages on it as departures until each shard's next home
 * pulls them, and only the front can send the next home there (its next batch names the
 * departure, once it has noted it). So a departure whose front is gone is dropped at once
 * (HostedShards watches the front), and the leave goes on. Before, the node waited for its
 * departures until its hand-off phase timed out, 120 s after the leave began (found by
 * nbd-fuzz.sh with memory nodes: the front was stopped, then the memory nodes, and one of them
 * hung in its stop).
 *
 * <p>Replayed with a gate on the front's proxy of the shard: a page is stored, the node holding
 * the shard is told to leave (its coordinated shutdown, as on SIGTERM) and declares the
 * departure; the front's note of it is held, and the front is stopped. The node must be gone
 * well within the 120 s.
 */
class LeaveVsLostFrontTest {
  @Test
  void aNodeLeavingAsItsFrontGoesAwayDoesNotWaitForItsShardsToBeTaken(@TempDir Path dir) throws Exception {
    GatedActors frontActors = new GatedActors();
    try (InJvmNodes nodes = new InJvmNodes()) {
      nodes.memoryNode();
      nodes.memoryNode();
      Zswapd zswapd = nodes.front(dir, GatedBackingIo.inMemory(), frontActors);
      zswapd.store("swap0", 7, InJvmNodes.page(7)).toCompletableFuture().get(60, TimeUnit.SECONDS);
      ActorSystem<Void> holder = nodes.holder();
      MessageGate departing = frontActors.hold("the front's note of the shard's departure",
          GatedActors.actor(EngineActor.treeShard("swap0", 0)),
          m -> m.toString().startsWith("Answered[answer=Departing["));

      CompletableFuture<Done> left = CoordinatedShutdown.get(Adapter.toClassic(holder))
          .runAll(CoordinatedShutdown.jvmExitReason()).toCompletableFuture();
      departing.awaitArrival(0); // the departure is declared; the front cannot note it
      nodes.stopFront();

      // the hand-off phase would hold the node 120 s
      assertThat(left).as("the leave of the node whose shard's front went away").succeedsWithin(Duration.ofSeconds(60));
      assertThat(holder.getWhenTerminated().toCompletableFuture()).succeedsWithin(Duration.ofSeconds(30));
    }
  }
}
