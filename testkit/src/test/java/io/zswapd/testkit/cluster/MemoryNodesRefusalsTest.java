package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.testkit.daemon.Daemon;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.testkit.nbd.Reply;
import io.zswapd.actors.cluster.ClusterSerializer;
import java.io.IOException;
import java.time.Duration;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a front's clients get when the cluster cannot take their pages, answered at once with the
 * NBD error that says why, never after a timeout, and never losing what was acknowledged:
 * <ul>
 *   <li>every memory node's pool is full: the write is refused with ENOSPC, and the pages
 *       written before still read back;</li>
 *   <li>the same with a backing file: nothing is refused; the pages the pool refuses are kept in
 *       the file only, and read back from there, overwritten and trimmed;</li>
 *   <li>the front compresses with another codec than the memory nodes' pools: every op is
 *       refused with EINVAL, and the memory node says which codecs differ;</li>
 *   <li>a memory node of a release that speaks another page protocol version is refused when it
 *       joins: it stops, saying which versions differ, and takes no shard.</li>
 * </ul>
 */
class MemoryNodesRefusalsTest {
  @TempDir
  static Path dir;
  private static ClusterNodes cluster;
  private static Daemon memory;

  @BeforeAll
  static void start() throws IOException {
    cluster = new ClusterNodes(dir, "MemoryNodesRefusalsTest");
    memory = cluster.memoryNode("small", "zswapd.pool.max-size = 1 MiB");
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static byte[] randomPages(int pages, long seed) {
    byte[] data = new byte[pages * 4096];
    new Random(seed).nextBytes(data); // incompressible: each page takes 4 KiB of the pool
    return data;
  }

  @Test
  void aFullPoolRefusesWritesWithEnospcAndKeepsWhatItHolds() throws IOException {
    cluster.front("front-a", "swap0", "64 MiB", "", "");
    try (NbdClient nbd = cluster.connect()) {
      byte[] first = randomPages(16, 1);
      nbd.write(0, first);
      int refusedAt = -1;
      for (int i = 1; i < 128 && refusedAt < 0; i++) { // 2 MiB more than the pool holds
        Reply r = nbd.request(Nbd.CMD_WRITE, 0, i * 16L * 4096, 16 * 4096, randomPages(16, i + 1));
        if (r.error() != 0) {
          assertThat(r.error()).as("a write past the memory node's pool").isEqualTo(Nbd.ENOSPC);
          refusedAt = i;
        }
      }
      assertThat(refusedAt).as("a write was refused").isPositive();
      assertThat(nbd.read(0, first.length)).as("pages acknowledged before the pool filled").isEqualTo(first);
      nbd.disconnect();
    }
  }

  @Test
  void withABackingFileWritesPastTheFullPoolAreKeptInTheFile() throws Exception {
    cluster.front("front-c", "swap1", "64 MiB", ", backing-file = \"" + dir.resolve("front-c/swap1.backing") + "\"", "");
    byte[] data = randomPages(1024, 3); // 4 MiB: four times the memory node's pool
    try (NbdClient nbd = cluster.connect()) {
      for (int at = 0; at < data.length; at += 64 * 4096) {
        nbd.write(at, java.util.Arrays.copyOfRange(data, at, at + 64 * 4096));
      }
      assertThat(nbd.read(0, data.length)).as("4 MiB written through a 1 MiB memory node").isEqualTo(data);
      byte[] again = randomPages(64, 4);
      nbd.write(512 * 4096, again); // pages in the file only, and on the node, written over
      System.arraycopy(again, 0, data, 512 * 4096, again.length);
      nbd.write(100 * 4096, again);
      System.arraycopy(again, 0, data, 100 * 4096, again.length);
      nbd.trim(900 * 4096, 64 * 4096);
      java.util.Arrays.fill(data, 900 * 4096, 964 * 4096, (byte) 0);
      assertThat(nbd.read(0, data.length)).as("after overwrites and a trim").isEqualTo(data);
      nbd.trim(0, data.length); // the node's pool empties for the other tests
      nbd.disconnect();
    }
    // the endpoint lags the engine by up to two stats ticks (5 s each)
    Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
        assertThat(cluster.frontMetrics().longValue("zswapd_remote_pages_to_file_total", Map.of("export", "swap1")))
            .as("pages kept in the file only").isGreaterThanOrEqualTo(1024 - 256));
  }

  @Test
  void aFrontWithAnotherCodecIsRefusedWithEinvalAndTheNodeSaysWhy() throws IOException {
    // an export of the same name as the other front's: the entity ids name the front too
    cluster.front("front-b", "swap0", "64 MiB", "", "zswapd.pool.compressor = zstd");
    try (NbdClient nbd = cluster.connect()) {
      Reply r = nbd.request(Nbd.CMD_WRITE, 0, 0, 4096, randomPages(1, 9));
      assertThat(r.error()).as("a write whose image the memory node would misread").isEqualTo(Nbd.EINVAL);
      nbd.disconnect();
    }
    assertThat(memory.stderr()).anySatisfy(l -> assertThat(l)
        .contains("the front compresses with ZSTD and this memory node's pool with LZ4"));
  }

  @Test
  void aNodeSpeakingAnotherProtocolVersionIsRefusedWhenItJoins() throws IOException {
    Daemon other = cluster.memoryNodeStarting("other-release", "zswapd-cluster-protocol-version = 99");
    int status = other.awaitExit(Duration.ofSeconds(90));
    assertThat(status).as("exit status of a node the cluster refused").isEqualTo(70);
    assertThat(other.stderr()).as("it says why").anySatisfy(l -> assertThat(l)
        .contains("was refused by the cluster").contains("page protocol version 99"));
    assertThat(memory.stderr()).as("the seed node names both versions").anySatisfy(l -> assertThat(l)
        .contains("zswapd page protocol version 99 and this cluster version " + ClusterSerializer.VERSION));
  }
}
