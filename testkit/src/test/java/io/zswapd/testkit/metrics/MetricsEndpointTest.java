package io.zswapd.testkit.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.NbdFixture;
import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A known workload over NBD and the embedded API, then the Prometheus endpoint: every figure
 * the workload determines is scraped with its exact value.
 *
 * <p>The workload on export swap0: {@value #WRITTEN} distinct compressible pages written over
 * NBD, {@value #ZERO_WRITES} zero pages written as data and {@value #WRITE_ZEROES} more with one
 * WRITE_ZEROES, the first {@value #TRIMMED} written pages trimmed with one TRIM, {@value #READS}
 * pages read back, one READ past the end (EINVAL); then {@value #EMBEDDED} pages stored through
 * the embedded API, {@value #EMBEDDED_ZERO} of them zero.
 */
class MetricsEndpointTest {
  static final int WRITTEN = 40;
  static final int ZERO_WRITES = 5;
  static final int WRITE_ZEROES = 5;
  static final int TRIMMED = 8;
  static final int READS = 3;
  static final int EMBEDDED = 6;
  static final int EMBEDDED_ZERO = 2;
  static final int PAGE = 4096;
  /**
   * Other engines of this JVM (earlier test classes) may still show in the scrape, with their
   * last values: our engine has a name of its own and every lookup names it.
   */
  static final Map<String, String> ENGINE = Map.of("engine", "metrics-endpoint-test");
  static final Map<String, String> SWAP0 = Map.of("export", "swap0", "engine", "metrics-endpoint-test");

  private static NbdFixture nbd;
  private static InetSocketAddress endpoint;

  @BeforeAll
  static void runTheWorkload() throws IOException {
    nbd = NbdFixture.startNamed("metrics-endpoint-test", """
        zswapd.metrics.prometheus = "127.0.0.1:0"
        zswapd.metrics.tick-interval = 200ms
        zswapd.pool.max-size = 64 MiB
        zswapd.exports = [ { name = "swap0", size = 64 MiB } ]
        """);
    endpoint = nbd.zswapd().metricsAddress().orElseThrow();
    PageGenerator gen = new PageGenerator(20261121);
    try (NbdClient c = NbdClient.connectGo(nbd.tcp(), "swap0", true)) {
      for (int i = 0; i < WRITTEN; i++) {
        c.write((long) i * PAGE, gen.page(i, PageGenerator.Kind.TEXT));
      }
      for (int i = 0; i < ZERO_WRITES; i++) {
        c.write((long) (WRITTEN + i) * PAGE, new byte[PAGE]);
      }
      c.writeZeroes((long) (WRITTEN + ZERO_WRITES) * PAGE, WRITE_ZEROES * PAGE, 0);
      c.trim(0, TRIMMED * PAGE);
      for (int i = 0; i < READS; i++) {
        assertThat(c.read((long) (TRIMMED + i) * PAGE, PAGE)).isEqualTo(gen.page(TRIMMED + i, PageGenerator.Kind.TEXT));
      }
      assertThat(c.request(Nbd.CMD_READ, 0, 64L << 20, PAGE, null).error()).isEqualTo(Nbd.EINVAL);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(Scrape.of(endpoint).longValue("zswapd_nbd_connections", SWAP0)).isEqualTo(1));
      c.disconnect();
    }
    Zswapd z = nbd.zswapd();
    for (int i = 0; i < EMBEDDED; i++) {
      byte[] page = i < EMBEDDED_ZERO ? new byte[PAGE] : gen.page(1000 + i, PageGenerator.Kind.C50);
      EngineFixture.await(z.store("swap0", 1000 + i, page));
    }
  }

  @AfterAll
  static void stop() {
    if (nbd != null) {
      nbd.close();
    }
  }

  static final long STORES = WRITTEN + ZERO_WRITES + WRITE_ZEROES + EMBEDDED;
  static final long STORED = STORES - TRIMMED;
  /** Store requests the engine answered: the WRITE_ZEROES pages went as one range store. */
  static final long STORE_REQUESTS = STORES - WRITE_ZEROES + 1;
  static final long SAME = ZERO_WRITES + WRITE_ZEROES + EMBEDDED_ZERO;

  @Test
  void scrapeGivesTheExactEngineFiguresOfTheWorkload() {
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      Scrape s = Scrape.of(endpoint);
      SoftAssertions soft = new SoftAssertions();
      soft.assertThat(s.longValue("zswapd_stored_pages", SWAP0)).as("stored").isEqualTo(STORED);
      soft.assertThat(s.longValue("zswapd_same_pages", SWAP0)).as("same-filled").isEqualTo(SAME);
      soft.assertThat(s.longValue("zswapd_invalidated_pages_total", SWAP0)).as("trimmed").isEqualTo(TRIMMED);
      soft.assertThat(s.longValue("zswapd_orig_data_size_bytes", SWAP0)).as("orig").isEqualTo(STORED * PAGE);
      soft.assertThat(s.longValue("zswapd_stores_total", SWAP0)).as("stores").isEqualTo(STORES);
      soft.assertThat(s.longValue("zswapd_loads_total", SWAP0)).as("loads").isEqualTo(READS);
      soft.assertThat(s.longValue("zswapd_huge_pages", SWAP0)).as("huge").isZero();
      soft.assertThat(s.longValue("zswapd_duplicate_entry_total", SWAP0)).as("duplicates").isZero();
      soft.assertThat(s.longValue("zswapd_compr_data_size_bytes", SWAP0)).as("compressed")
          .isPositive().isLessThan((STORED - SAME) * PAGE);
      soft.assertThat(s.longValue("zswapd_handles", ENGINE)).as("handles").isEqualTo(STORED - SAME);
      soft.assertThat(s.longValue("zswapd_mem_limit_bytes", ENGINE)).as("limit").isEqualTo(64L << 20);
      soft.assertThat(s.longValue("zswapd_mem_used_total_bytes", ENGINE)).as("pool").isPositive();
      soft.assertThat(s.longValue("zswapd_arena_chunks", ENGINE)).as("chunks").isPositive();
      soft.assertAll();
    });
  }

  @Test
  void scrapeCountsNbdRequestsBytesErrorsAndConnections() {
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      Scrape s = Scrape.of(endpoint);
      SoftAssertions soft = new SoftAssertions();
      soft.assertThat(nbdRequests(s, "write")).isEqualTo(WRITTEN + ZERO_WRITES);
      soft.assertThat(nbdRequests(s, "write_zeroes")).isEqualTo(1);
      soft.assertThat(nbdRequests(s, "trim")).isEqualTo(1);
      soft.assertThat(nbdRequests(s, "read")).isEqualTo(READS + 1);
      soft.assertThat(nbdRequests(s, "disc")).isEqualTo(1);
      soft.assertThat(nbdRequests(s, "flush")).isZero();
      soft.assertThat(s.longValue("zswapd_nbd_bytes_total", with("direction", "write")))
          .isEqualTo((long) (WRITTEN + ZERO_WRITES) * PAGE);
      soft.assertThat(s.longValue("zswapd_nbd_bytes_total", with("direction", "read"))).isEqualTo((long) READS * PAGE);
      soft.assertThat(s.longValue("zswapd_nbd_errors_total", with("code", "EINVAL"))).isEqualTo(1);
      soft.assertThat(s.longValue("zswapd_nbd_errors_total", with("code", "ENOSPC"))).isZero();
      soft.assertThat(s.longValue("zswapd_nbd_connections", SWAP0)).as("after disconnect").isZero();
      soft.assertAll();
    });
  }

  @Test
  void histogramsCountEveryStoreLoadAndCompressedPage() {
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      Scrape s = Scrape.of(endpoint);
      SoftAssertions soft = new SoftAssertions();
      soft.assertThat(s.longValue("zswapd_store_latency_seconds_count", SWAP0)).isEqualTo(STORE_REQUESTS);
      soft.assertThat(s.longValue("zswapd_load_latency_seconds_count", SWAP0)).isEqualTo(READS);
      soft.assertThat(s.longValue("zswapd_compressed_size_bytes_count", SWAP0)).as("pages that take memory")
          .isEqualTo(STORES - SAME);
      soft.assertThat(s.longValue("zswapd_store_latency_seconds_bucket", with("le", "+Inf"))).isEqualTo(STORE_REQUESTS);
      soft.assertAll();
    });
  }

  @Test
  void onlyMetricsIsServed() {
    assertThat(Scrape.get(endpoint, "/").statusCode()).isEqualTo(404);
    assertThat(Scrape.get(endpoint, "/metrics").headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("text/plain; version=0.0.4"));
  }

  @Test
  void endpointListensOnLoopbackOnly() {
    assertThat(endpoint.getAddress().isLoopbackAddress()).as("%s", endpoint).isTrue();
    assertThat(endpoint.getPort()).isPositive();
  }

  private static long nbdRequests(Scrape s, String command) {
    return s.longValue("zswapd_nbd_requests_total", with("command", command));
  }

  private static Map<String, String> with(String key, String value) {
    return Map.of("export", "swap0", "engine", "metrics-endpoint-test", key, value);
  }
}
