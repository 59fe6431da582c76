package io.zswapd.testkit.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Kamon is one registry per JVM. Two engines in one JVM keep their figures apart by the
 * {@code engine} tag (the actor system's name); an engine with {@code metrics.prometheus = off}
 * serves nothing but still records its instruments, which another endpoint in the JVM shows.
 */
class SeveralEnginesTest {
  private static final String TICK = "zswapd.metrics.tick-interval = 200ms\n"
      + "zswapd.pool.max-size = 32 MiB\nzswapd.exports = [ { name = \"swap0\", size = 16 MiB } ]\n";

  @Test
  void twoEnginesInOneJvmReportUnderTheirOwnEngineTag() {
    try (EngineFixture quiet = EngineFixture.startNamed("engine-quiet", TICK + "zswapd.metrics.prometheus = off");
        EngineFixture served = EngineFixture.startNamed("engine-served",
            TICK + "zswapd.metrics.prometheus = \"127.0.0.1:0\"")) {
      assertThat(quiet.zswapd().metricsAddress()).as("off: no endpoint").isEmpty();
      PageGenerator gen = new PageGenerator(6);
      for (int i = 0; i < 3; i++) {
        EngineFixture.await(quiet.zswapd().store("swap0", i, gen.page(i, PageGenerator.Kind.C50)));
      }
      for (int i = 0; i < 5; i++) {
        EngineFixture.await(served.zswapd().store("swap0", i, gen.page(10 + i, PageGenerator.Kind.C50)));
      }
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        Scrape s = Scrape.of(served.zswapd().metricsAddress().orElseThrow());
        assertThat(s.longValue("zswapd_stored_pages", Map.of("engine", "engine-quiet", "export", "swap0")))
            .isEqualTo(3);
        assertThat(s.longValue("zswapd_stored_pages", Map.of("engine", "engine-served", "export", "swap0")))
            .isEqualTo(5);
        assertThat(s.longValue("zswapd_stores_total", Map.of("engine", "engine-served", "export", "swap0")))
            .isEqualTo(5);
      });
    }
  }
}
