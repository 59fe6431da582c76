package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.daemon.Daemon;
import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A memory node that leaves gracefully (SIGTERM) hands its shards off without losing a page,
 * with no backing file to fall back on: each shard it held starts again on the other node,
 * which pulls the shard's pages, as compressed objects, from the leaving node before it serves
 * the shard; the leaving node stays in the cluster until they are all taken, then exits.
 * Every page reads back bit for bit, nothing is counted lost, and the shards take writes on
 * their new node.
 *
 * <p>Set {@code -Dzswapd.test.seed=N} to replay the page contents of a failure.
 */
class MemoryNodesLeaveTest {
  private static final int SHARDS = 4;

  @TempDir
  static Path dir;
  private static ClusterNodes cluster;
  private static Daemon second;
  private static Daemon front;

  @BeforeAll
  static void start() throws IOException {
    cluster = new ClusterNodes(dir, "MemoryNodesLeaveTest");
    cluster.memoryNode("first");
    second = cluster.memoryNode("second");
    front = cluster.front("256 MiB", "");
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aLeavingMemoryNodeHandsItsShardsToAnotherWithEveryPage() throws Exception {
    try (NbdClient nbd = cluster.connect()) {
      for (int shard = 0; shard < SHARDS; shard++) {
        cluster.writeShard(nbd, shard);
      }
      long onFirst = cluster.objects("first");
      long onSecond = cluster.objects("second");
      assertThat(onSecond).as("objects on the node that will leave").isPositive();

      ClusterNodes.signal("TERM", second);
      // once the hand-off has begun, every read goes to the shards' next home
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
          assertThat(second.stderr()).anySatisfy(l -> assertThat(l).contains("leaves this node")));
      for (int shard = 0; shard < SHARDS; shard++) {
        assertThat(cluster.shardIntact(nbd, shard)).as("seed %d: shard %d after the leave", cluster.seed(), shard)
            .isTrue();
      }
      assertThat(second.awaitExit(Duration.ofSeconds(120))).as("exit status of a node that left").isIn(0, 143);
      assertThat(cluster.objects("first")).as("objects on the node that stays: its own and the leaver's")
          .isEqualTo(onFirst + onSecond);
      for (int shard = 0; shard < SHARDS; shard++) {
        cluster.writeShard(nbd, shard); // the same pages again, over the ones handed over
        assertThat(cluster.shardIntact(nbd, shard)).as("seed %d: shard %d written again", cluster.seed(), shard)
            .isTrue();
      }
      assertThat(cluster.objects("first")).as("a page written again replaces its object")
          .isEqualTo(onFirst + onSecond);
      nbd.disconnect();
    }
    assertThat(second.stderr()).as("the leaver says its pages were taken")
        .anySatisfy(l -> assertThat(l).contains("every page handed to its new node"));
    assertThat(front.stderr()).as("the front says where each shard went")
        .anySatisfy(l -> assertThat(l).contains("which takes its pages over"))
        .noneSatisfy(l -> assertThat(l).contains("was started again on another memory node"));
    assertThat(cluster.frontMetrics().value("zswapd_remote_pages_lost_total", Map.of("export", "swap0"))
        .orElse(0)).as("pages lost").isZero();
  }
}
