package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.RemoteShardFigures;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.MessageGate;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes that a memory node took but never answered are carried out by the shard's next node
 * when that node is lost, in their order, not failed: the front still holds the requests
 * (RemoteShard: the items of earlier batches still waiting are admitted again, in their order,
 * ahead of the queue).
 *
 * <p>Replayed with a gate on the memory nodes' hosted tree shard: page 7 is stored (the shard
 * starts on one of the two memory nodes), then the gate closes and page 9 is written twice, in
 * two batches. The node accepts both and its tree shard holds both writes, so no reply ever
 * comes. The node is lost (stopped as by SIGKILL, then downed); a load of page 7 meets the shard
 * started again on the other node. Both writes of page 9 must complete, and page 9 read back as
 * last written; page 7, which died with the node, is served from its copy in the front's backing
 * file.
 */
class UnansweredWriteVsLostNodeTest {
  @TempDir
  static Path dir;
  private static final GatedActors actors = new GatedActors();
  private static InJvmNodes nodes;
  private static ActorSystem<Void> first;
  private static ActorSystem<Void> second;
  private static Zswapd zswapd;

  @BeforeAll
  static void start() {
    nodes = new InJvmNodes();
    first = nodes.memoryNode(actors);
    second = nodes.memoryNode(actors);
    zswapd = nodes.front(dir, GatedBackingIo.inMemory());
  }

  @AfterAll
  static void stop() {
    if (nodes != null) {
      nodes.close();
    }
  }

  @Test
  void writesTheLostNodeTookButNeverAnsweredAreCarriedOutByTheNextInOrder() throws Exception {
    byte[] seven = InJvmNodes.page(7);
    byte[] nine = InJvmNodes.page(9);
    byte[] nineAgain = InJvmNodes.page(90);
    MessageGate hosted = actors.watch("the hosted tree shard's Pages",
        GatedActors.actor(EngineActor.treeShard("swap0", 0)), TreeShard.Pages.class);
    zswapd.store("swap0", 7, seven).toCompletableFuture().get(60, TimeUnit.SECONDS);
    ActorSystem<Void> holder = InJvmNodes.objects(first) > 0 ? first : second;
    ActorSystem<Void> survivor = holder == first ? second : first;
    int before = hosted.arrived();
    long acceptedBefore = acceptedBatches();

    hosted.close();
    CompletableFuture<Void> write = zswapd.store("swap0", 9, nine).toCompletableFuture();
    hosted.awaitArrival(before); // accepted by the holder, held at its tree shard: never answered
    CompletableFuture<Void> rewrite = zswapd.store("swap0", 9, nineAgain).toCompletableFuture();
    hosted.awaitArrival(before + 1); // the next batch, accepted once the first was: held behind it
    // both acceptances have reached the front: both writes wait for their replies, none is in flight
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> acceptedBatches() >= acceptedBefore + 2);
    assertThat(hosted.held()).as("both writes held at the holder's tree shard").isEqualTo(2);
    assertThat(write).as("the first write waits for its reply").isNotDone();

    nodes.crash(holder); // held or not, what the gate holds now dies with the node
    hosted.open(); // the shard's next node serves what reaches it

    // the load goes to the shard's next incarnation, which tells the front that the node is gone
    byte[] loadedSeven = zswapd.load("swap0", 7).toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertThat(write).as("the first write the lost node took (admitted again, not failed with NODE_LOST)")
        .succeedsWithin(Duration.ofSeconds(60));
    assertThat(rewrite).as("the second write the lost node took").succeedsWithin(Duration.ofSeconds(60));
    byte[] loadedNine = zswapd.load("swap0", 9).toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertThat(Arrays.equals(loadedNine, nineAgain)).as("page 9 reads as last written (%s)",
        Arrays.equals(loadedNine, nine) ? "it has the first write's bytes: carried out out of order" : "other bytes")
        .isTrue();
    assertThat(Arrays.equals(loadedSeven, seven)).as("page 7 from its copy").isTrue();
    assertThat(InJvmNodes.objects(survivor)).as("pages on the shard's next node").isGreaterThanOrEqualTo(1);
  }

  /** Batches of swap0's shard the front has seen accepted by a memory node. */
  private static long acceptedBatches() throws Exception {
    return zswapd.stats().toCompletableFuture().get(60, TimeUnit.SECONDS).export("swap0").orElseThrow()
        .remoteShards().stream().mapToLong(RemoteShardFigures::batches).sum();
  }
}
