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
 * A write a memory node took but never answered is carried out by the shard's next node when
 * that node is lost, even when nothing else is ever sent to the shard: the front probes a shard
 * whose accepted items have heard nothing for a while (RemoteShard's watch). Without it the
 * front learned of the loss only from its next request, and a client whose every request was
 * waiting (fio at its iodepth) sent none: its writes failed with EIO at the 60 s request
 * timeout (MemoryNodesFioTest, twice on 2026-12-07).
 *
 * <p>Replayed with a gate on the memory nodes' hosted tree shard, as
 * {@link UnansweredWriteVsLostNodeTest}: page 7 is stored, the gate closes, page 9 is written
 * and accepted but held, the node holding the shard is lost (stopped as by SIGKILL, then
 * downed) and the gate opens. No other request follows: the write must complete well within
 * the request timeout, and page 9 read back as written.
 */
class WaitingWriteVsLostNodeTest {
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
  void aWriteTheLostNodeTookIsCarriedOutWithNoFurtherRequest() throws Exception {
    byte[] seven = InJvmNodes.page(7);
    byte[] nine = InJvmNodes.page(9);
    MessageGate hosted = actors.watch("the hosted tree shard's Pages",
        GatedActors.actor(EngineActor.treeShard("swap0", 0)), TreeShard.Pages.class);
    zswapd.store("swap0", 7, seven).toCompletableFuture().get(60, TimeUnit.SECONDS);
    ActorSystem<Void> holder = InJvmNodes.objects(first) > 0 ? first : second;
    int before = hosted.arrived();
    long acceptedBefore = acceptedBatches();

    hosted.close();
    CompletableFuture<Void> write = zswapd.store("swap0", 9, nine).toCompletableFuture();
    hosted.awaitArrival(before); // accepted by the holder, held at its tree shard: never answered
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> acceptedBatches() >= acceptedBefore + 1);
    assertThat(write).as("the write waits for its reply").isNotDone();

    nodes.crash(holder);
    hosted.open();

    // nothing else is sent: the front must find the shard's next node by itself, before the
    // request timeout (60 s) fails the write
    assertThat(write).as("the write the lost node took, with no request after it")
        .succeedsWithin(Duration.ofSeconds(45));
    byte[] loadedNine = zswapd.load("swap0", 9).toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertThat(Arrays.equals(loadedNine, nine)).as("page 9 reads as written").isTrue();
  }

  /** Batches of swap0's shard the front has seen accepted by a memory node. */
  private static long acceptedBatches() throws Exception {
    return zswapd.stats().toCompletableFuture().get(60, TimeUnit.SECONDS).export("swap0").orElseThrow()
        .remoteShards().stream().mapToLong(RemoteShardFigures::batches).sum();
  }
}
