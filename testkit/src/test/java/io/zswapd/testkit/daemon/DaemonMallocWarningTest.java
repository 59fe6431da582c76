package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Started without {@code MALLOC_MMAP_THRESHOLD_}, the daemon serves but warns once that released
 * chunks may stay in the process (glibc's dynamic mmap threshold, docs/OPERATIONS.md).
 */
class DaemonMallocWarningTest {
  @TempDir
  Path dir;

  @Test
  void withoutTheMallocThresholdTheDaemonWarnsOnceAndServes() {
    Path config = Daemon.config(dir, Daemon.freePort(), dir.resolve("zswapd.sock"), "");
    try (Daemon daemon = Daemon.serve(config, false)) {
      daemon.awaitReady();
      // stderr is read by its own thread: give it a moment past the banner on stdout.
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(daemon.stderr()).as(daemon.output())
              .filteredOn(l -> l.contains("MALLOC_MMAP_THRESHOLD_ is not set"))
              .singleElement()
              .satisfies(l -> assertThat(l).contains("WARN", "MALLOC_MMAP_THRESHOLD_=131072", "docs/OPERATIONS.md")));
    }
  }
}
