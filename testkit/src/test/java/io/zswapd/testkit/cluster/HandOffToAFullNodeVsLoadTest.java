package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.MessageGate;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A memory node leaves and hands its shard to a node whose pool cannot take every page: the
 * pages that do not fit are reported lost to the front, which serves them from its backing
 * file's copies. A load the front admitted while the page still counted as on the node, and
 * sends only after the hand-off, must not return what the new node answers for a page it does
 * not hold (zeros): it is served from the copy too. Found by {@code vm_cluster_swap.sh} with
 * 24 MiB memory nodes, where the kernel's swap-in read a page of zeros after a hand-off.
 *
 * <p>Replayed with a gate on the new node's hosted tree shard: 400 pages (1.6 MiB,
 * incompressible) are stored on a 64 MiB node, which then leaves (its coordinated shutdown, as on
 * SIGTERM); the 1 MiB node that takes the shard has its adoption's stores held while loads of a
 * page that will not fit and of one that will are made; then the gate opens.
 */
class HandOffToAFullNodeVsLoadTest {
  @Test
  void aLoadAdmittedBeforeTheHandOffOfAPageThatDidNotFitReadsItsCopy(@TempDir Path dir) throws Exception {
    GatedActors newHome = new GatedActors();
    try (InJvmNodes nodes = new InJvmNodes()) {
      ActorSystem<Void> leaver = nodes.memoryNode(SpawnHook.NONE, "64 MiB");
      nodes.memoryNode(newHome, "1 MiB");
      Zswapd zswapd = nodes.front(dir, GatedBackingIo.inMemory());
      for (int p = 0; p < 400; p++) {
        zswapd.store("swap0", p, InJvmNodes.page(p)).toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
      assertThat(nodes.holder()).as("the node holding the shard: the one with room").isSameAs(leaver);

      MessageGate adoption = newHome.hold("the new home's stores of the pages it takes",
          GatedActors.actor(EngineActor.treeShard("swap0", 0)), TreeShard.Pages.class);
      CompletableFuture<Done> left = CoordinatedShutdown.get(Adapter.toClassic(leaver))
          .runAll(CoordinatedShutdown.jvmExitReason()).toCompletableFuture();
      adoption.awaitArrival(0); // the new home has begun to take the pages; the front's batch waits for it
      CompletableFuture<byte[]> last = zswapd.load("swap0", 399).toCompletableFuture(); // will not fit
      CompletableFuture<byte[]> first = zswapd.load("swap0", 0).toCompletableFuture(); // will
      adoption.open();

      byte[] read = last.get(60, TimeUnit.SECONDS);
      assertThat(Arrays.equals(read, InJvmNodes.page(399))).as("page 399, which the new home could not take (%s)",
          Arrays.equals(read, new byte[4096]) ? "zeros: the new home's answer for a page it does not hold"
              : "other bytes").isTrue();
      assertThat(first.get(60, TimeUnit.SECONDS)).as("page 0, taken by the new home").isEqualTo(InJvmNodes.page(0));
      assertThat(zswapd.load("swap0", 399).toCompletableFuture().get(60, TimeUnit.SECONDS))
          .as("page 399 loaded after the hand-off").isEqualTo(InJvmNodes.page(399));
      assertThat(left).as("the leave").succeedsWithin(Duration.ofSeconds(60));
    }
  }
}
