package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.testkit.GatedBackingIo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store that arrives while a lost shard's pages are being restored from the front's backing
 * file wins over the restore of its page's older copy. Replayed with a gate: the memory node
 * holding the shard is lost, a load finds the shard started again elsewhere (both pages become
 * lost, and their restores start), the front's reads of the copies are held, the page is written
 * again (with new bytes, to the shard's new memory node), and only then are the reads released.
 * The page must read back as last written, and the other page as it was.
 */
class RestoreVsStoreTest {
  @TempDir
  static Path dir;
  private static final GatedBackingIo io = GatedBackingIo.inMemory();
  private static InJvmNodes nodes;
  private static Zswapd zswapd;

  @BeforeAll
  static void start() {
    nodes = InJvmNodes.twoMemoryNodesAndFront(dir, io, SpawnHook.NONE);
    zswapd = nodes.zswapd();
  }

  @AfterAll
  static void stop() {
    if (nodes != null) {
      nodes.close();
    }
  }

  @Test
  void aStoreDuringTheRestoreWinsOverTheOlderCopy() throws Exception {
    byte[] old = InJvmNodes.page(1);
    byte[] other = InJvmNodes.page(2);
    byte[] fresh = InJvmNodes.page(3);
    zswapd.store("swap0", 7, old).toCompletableFuture().get(60, TimeUnit.SECONDS);
    zswapd.store("swap0", 8, other).toCompletableFuture().get(60, TimeUnit.SECONDS);
    Awaitility.await().until(() -> io.writeCalls() >= 2); // both copies are on their way to the file
    ActorSystem<Void> holder = nodes.holder();

    io.holdReads(true);
    nodes.crash(holder); // its shard starts again, empty, on the other node

    // a load meets the new incarnation: the front marks both pages lost, answers the load from
    // page 8's copy and starts both restores; the gate holds those three reads of the copies
    var loaded = zswapd.load("swap0", 8).toCompletableFuture();
    // (once the cluster has downed the lost node, a few seconds)
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> io.heldReads() >= 3);
    // now page 7 is written again, to the new node, while its older copy's restore is held
    zswapd.store("swap0", 7, fresh).toCompletableFuture().get(60, TimeUnit.SECONDS);

    io.holdReads(false);
    io.releaseAllReads();
    assertThat(Arrays.equals(loaded.get(60, TimeUnit.SECONDS), other)).as("page 8 from its copy while lost").isTrue();
    ActorSystem<Void> survivor = nodes.other(holder);
    // page 8's copy is restored there
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> InJvmNodes.objects(survivor) >= 2);

    byte[] seven = zswapd.load("swap0", 7).toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertThat(Arrays.equals(seven, fresh)).as("page 7 reads as written during the restore (%s)",
        Arrays.equals(seven, old) ? "it has its older copy's bytes" : "other bytes").isTrue();
    byte[] eight = zswapd.load("swap0", 8).toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertThat(Arrays.equals(eight, other)).as("page 8 restored from its copy").isTrue();
  }
}
