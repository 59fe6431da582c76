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
 * The zswap seed race of a writeback and an invalidate of the same page, across a node hop: the
 * front's copy of a page (its write-behind to the backing file, the front's writeback) is held
 * while the page is trimmed on its memory node and then written again; the old copy's write
 * completes late. It must be freed, not installed: when the memory node is then lost, the page
 * is served from its copy, and must read as last written, never as the bytes trimmed away.
 * Replayed with a gate on the front's backing-file writes, three nodes in one JVM.
 */
class CopyVsTrimTest {
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
  void aCopyWrittenLateForATrimmedPageNeverBecomesItsCopy() throws Exception {
    byte[] trimmed = InJvmNodes.page(1);
    byte[] last = InJvmNodes.page(2);
    byte[] other = InJvmNodes.page(3);
    zswapd.store("swap0", 8, other).toCompletableFuture().get(60, TimeUnit.SECONDS);
    Awaitility.await().until(() -> io.writeCalls() >= 1 && io.heldWrites() == 0); // page 8's copy is in the file

    io.holdWrites(true);
    zswapd.store("swap0", 7, trimmed).toCompletableFuture().get(60, TimeUnit.SECONDS);
    Awaitility.await().until(() -> io.heldWrites() == 1); // its copy's write is held
    assertThat(zswapd.invalidate("swap0", 7).toCompletableFuture().get(60, TimeUnit.SECONDS))
        .as("pages the memory node freed").isEqualTo(1);
    zswapd.store("swap0", 7, last).toCompletableFuture().get(60, TimeUnit.SECONDS);
    Awaitility.await().until(() -> io.heldWrites() == 2);
    io.holdWrites(false);
    io.releaseAllWrites(); // in call order: the trimmed page's late write first, then the last one

    ActorSystem<Void> holder = nodes.holder();
    nodes.crash(holder); // the shard starts again, empty: pages 7 and 8 are served from their copies

    byte[] seven = zswapd.load("swap0", 7).toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertThat(Arrays.equals(seven, last)).as("page 7 after its node was lost (%s)",
        Arrays.equals(seven, trimmed) ? "it has the trimmed bytes: the late copy was installed" : "other bytes")
        .isTrue();
    byte[] eight = zswapd.load("swap0", 8).toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertThat(Arrays.equals(eight, other)).as("page 8 from its copy").isTrue();
    ActorSystem<Void> survivor = nodes.other(holder);
    // both restored there
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> InJvmNodes.objects(survivor) >= 2);
    assertThat(Arrays.equals(zswapd.load("swap0", 7).toCompletableFuture().get(60, TimeUnit.SECONDS), last))
        .as("page 7 once restored").isTrue();
  }
}
