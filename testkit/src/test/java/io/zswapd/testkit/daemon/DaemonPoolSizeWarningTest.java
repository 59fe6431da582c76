package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exports without a backing file that hold more than twice the pool limit get one WARN line at
 * start: once the pool fills, their writes are refused with ENOSPC, a write error on a kernel's
 * swap device. Exports the pool can hold at 2:1, read-only ones and ones with a backing file do
 * not.
 */
class DaemonPoolSizeWarningTest {
  private static final String WARNING = "exports without a backing-file hold more than 2 times the pool limit";

  @TempDir
  Path dir;

  @Test
  void exportsLargerThanTwiceThePoolWithoutABackingFileAreNamedInOneWarning() {
    // the test config's 64 MiB pool
    Path config = Daemon.config(dir, Daemon.freePort(), dir.resolve("zswapd.sock"), """
        zswapd.exports = [ { name = "swap0", size = 256 MiB }, { name = "small", size = 16 MiB } ]
        """);
    try (Daemon daemon = Daemon.serve(config, false)) {
      daemon.awaitReady();
      Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(daemon.stderr()).as(daemon.output()).filteredOn(l -> l.contains(WARNING)).singleElement()
              .satisfies(l -> assertThat(l).contains("WARN", "swap0 256.0 MiB, small 16.0 MiB",
                  "pool.max-size 64.0 MiB", "ENOSPC", "Write-error on swap-device", "backing-file",
                  "pool.max-size at least 136.0 MiB")));
    }
  }

  @Test
  void exportsWithABackingFileReadOnlyOrWithinTwiceThePoolAreNotWarnedAbout() {
    Path config = Daemon.config(dir, Daemon.freePort(), dir.resolve("zswapd.sock"), """
        zswapd.exports = [
          { name = "swap0", size = 256 MiB, backing-file = "%s" },
          { name = "ro", size = 1 GiB, read-only = true },
          { name = "fits", size = 128 MiB }
        ]
        """.formatted(dir.resolve("swap0.backing")));
    try (Daemon daemon = Daemon.serve(config, false)) {
      daemon.awaitReady();
      daemon.terminate(); // all it logged at start is read once it has exited
      daemon.awaitExit(Duration.ofSeconds(60));
      assertThat(daemon.output()).contains("export fits").doesNotContain(WARNING);
    }
  }
}
