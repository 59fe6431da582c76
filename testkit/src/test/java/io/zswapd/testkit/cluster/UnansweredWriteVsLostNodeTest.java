package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.MessageGate;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes that a memory node took but never answered are carried out by the shard's next node
 * when that node is lost, in their order, not failed: the front still holds the requests
 * (RemoteShard: the items of earlier batches still waiting are admitted again, in their order,
 * ahead of the queue), and it finds the next node by itself when nothing else is sent (its
 * watch probes a shard whose accepted items have heard nothing for a while).
 *
 * <p>Replayed with a gate on the memory nodes' hosted tree shard, each test on a cluster of its
 * own: page 7 is stored (the shard starts on one of the two memory nodes), then the gate closes
 * and page 9 is written; the node accepts the write and its tree shard holds it, so no reply
 * ever comes. The node is lost (stopped as by SIGKILL, then downed) and the gate opens.
 */
class UnansweredWriteVsLostNodeTest {
  /** A cluster whose shard's first node has accepted a write of page 9 it will never answer. */
  private record Held(InJvmNodes nodes, MessageGate hosted, ActorSystem<Void> holder, int arrived,
      long accepted, CompletableFuture<Void> write) implements AutoCloseable {
    Zswapd zswapd() {
      return nodes.zswapd();
    }

    @Override
    public void close() {
      nodes.close();
    }
  }

  private static Held writeHeldByTheShardsNode(Path dir, byte[] seven, byte[] nine) throws Exception {
    GatedActors actors = new GatedActors();
    InJvmNodes nodes = InJvmNodes.twoMemoryNodesAndFront(dir, GatedBackingIo.inMemory(), actors);
    try {
      MessageGate hosted = actors.watch("the hosted tree shard's Pages",
          GatedActors.actor(EngineActor.treeShard("swap0", 0)), TreeShard.Pages.class);
      nodes.zswapd().store("swap0", 7, seven).toCompletableFuture().get(60, TimeUnit.SECONDS);
      ActorSystem<Void> holder = nodes.holder();
      int before = hosted.arrived();
      long acceptedBefore = nodes.acceptedBatches();

      hosted.close();
      CompletableFuture<Void> write = nodes.zswapd().store("swap0", 9, nine).toCompletableFuture();
      hosted.awaitArrival(before); // accepted by the holder, held at its tree shard: never answered
      return new Held(nodes, hosted, holder, before, acceptedBefore, write);
    } catch (Exception | Error e) {
      nodes.close();
      throw e;
    }
  }

  @Test
  void writesTheLostNodeTookButNeverAnsweredAreCarriedOutByTheNextInOrder(@TempDir Path dir) throws Exception {
    byte[] seven = InJvmNodes.page(7);
    byte[] nine = InJvmNodes.page(9);
    byte[] nineAgain = InJvmNodes.page(90);
    try (Held held = writeHeldByTheShardsNode(dir, seven, nine)) {
      Zswapd zswapd = held.zswapd();
      CompletableFuture<Void> rewrite = zswapd.store("swap0", 9, nineAgain).toCompletableFuture();
      held.hosted().awaitArrival(held.arrived() + 1); // the next batch, accepted once the first was: held behind it
      // both acceptances have reached the front: both writes wait for their replies, none is in flight
      Awaitility.await().atMost(Duration.ofSeconds(60))
          .until(() -> held.nodes().acceptedBatches() >= held.accepted() + 2);
      assertThat(held.hosted().held()).as("both writes held at the holder's tree shard").isEqualTo(2);
      assertThat(held.write()).as("the first write waits for its reply").isNotDone();

      held.nodes().crash(held.holder()); // held or not, what the gate holds now dies with the node
      held.hosted().open(); // the shard's next node serves what reaches it

      // the load goes to the shard's next incarnation, which tells the front that the node is gone
      byte[] loadedSeven = zswapd.load("swap0", 7).toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertThat(held.write()).as("the first write the lost node took (admitted again, not failed with NODE_LOST)")
          .succeedsWithin(Duration.ofSeconds(60));
      assertThat(rewrite).as("the second write the lost node took").succeedsWithin(Duration.ofSeconds(60));
      byte[] loadedNine = zswapd.load("swap0", 9).toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertThat(Arrays.equals(loadedNine, nineAgain)).as("page 9 reads as last written (%s)",
          Arrays.equals(loadedNine, nine) ? "it has the first write's bytes: carried out out of order" : "other bytes")
          .isTrue();
      assertThat(Arrays.equals(loadedSeven, seven)).as("page 7 from its copy").isTrue();
      assertThat(InJvmNodes.objects(held.nodes().other(held.holder()))).as("pages on the shard's next node")
          .isGreaterThanOrEqualTo(1);
    }
  }

  /**
   * With nothing sent after the write, the front must find the shard's next node by itself.
   * Before the watch it learned of the loss only from its next request, and a client whose every
   * request was waiting (fio at its iodepth) sent none: its writes failed with EIO at the 60 s
   * request timeout (MemoryNodesFioTest, twice on 2026-12-07).
   */
  @Test
  void aWriteTheLostNodeTookIsCarriedOutWithNoFurtherRequest(@TempDir Path dir) throws Exception {
    byte[] nine = InJvmNodes.page(9);
    try (Held held = writeHeldByTheShardsNode(dir, InJvmNodes.page(7), nine)) {
      Awaitility.await().atMost(Duration.ofSeconds(60))
          .until(() -> held.nodes().acceptedBatches() >= held.accepted() + 1);
      assertThat(held.write()).as("the write waits for its reply").isNotDone();

      held.nodes().crash(held.holder());
      held.hosted().open();

      // nothing else is sent: the write must complete before the request timeout (60 s) fails it
      assertThat(held.write()).as("the write the lost node took, with no request after it")
          .succeedsWithin(Duration.ofSeconds(45));
      byte[] loadedNine = held.zswapd().load("swap0", 9).toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertThat(Arrays.equals(loadedNine, nine)).as("page 9 reads as written").isTrue();
    }
  }
}
