package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.fuzz.FuzzReport;
import io.zswapd.testkit.fuzz.FuzzSettings;
import io.zswapd.testkit.fuzz.NbdFuzzer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short run of the NBD fuzzer ({@link NbdFuzzer}) against a daemon of its own, as CI runs it:
 * four clients over TCP and the Unix socket, valid and invalid handshakes and requests, dropped
 * connections, a backing file with the pool limit changed, compaction and writeback through the
 * admin socket meanwhile, and the floods the daemon bounds today. The daemon must stay alive and
 * serve the probe, its RSS under a bound, every answer right and every byte read back as written.
 *
 * <p>{@code testkit/bench/nbd-fuzz.sh} runs the same fuzzer for as long as asked (the soak).
 * System properties: {@code zswapd.fuzz.seed}, {@code zswapd.fuzz.duration} (e.g. {@code 5m}),
 * and {@code zswapd.fuzz.floods} (the flood list, replacing the default).
 */
class NbdFuzzTest {
  static final long SEED = Long.getLong("zswapd.fuzz.seed", 0x15_F022L);
  static final String DURATION = System.getProperty("zswapd.fuzz.duration", "40s");
  /**
   * Every flood, in every run: idle connections, many connections, and the floods of issue 15
   * (point 1) that killed the daemon with -Xmx256m before connections had a memory budget
   * (OutOfMemoryError within seconds from unread READs or an OPT_LIST flood; a heap full of
   * futures from huge WRITE_ZEROES/TRIM).
   */
  static final String FLOODS = "idle,many-connections,unread-reads,option-list,huge-zeroes";
  static final String RSS_LIMIT = "1GiB";

  @TempDir
  Path dir;

  @Test
  void daemonStaysAliveBoundedAndCorrectUnderFuzzing() {
    int port = Daemon.freePort();
    Path socket = dir.resolve("zswapd.sock");
    Path admin = dir.resolve("zswapd-admin.sock");
    Path config = Daemon.config(dir, port, socket, """
        zswapd.pool.max-size = 64 MiB
        zswapd.pool.migration.period = 1s
        zswapd.pool.writeback.idle-after = 5s
        zswapd.exports = [
          { name = "fuzz", size = 1 GiB, backing-file = "%s" },
          { name = "ro", size = 64 MiB, read-only = true }
        ]
        zswapd.nbd.max-payload = 1 MiB
        zswapd.nbd.max-connections = 512
        zswapd.admin.unix-socket = "%s"
        """.formatted(dir.resolve("fuzz.backing"), admin));
    String floods = System.getProperty("zswapd.fuzz.floods", FLOODS);
    try (Daemon daemon = Daemon.serve(config, List.of("-Xmx256m", "-XX:MaxDirectMemorySize=256m"))) {
      daemon.awaitReady();
      FuzzReport r = NbdFuzzer.run(FuzzSettings.parse(List.of(
          "--seed", Long.toString(SEED), "--duration", DURATION, "--clients", "4",
          "--tcp", "127.0.0.1:" + port, "--unix", socket.toString(), "--export", "fuzz", "--ro-export", "ro",
          "--region", "2MiB", "--max-request", "128KiB", "--depth", "64",
          "--floods", floods, "--flood-percent", "3", "--flood-hold", "2s", "--flood-connections", "40",
          "--reply-timeout", "60s", "--probe-every", "2s", "--probe-timeout", "30s",
          "--pid", Long.toString(daemon.pid()), "--rss-limit", RSS_LIMIT, "--heap-every", "15s",
          "--admin", admin.toString(), "--admin-every", "3s", "--pool-range", "16MiB:64MiB", "--writeback")),
          System.out);
      System.out.print(r.summary());
      String context = r.summary() + "\n--- the daemon's last lines\n" + daemon.outputTail(40);

      assertThat(r.failures()).as(context).isEmpty();
      assertThat(r.mismatches()).as(context).isZero();
      assertThat(daemon.isAlive()).as(context).isTrue();
      assertThat(r.maxRss()).as(context).isPositive();
      assertThat(r.probes()).as("the probe ran all along: %s", context).isGreaterThanOrEqualTo(5);
      // The run did what it is for: every kind of traffic, and every error answer, happened.
      for (String kind : List.of("READ", "WRITE", "TRIM", "WRITE_ZEROES", "FLUSH", "DISC", "option:GO",
          "option:EXPORT_NAME", "option:LIST", "option:INFO", "option:STRUCTURED_REPLY", "invalid:unknown-command",
          "invalid:bad-flags", "invalid:read-past-end", "invalid:write-past-end", "invalid:bad-request-magic",
          "ro:WRITE", "admin:set", "READ (final)")) {
        assertThat(r.ops(kind)).as("operations of kind %s: %s", kind, context).isPositive();
      }
      assertThat(r.errorsByCode()).as(context).containsKeys("NBD_EINVAL", "NBD_ENOSPC", "NBD_EPERM");
    }
  }
}
