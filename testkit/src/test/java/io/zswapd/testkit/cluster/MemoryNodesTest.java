package io.zswapd.testkit.cluster;

import static io.zswapd.testkit.cluster.ClusterNodes.signal;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.admin.StatsLines;
import io.zswapd.testkit.daemon.Daemon;
import io.zswapd.testkit.metrics.Scrape;
import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tree shards on other JVMs, without a backing file: memory-node daemons and a front daemon,
 * processes on loopback forming an Akka cluster, and an export placed on the cluster
 * ({@code placement = cluster}).
 *
 * <ol>
 *   <li>Pages written over NBD to the front are stored, compressed, in the two memory nodes'
 *       pools (both take shards) and read back bit for bit. {@code zswapd stats --shards} has a
 *       row per shard (its node, pages, bytes, round trip and traffic) adding up to the export's
 *       figures, and the front's Prometheus series per memory node agree.
 *   <li>One memory node is killed with SIGKILL: the pages it held are answered EIO (never
 *       zeros, never another page's bytes), the pages on the other node read back intact, and
 *       once rewritten the lost pages live on the survivor.
 *   <li>A third memory node joins and takes the new shards (it has the most room).
 *   <li>It is then stopped (SIGSTOP) past the failure detector, a partition: the cluster downs
 *       it, its pages are answered EIO, and when it runs again (SIGCONT) it learns it was
 *       downed and exits with status 70, for its supervisor to start a fresh node.
 * </ol>
 *
 * <p>Set {@code -Dzswapd.test.seed=N} to replay the page contents of a failure.
 */
class MemoryNodesTest {
  /** Shards written before the third node joins; as many again after. */
  private static final int SHARDS = 4;

  @TempDir
  static Path dir;
  private static ClusterNodes cluster;
  private static Daemon second;
  private static Daemon front;

  @BeforeAll
  static void start() throws IOException {
    cluster = new ClusterNodes(dir, "MemoryNodesTest");
    cluster.memoryNode("first");
    second = cluster.memoryNode("second");
    front = cluster.front("512 MiB", "");
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /**
   * {@code stats --shards} has a row per shard with its node, pages, bytes and traffic, adding up
   * to the export's figures; Prometheus has the same per memory node.
   */
  private static void everyShardHasItsFigures() {
    Map<String, String> figures = StatsLines.parse(cluster.stats("front"));
    List<String[]> rows = cluster.stats("front", List.of("--shards")).stream().skip(1)
        .map(l -> l.trim().split("\\s+")).toList();
    Set<String> nodes = Set.of(cluster.address("first"), cluster.address("second"));
    assertThat(rows).as("one row per shard").extracting(r -> r[1]).containsExactly("0", "1", "2", "3");
    long pages = 0;
    long bytes = 0;
    Map<String, Long> pagesByNode = new HashMap<>();
    for (String[] r : rows) {
      long stored = Long.parseLong(r[3]);
      long compr = Long.parseLong(r[4]);
      long sent = Long.parseLong(r[7]);
      assertThat(r[0]).isEqualTo("swap0");
      assertThat(r[2]).as("shard %s's node", r[1]).isIn(nodes);
      assertThat(stored).as("shard %s's pages", r[1]).isEqualTo(ClusterNodes.PAGES_PER_SHARD);
      assertThat(Long.parseLong(r[5])).as("shard %s's batches", r[1]).isPositive();
      assertThat(Long.parseLong(r[6])).as("shard %s's mean round trip (us)", r[1]).isPositive();
      // every compressed byte went over once, with a few bytes of framing a page
      assertThat(sent).as("shard %s's bytes sent", r[1]).isGreaterThanOrEqualTo(compr)
          .isLessThan(compr + 64 * stored + (1 << 20));
      assertThat(Long.parseLong(r[8])).as("shard %s's bytes received (the reads' images)", r[1])
          .isGreaterThan(compr / 2);
      pages += stored;
      bytes += compr;
      pagesByNode.merge(r[2], stored, Long::sum);
    }
    assertThat(pages).isEqualTo(StatsLines.number(figures, "swap0.stored_pages"));
    assertThat(bytes).isEqualTo(StatsLines.number(figures, "swap0.compr_data_size"));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Scrape s = cluster.frontMetrics();
      for (String node : nodes) {
        Map<String, String> on = Map.of("export", "swap0", "node", node);
        assertThat(s.longValue("zswapd_remote_stored_pages", on)).as("pages on %s", node)
            .isEqualTo(pagesByNode.getOrDefault(node, 0L));
        assertThat(s.longValue("zswapd_remote_compr_data_size_bytes", on)).as("bytes on %s", node).isPositive();
        assertThat(s.longValue("zswapd_remote_batch_latency_seconds_count", on)).as("batches to %s", node)
            .isPositive();
        assertThat(s.sum("zswapd_remote_messages_bytes_total", Map.of("node", node, "direction", "sent")))
            .as("bytes sent to %s", node).isGreaterThan(s.longValue("zswapd_remote_compr_data_size_bytes", on));
        assertThat(s.sum("zswapd_remote_messages_bytes_total", Map.of("node", node, "direction", "received")))
            .as("bytes received from %s", node).isPositive();
      }
    });
  }

  @Test
  void pagesLiveOnMemoryNodesAndALostNodesPagesAreErrorsNeverZeros() throws IOException {
    try (NbdClient nbd = cluster.connect()) {
      // one shard after the other: each is placed knowing where the ones before it went
      for (int shard = 0; shard < SHARDS; shard++) {
        cluster.writeShard(nbd, shard);
      }
      for (int shard = 0; shard < SHARDS; shard++) {
        assertThat(cluster.shardIntact(nbd, shard)).as("shard %d before any node is lost", shard).isTrue();
      }
      long onFirst = cluster.objects("first");
      assertThat(onFirst).as("objects on the first memory node").isPositive();
      assertThat(cluster.objects("second")).as("objects on the second memory node (shards go to the roomier node)")
          .isPositive();
      assertThat(cluster.objects("front")).as("objects in the front's own pool").isZero();
      assertThat(cluster.figure("front", "swap0.remote_shards")).as("the front's stats count its remote shards")
          .isEqualTo(SHARDS);
      assertThat(cluster.stats("front")).as("and say where they live")
          .anySatisfy(l -> assertThat(l).contains("shards_on").contains("(127.0.0.1:"));
      everyShardHasItsFigures();

      ProcessHandle.of(second.pid()).ifPresent(ProcessHandle::destroyForcibly); // SIGKILL: no goodbye

      List<Integer> lost = new ArrayList<>();
      for (int shard = 0; shard < SHARDS; shard++) {
        if (!cluster.shardIntact(nbd, shard)) {
          lost.add(shard);
        }
      }
      // placement by room spreads four shards over two nodes 2/2 or 3/1: the second held some
      assertThat(lost).as("shards lost with the second node, the others on the first").isNotEmpty()
          .hasSizeLessThan(SHARDS);

      for (int shard : lost) {
        cluster.writeShard(nbd, shard);
      }
      for (int shard = 0; shard < SHARDS; shard++) {
        assertThat(cluster.shardIntact(nbd, shard)).as("shard %d after the lost ones were written again", shard)
            .isTrue();
      }
      long firstAfter = cluster.objects("first");
      assertThat(firstAfter).as("the survivor holds every shard now").isGreaterThan(onFirst);

      Daemon third = cluster.memoryNode("third");
      for (int shard = SHARDS; shard < 2 * SHARDS; shard++) {
        cluster.writeShard(nbd, shard);
      }
      assertThat(cluster.objects("third")).as("the node that joined took new shards").isPositive();
      assertThat(cluster.objects("first")).as("the fuller node took none").isEqualTo(firstAfter);

      signal("STOP", third); // a partition: alive, but silent past down-unreachable-after
      for (int shard = SHARDS; shard < 2 * SHARDS; shard++) {
        assertThat(cluster.shardIntact(nbd, shard)).as("shard %d on the stopped node", shard).isFalse();
      }
      for (int shard = 0; shard < SHARDS; shard++) {
        assertThat(cluster.shardIntact(nbd, shard)).as("shard %d on the first node", shard).isTrue();
      }
      signal("CONT", third);
      assertThat(third.awaitExit(Duration.ofSeconds(60))).as("exit status of a downed node").isEqualTo(70);
      assertThat(third.stderr()).anySatisfy(l -> assertThat(l).contains("was downed by the cluster"));
      nbd.disconnect();
    }
    assertThat(front.stderr()).as("the front says which shard was lost")
        .anySatisfy(l -> assertThat(l).contains("was started again on another memory node"));
  }
}
