package io.zswapd.testkit.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
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
  void endpointClosesWithItsEngineAndThePortCanBeServedAgain() throws IOException {
    InetSocketAddress at;
    try (EngineFixture first = EngineFixture.startNamed("engine-first", TICK + "zswapd.metrics.prometheus = \"127.0.0.1:0\"")) {
      at = first.zswapd().metricsAddress().orElseThrow();
      assertThat(Scrape.get(at, "/metrics").statusCode()).isEqualTo(200);
    }
    try (Socket s = new Socket()) {
      assertThatThrownBy(() -> s.connect(at, 2000)).as("nothing listens on %s after the engine stopped", at)
          .isInstanceOf(IOException.class);
    }
    try (EngineFixture second = EngineFixture.startNamed("engine-second",
        TICK + "zswapd.metrics.prometheus = \"127.0.0.1:" + at.getPort() + "\"")) {
      assertThat(second.zswapd().metricsAddress()).contains(at);
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(Scrape.of(at)
          .longValue("zswapd_mem_limit_bytes", Map.of("engine", "engine-second"))).isEqualTo(32L << 20));
    }
  }

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
