package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.testkit.GatedBackingIo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A patch (a write of part of a page) of a page whose memory node was lost is made on the
 * page's copy while the page is being restored, and stored on the shard's new node; requests
 * behind it wait for it, so nothing overtakes it. Before, such a patch was refused with EIO
 * until the restore happened to be done (found by nbd-fuzz.sh with --kill-node-every: an
 * unaligned NBD write answered EIO while a node was lost, though every page had its copy).
 *
 * <p>Replayed with a gate on the front's backing-file reads: pages 7 and 8 are stored and their
 * copies written, the node holding the shard is lost, and a load meets the shard's new
 * incarnation (the restores of both pages start, their copies' reads held). Page 7 is patched
 * and then loaded while the reads are held; they are released. The patch must succeed, and the
 * load behind it must see the patched page, not the copy.
 */
class PatchVsRestoreTest {
  @Test
  void aPatchOfALostPageIsMadeOnItsCopyAndWhatFollowsWaitsForIt(@TempDir Path dir) throws Exception {
    GatedBackingIo io = GatedBackingIo.inMemory();
    try (InJvmNodes nodes = InJvmNodes.twoMemoryNodesAndFront(dir, io, SpawnHook.NONE)) {
      Zswapd zswapd = nodes.zswapd();
      byte[] seven = InJvmNodes.page(7);
      byte[] eight = InJvmNodes.page(8);
      zswapd.store("swap0", 7, seven).toCompletableFuture().get(60, TimeUnit.SECONDS);
      zswapd.store("swap0", 8, eight).toCompletableFuture().get(60, TimeUnit.SECONDS);
      Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> io.writeCalls() >= 2 && io.heldWrites() == 0);
      ActorSystem<Void> holder = nodes.holder();

      io.holdReads(true);
      nodes.crash(holder); // the shard starts again, empty, on the other node
      // a load meets the new incarnation: both pages become lost, page 8's load is served from
      // its copy and both restores start; the gate holds those three reads
      CompletableFuture<byte[]> loadedEight = zswapd.load("swap0", 8).toCompletableFuture();
      Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> io.heldReads() >= 3);

      byte[] bytes = "patched while its page was being restored".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      CompletableFuture<Void> patch = zswapd.patch("swap0", 7, 100, bytes).toCompletableFuture();
      CompletableFuture<byte[]> loadedSeven = zswapd.load("swap0", 7).toCompletableFuture();
      io.holdReads(false);
      io.releaseAllReads();

      byte[] patched = seven.clone();
      System.arraycopy(bytes, 0, patched, 100, bytes.length);
      assertThat(patch).as("the patch of the lost page (not refused with NODE_LOST)")
          .succeedsWithin(Duration.ofSeconds(60));
      assertThat(Arrays.equals(loadedSeven.get(60, TimeUnit.SECONDS), patched)).as("the load sent after the patch (%s)",
          Arrays.equals(loadedSeven.get(), seven) ? "it has the copy's bytes: it overtook the patch" : "other bytes")
          .isTrue();
      assertThat(Arrays.equals(zswapd.load("swap0", 7).toCompletableFuture().get(60, TimeUnit.SECONDS), patched))
          .as("page 7 read again").isTrue();
      assertThat(Arrays.equals(loadedEight.get(60, TimeUnit.SECONDS), eight)).as("page 8 from its copy").isTrue();
      assertThat(Arrays.equals(zswapd.load("swap0", 8).toCompletableFuture().get(60, TimeUnit.SECONDS), eight))
          .as("page 8 read again").isTrue();
    }
  }
}
