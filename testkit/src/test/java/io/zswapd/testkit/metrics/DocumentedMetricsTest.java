package io.zswapd.testkit.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.NbdFixture;
import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The names users see outside the code match a real scrape. After a workload that exercises
 * every figure (NBD reads, writes, a trim and an error, a writeback to a backing file, loads
 * from it):
 * <ul>
 *   <li>docs/grafana-zswapd.json is a dashboard Grafana can import, and each {@code zswapd_*}
 *       name in a panel or template query appears in the scrape;</li>
 *   <li>docs/METRICS.md names every {@code zswapd_*} series of the scrape, and nothing else.</li>
 * </ul>
 */
class DocumentedMetricsTest {
  private static final Path DOCS = Path.of(System.getProperty("basedir", System.getProperty("user.dir")))
      .resolve("../docs").normalize();
  private static final Pattern METRIC = Pattern.compile("zswapd_[a-z0-9_]+");
  private static final Pattern HISTOGRAM_PART = Pattern.compile("_(bucket|count|sum)$");

  @TempDir
  static Path dir;
  private static Set<String> scraped;
  private static long backingLoads;

  @BeforeAll
  static void scrapeAfterAWorkloadThatTouchesEveryFigure() throws IOException {
    try (NbdFixture nbd = NbdFixture.startNamed("documented-metrics-test", """
        zswapd.metrics.prometheus = "127.0.0.1:0"
        zswapd.metrics.tick-interval = 200ms
        zswapd.pool.max-size = 32 MiB
        zswapd.exports = [ { name = "swap0", size = 16 MiB, backing-file = "%s" } ]
        """.formatted(dir.resolve("backing.img")))) {
      PageGenerator gen = new PageGenerator(42);
      try (NbdClient c = NbdClient.connectGo(nbd.tcp(), "swap0", true)) {
        for (int i = 0; i < 16; i++) {
          c.write(i * 4096L, gen.page(i, gen.mixedKind(i)));
        }
        c.trim(0, 4096);
        c.request(io.zswapd.protocol.nbd.Nbd.CMD_READ, 0, 16L << 20, 4096, null); // EINVAL
        WritebackResult wb = EngineFixture.await(nbd.zswapd().writeback(WritebackMode.ALL));
        assertThat(wb.writtenBack()).as("pages written back").isPositive();
        for (int i = 1; i < 16; i++) {
          assertThat(c.read(i * 4096L, 4096)).isEqualTo(gen.page(i, gen.mixedKind(i)));
        }
        c.disconnect();
      }
      backingLoads = EngineFixture.await(nbd.zswapd().stats()).export("swap0").orElseThrow().backing().loadsFromBacking();
      assertThat(backingLoads).as("loads served from the backing file").isPositive();
      // every histogram has a value once the last one recorded (loads from the backing file) shows
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(
          Scrape.of(nbd.zswapd().metricsAddress().orElseThrow()).longValue("zswapd_backing_loads_total",
              Map.of("engine", "documented-metrics-test", "export", "swap0"))).isEqualTo(backingLoads));
      await().atMost(Duration.ofSeconds(5)).until(() -> Scrape.of(nbd.zswapd().metricsAddress().orElseThrow())
          .names().contains("zswapd_writeback_latency_seconds_count"));
      scraped = Scrape.of(nbd.zswapd().metricsAddress().orElseThrow()).names().stream()
          .filter(n -> n.startsWith("zswapd_")).collect(java.util.stream.Collectors.toCollection(TreeSet::new));
    }
  }

  @Test
  void everyMetricTheDashboardQueriesIsInARealScrape() throws IOException {
    Set<String> queried = queriedMetrics();
    assertThat(queried).as("the dashboard covers ratio, memory, fullness, writeback, latency, NBD")
        .contains("zswapd_orig_data_size_bytes", "zswapd_compr_data_size_bytes", "zswapd_mem_used_total_bytes",
            "zswapd_mem_limit_bytes", "zswapd_written_back_pages_total", "zswapd_store_latency_seconds_bucket",
            "zswapd_load_latency_seconds_bucket", "zswapd_writeback_latency_seconds_bucket",
            "zswapd_nbd_requests_total")
        .hasSizeGreaterThan(25);
    assertThat(scraped).as("scraped names").containsAll(queried);
  }

  @Test
  void metricsMdNamesExactlyTheScrapedSeries() throws IOException {
    String doc = Files.readString(DOCS.resolve("METRICS.md"));
    String prometheus = doc.substring(doc.indexOf("## Prometheus"));
    // the memory-node series exist only on cluster nodes: MemoryNodesBackingFileTest checks them
    // against a front's scrape (clusterSection)
    String cluster = MetricsDoc.clusterSection(prometheus);
    Set<String> documented = MetricsDoc.documentedNames(prometheus.replace(cluster, ""));
    Set<String> scrapedBases = MetricsDoc.asDocumented(scraped, documented);
    assertThat(documented).as("names in METRICS.md that no scrape has").isSubsetOf(scrapedBases);
    assertThat(scrapedBases).as("scraped names METRICS.md does not list").isSubsetOf(documented);
  }

  @Test
  void malformedJsonIsRefusedByTheReaderTheTestUses() {
    assertThatThrownBy(() -> Json.parse("{\"a\": 1,}")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Json.parse("{\"a\": 1} x")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Json.parse("{\"a\": 1, \"a\": 2}")).isInstanceOf(IllegalArgumentException.class);
    assertThat(Json.parse("{\"a\": [1, \"x\\n\", true, null]}")).isEqualTo(
        Map.of("a", java.util.Arrays.asList(1.0, "x\n", true, null)));
  }

  /** Every zswapd_* name in a panel target's expr and in the template variables' queries. */
  @SuppressWarnings("unchecked")
  private static Set<String> queriedMetrics() throws IOException {
    Map<String, Object> dashboard = (Map<String, Object>) Json.parse(Files.readString(DOCS.resolve("grafana-zswapd.json")));
    assertThat(dashboard).containsKeys("title", "panels", "templating", "schemaVersion");
    List<String> queries = new ArrayList<>();
    for (Object p : (List<Object>) dashboard.get("panels")) {
      Map<String, Object> panel = (Map<String, Object>) p;
      assertThat(panel).containsKeys("id", "type", "title", "gridPos");
      for (Object t : (List<Object>) panel.getOrDefault("targets", List.of())) {
        queries.add((String) ((Map<String, Object>) t).get("expr"));
      }
    }
    Map<String, Object> templating = (Map<String, Object>) dashboard.get("templating");
    for (Object v : (List<Object>) templating.get("list")) {
      Object q = ((Map<String, Object>) v).get("query");
      if (q instanceof String s) {
        queries.add(s);
      }
    }
    Set<String> names = new TreeSet<>();
    for (String q : queries) {
      Matcher m = METRIC.matcher(q);
      while (m.find()) {
        names.add(m.group());
      }
    }
    return names;
  }
}
