package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import io.zswapd.testkit.daemon.Daemon;
import io.zswapd.testkit.interop.ExternalTool;
import io.zswapd.testkit.interop.ToolOutput;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 20's run, with real fio: three memory-node daemons and a front whose export (with a
 * backing file) lives on them; fio writes random blocks through NBD and verifies them, and one
 * memory node is killed with SIGKILL in the middle of the writes. The run completes with zero
 * mismatches, a second fio run that only verifies finds every block too, and the dead node's
 * shards live elsewhere (their pages restored from the front's copies).
 */
class MemoryNodesFioTest {
  /** Four jobs of 32 MiB, each in a shard of its own. */
  private static final long BYTES = 4 * (32L << 20);
  private static final List<String> NODES = List.of("first", "second", "third");

  @TempDir
  static Path dir;
  private static ClusterNodes cluster;
  private static final List<Daemon> memory = new ArrayList<>();
  private static int nbdPort;
  private static Daemon front;

  @BeforeAll
  static void start() throws IOException {
    ExternalTool.require("fio");
    cluster = new ClusterNodes(dir, "MemoryNodesFioTest");
    for (String n : NODES) {
      memory.add(cluster.memoryNode(n));
    }
    front = cluster.front("256 MiB", ", backing-file = \"" + dir.resolve("front/swap0.backing") + "\"");
    nbdPort = cluster.nbdPort();
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static ExternalTool.Result fio(String... verifyMode) {
    List<String> argv = new ArrayList<>(List.of("fio", "--name=zswapd", "--ioengine=nbd",
        "--uri=nbd://127.0.0.1:" + nbdPort + "/swap0", "--rw=randwrite", "--bs=16k", "--size=32m",
        "--offset_increment=64m", "--numjobs=4", "--iodepth=8", "--verify=crc32c",
        "--buffer_compress_percentage=50", "--refill_buffers", "--group_reporting", "--output-format=json",
        "--verify_state_save=0"));
    argv.addAll(List.of(verifyMode));
    return ExternalTool.run(Duration.ofMinutes(4), argv.toArray(String[]::new));
  }

  private static double shardsOn(io.zswapd.testkit.metrics.Scrape scrape, String node) {
    return scrape.value("zswapd_remote_shards", Map.of("export", "swap0", "node", cluster.address(node))).orElse(0);
  }

  private static void assertVerified(ExternalTool.Result r) {
    if (r.exitCode() != 0) { // what the nodes logged about it: fio only sees EIO
      front.output().lines().filter(l -> l.contains("WARN") || l.contains("ERROR"))
          .limit(60).forEach(l -> System.out.println("front: " + l));
      for (int i = 0; i < NODES.size(); i++) { // a live node downed (a machine too loaded for 2 s) shows here
        String name = NODES.get(i);
        memory.get(i).output().lines().filter(l -> l.contains("WARN") || l.contains("ERROR"))
            .limit(20).forEach(l -> System.out.println(name + ": " + l));
      }
    }
    assertThat(r.exitCode()).as(r.describe()).isZero();
    List<? extends Config> jobs = ToolOutput.json(r.stdout()).getConfigList("jobs");
    assertThat(jobs).as(r.describe()).isNotEmpty()
        .allSatisfy(job -> assertThat(job.getInt("error")).as("fio job error").isZero());
    assertThat(jobs.stream().mapToLong(job -> job.getLong("read.io_bytes")).sum())
        .as("bytes read back and verified\n%s", r.describe()).isEqualTo(BYTES);
  }

  @Test
  void aMemoryNodeKilledDuringFiosWritesLosesNothing() {
    CompletableFuture<ExternalTool.Result> run = CompletableFuture.supplyAsync(() -> fio("--do_verify=1",
        "--rate_iops=250")); // about 8 s of writes: the kill lands among them
    // in the middle of the writes (a sixth of the pages sent, by the front's counter), the node
    // holding the most shards (by the front's gauge)
    Map<String, String> sent = Map.of("direction", "sent");
    Awaitility.await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> {
      var now = cluster.frontMetrics();
      return now.value("zswapd_cluster_messages_bytes_total", sent).orElse(0) > BYTES / 2 / 6
          && NODES.stream().mapToDouble(n -> shardsOn(now, n)).sum() == 4;
    });
    var scrape = cluster.frontMetrics();
    int victim = 0;
    double most = -1;
    for (int i = 0; i < NODES.size(); i++) {
      double shards = shardsOn(scrape, NODES.get(i));
      if (shards > most) {
        most = shards;
        victim = i;
      }
    }
    assertThat(run).as("fio still writing when the node is killed").isNotDone();
    ProcessHandle.of(memory.get(victim).pid()).ifPresent(ProcessHandle::destroyForcibly);

    assertVerified(run.join());
    assertVerified(fio("--verify_only"));
    Map<String, String> swap0 = Map.of("export", "swap0");
    Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      var after = cluster.frontMetrics();
      assertThat(after.longValue("zswapd_remote_pages_lost_total", swap0)).as("pages lost with the node")
          .isPositive();
      assertThat(after.longValue("zswapd_remote_pages_restored_total", swap0)).as("restored from the copies")
          .isPositive();
      assertThat(after.value("zswapd_remote_shards", Map.of("export", "swap0", "node", "")).orElse(0))
          .as("shards without a home").isZero();
    });
  }
}
