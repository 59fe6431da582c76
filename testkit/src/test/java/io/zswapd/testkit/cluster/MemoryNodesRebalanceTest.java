package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.daemon.Daemon;
import io.zswapd.testkit.daemon.DaemonJar;
import io.zswapd.testkit.interop.ExternalTool;
import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shard moves, with its pages, off a memory node past its accept threshold once another node
 * has room. The only memory node (a 16 MiB pool, accepting below the default 90%) takes shards
 * until it holds more than 8 MiB, and a second node joins. Then {@code zswapd set
 * pool.accept-threshold 50%} on the first puts it past its threshold (its announced room follows
 * the live setting), and the coordinator's rebalance hands shards over to the second, one at a time,
 * pages and all. Every page reads back bit for bit, none is counted lost.
 *
 * <p>Set {@code -Dzswapd.test.seed=N} to replay the page contents of a failure.
 */
class MemoryNodesRebalanceTest {
  private static final long THRESHOLD = 8L << 20;

  @TempDir
  static Path dir;
  private static ClusterNodes cluster;
  private static Daemon front;

  @BeforeAll
  static void start() throws IOException {
    cluster = new ClusterNodes(dir, "MemoryNodesRebalanceTest");
    cluster.memoryNode("first", "zswapd.pool.max-size = 16 MiB");
    front = cluster.front("1 GiB", "");
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void shardsMoveWithTheirPagesOffANodePastItsThreshold() throws Exception {
    try (NbdClient nbd = cluster.connect()) {
      int shards = 0;
      while (cluster.figure("first", "pool.mem_used_total") <= THRESHOLD) {
        assertThat(shards).as("shards written before the node passed its threshold").isLessThan(12);
        cluster.writeShard(nbd, shards++);
      }
      long before = cluster.objects("first");

      cluster.memoryNode("second"); // the first is below its threshold: no shard needs to move
      ExternalTool.Result set = DaemonJar.run("set", "pool.accept-threshold", "50%", "--admin",
          dir.resolve("first/admin.sock").toString());
      assertThat(set.exitCode()).as(set.describe()).isZero();
      Awaitility.await().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
          assertThat(cluster.objects("second")).as("objects moved to the node that joined").isPositive());
      for (int shard = 0; shard < shards; shard++) {
        assertThat(cluster.shardIntact(nbd, shard)).as("seed %d: shard %d after the rebalance", cluster.seed(), shard)
            .isTrue();
      }
      assertThat(cluster.objects("first") + cluster.objects("second")).as("objects on both nodes: as many as before")
          .isEqualTo(before);
      nbd.disconnect();
    }
    assertThat(front.stderr()).anySatisfy(l -> assertThat(l).contains("which takes its pages over"));
    assertThat(cluster.frontMetrics().value("zswapd_remote_pages_lost_total", Map.of("export", "swap0"))
        .orElse(0)).as("pages lost").isZero();
  }
}
