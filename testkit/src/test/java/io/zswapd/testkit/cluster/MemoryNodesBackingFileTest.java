package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.daemon.Daemon;
import io.zswapd.testkit.metrics.MetricsDoc;
import io.zswapd.testkit.metrics.Scrape;
import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing acknowledged is lost when a memory node dies, given a backing file: the front keeps a
 * copy of every page written to a remote shard in its export's backing file. Two memory nodes
 * and a front; pages are written over NBD, one memory node is killed with SIGKILL, and every
 * page still reads back bit for bit: from the copies first, then from the survivor, to which
 * the lost shards' pages are moved from the file without anything being written again.
 *
 * <p>Set {@code -Dzswapd.test.seed=N} to replay the page contents of a failure.
 */
class MemoryNodesBackingFileTest {
  private static final int SHARDS = 4;

  @TempDir
  static Path dir;
  private static ClusterNodes cluster;
  private static Daemon second;

  @BeforeAll
  static void start() throws IOException {
    cluster = new ClusterNodes(dir, "MemoryNodesBackingFileTest");
    cluster.memoryNode("first");
    second = cluster.memoryNode("second");
    cluster.front("256 MiB", ", backing-file = \"" + dir.resolve("front/swap0.backing") + "\"");
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aKilledMemoryNodesPagesComeBackFromTheFrontsBackingFile() throws Exception {
    try (NbdClient nbd = cluster.connect()) {
      for (int shard = 0; shard < SHARDS; shard++) {
        cluster.writeShard(nbd, shard);
      }
      long onFirst = cluster.objects("first");
      assertThat(cluster.objects("second")).as("objects on the second memory node").isPositive();

      ProcessHandle.of(second.pid()).ifPresent(ProcessHandle::destroyForcibly);

      for (int shard = 0; shard < SHARDS; shard++) {
        assertThat(cluster.shardIntact(nbd, shard)).as("seed %d: shard %d after the kill", cluster.seed(), shard)
            .isTrue();
      }
      // the lost shards' pages move to the survivor from the file, without being written again
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
          .untilAsserted(() -> assertThat(cluster.objects("first")).as("objects on the survivor")
              .isGreaterThan(onFirst));
      for (int shard = 0; shard < SHARDS; shard++) {
        assertThat(cluster.shardIntact(nbd, shard)).as("seed %d: shard %d once moved", cluster.seed(), shard)
            .isTrue();
      }
      nbd.disconnect();
    }
    Map<String, String> swap0 = Map.of("export", "swap0");
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).untilAsserted(() -> {
      Scrape s = cluster.frontMetrics();
      long lost = s.longValue("zswapd_remote_pages_lost_total", swap0);
      assertThat(lost).as("pages lost with the node").isPositive();
      assertThat(s.longValue("zswapd_remote_pages_restored_total", swap0)).as("restored from the copies")
          .isPositive().isLessThanOrEqualTo(lost);
      assertThat(s.value("zswapd_remote_shards", Map.of("export", "swap0", "node", "")).orElse(0))
          .as("shards not placed").isZero();
      assertThat(s.longValue("zswapd_cluster_messages_bytes_total", Map.of("direction", "sent")))
          .as("page protocol bytes sent").isGreaterThan(SHARDS * ClusterNodes.PAGES_PER_SHARD * 100L);
      assertThat(s.sum("zswapd_remote_batch_latency_seconds_count", swap0)).isPositive();
      // every series METRICS.md lists for memory nodes is in a front's scrape
      Set<String> documented = MetricsDoc.documentedNames(MetricsDoc.clusterSection(MetricsDoc.text()));
      assertThat(documented).hasSize(9);
      assertThat(MetricsDoc.asDocumented(s.names(), documented)).containsAll(documented);
    });
  }
}
