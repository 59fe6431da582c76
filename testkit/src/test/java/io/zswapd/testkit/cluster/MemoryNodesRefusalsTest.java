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
import java.util.Random;
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
