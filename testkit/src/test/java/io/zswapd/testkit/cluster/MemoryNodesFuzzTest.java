package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.daemon.Daemon;
import io.zswapd.testkit.fuzz.FuzzReport;
import io.zswapd.testkit.fuzz.FuzzSettings;
import io.zswapd.testkit.fuzz.NbdFuzzer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short run of the NBD fuzzer against an export placed on memory nodes, while one node is
 * killed and another leaves: what {@code testkit/bench/nbd-fuzz.sh --memory-nodes} does for
 * minutes, in CI. The fuzzer's four clients write, patch, trim and zero their regions (two
 * shards of the export, and the probe's in a third) over TCP, with the admin chaos on the front; 12 s
 * in, the second memory node is killed with SIGKILL (its shards start again on the first, and
 * their pages come back from the front's backing file) and a third joins; 28 s in, the first
 * leaves with SIGTERM (it hands its shards to the third). Every answer must be right and every
 * byte read back as written: nothing acknowledged is lost in either way of losing a node.
 *
 * <p>Runs of this kind found two faults the gated tests then replayed (a leave that waited for
 * a front that had gone, {@code LeaveVsLostFrontTest}; a patch that forgot its page's copy,
 * {@code PatchVsRestoreTest}). System properties: {@code zswapd.fuzz.seed}.
 */
class MemoryNodesFuzzTest {
  static final long SEED = Long.getLong("zswapd.fuzz.seed", 0x20_F022L);
  static final Duration DURATION = Duration.ofSeconds(45);
  static final Duration KILL_AT = Duration.ofSeconds(12);
  static final Duration LEAVE_AT = Duration.ofSeconds(28);
  /** Room for every client's region on one node, whatever the pages compress to. */
  static final String POOL = "zswapd.pool.max-size = 128 MiB";

  @TempDir
  Path dir;

  @Test
  void nothingAcknowledgedIsLostWhileNodesDieAndLeaveUnderFuzzing() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes(dir, "MemoryNodesFuzzTest")) {
      Daemon first = cluster.memoryNode("first", POOL); // the seed node: it must outlive the join below
      Daemon second = cluster.memoryNode("second", POOL);
      Daemon front = cluster.front("1 GiB", ", backing-file = \"" + dir.resolve("front/swap0.backing") + "\"");
      long start = System.nanoTime();
      ExecutorService chaosThread = Executors.newSingleThreadExecutor(task -> new Thread(task, "chaos"));
      try {
        Future<String> chaos = chaosThread.submit(() -> {
          sleepUntil(start, KILL_AT);
          ProcessHandle.of(second.pid()).ifPresent(ProcessHandle::destroyForcibly);
          second.awaitExit(Duration.ofSeconds(30));
          cluster.memoryNode("third", POOL);
          sleepUntil(start, LEAVE_AT);
          ClusterNodes.signal("TERM", first);
          return "second killed, third joined, first left with exit status "
              + first.awaitExit(Duration.ofSeconds(120));
        });

        FuzzReport r = NbdFuzzer.run(FuzzSettings.parse(List.of(
            "--seed", Long.toString(SEED), "--duration", DURATION.toSeconds() + "s", "--clients", "4",
            "--tcp", "127.0.0.1:" + cluster.nbdPort(), "--export", "swap0",
            "--region", "32MiB", "--max-request", "256KiB", "--depth", "32",
            "--reply-timeout", "60s", "--probe-every", "2s", "--probe-timeout", "45s",
            "--pid", Long.toString(front.pid()), "--heap-every", "15s",
            "--admin", dir.resolve("front/admin.sock").toString(), "--admin-every", "3s",
            "--pool-range", "16MiB:64MiB", "--writeback")),
            System.out);
        System.out.print(r.summary());
        String context = "seed " + SEED + "\n" + r.summary() + "\n--- the front's last lines\n"
            + front.outputTail(40);

        assertThat(r.failures()).as(context).isEmpty();
        assertThat(r.mismatches()).as(context).isZero();
        assertThat(front.isAlive()).as(context).isTrue();
        assertThat(r.probes()).as("the probe ran all along: %s", context).isGreaterThanOrEqualTo(5);
        for (String kind : List.of("READ", "WRITE", "TRIM", "WRITE_ZEROES", "admin:set", "READ (final)")) {
          assertThat(r.ops(kind)).as("operations of kind %s: %s", kind, context).isPositive();
        }
        String what = chaos.get(150, TimeUnit.SECONDS);
        assertThat(what).as("the leave").containsAnyOf("exit status 0", "exit status 143");
        // both ways of losing a node happened to shards that held pages
        assertThat(front.stderr()).as("the killed node's shards came back from the copies: %s", context)
            .anySatisfy(l -> assertThat(l).contains("are served from their copies in the backing file"));
        assertThat(front.stderr()).as("the leaver's shards were handed over: %s", context)
            .anySatisfy(l -> assertThat(l).contains("which takes its pages over"));
      } finally {
        chaosThread.shutdownNow(); // a chaos still sleeping is interrupted: nothing starts after the test
        chaosThread.awaitTermination(150, TimeUnit.SECONDS);
      }
    }
  }

  private static void sleepUntil(long start, Duration at) throws InterruptedException {
    long left = at.toNanos() - (System.nanoTime() - start);
    if (left > 0) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
  }
}
