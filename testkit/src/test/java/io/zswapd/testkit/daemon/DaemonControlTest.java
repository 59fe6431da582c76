package io.zswapd.testkit.daemon;

import static io.zswapd.testkit.admin.StatsLines.number;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.admin.StatsLines;
import io.zswapd.testkit.interop.ExternalTool;
import io.zswapd.testkit.metrics.Scrape;
import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control commands of the real jar against a real daemon: {@code stats} after a known NBD
 * workload (and the Prometheus endpoint giving the same figures), {@code set pool.max-size} below the memory in use (writeback starts, pool_limit_hit
 * counts), {@code writeback}, {@code compact}, {@code reset-max}, and each bad input refused with
 * its one line and nothing changed. The tests share one daemon and run in order: each starts
 * from what the previous one left.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DaemonControlTest {
  static final int WRITTEN = 400;
  static final int ZERO = 100;    // pages 0..99 are written as zeros
  static final int TRIMMED = 50;  // pages 80..129: 20 zero pages, 30 others
  static final int MORE = 200;    // written after the limit is lowered

  @TempDir
  static Path dir;
  private static Path socket;
  private static Path admin;
  private static Path config;
  private static Daemon daemon;
  private static int metricsPort;
  private static final PageGenerator GEN = new PageGenerator(23);

  @BeforeAll
  static void start() {
    socket = dir.resolve("zswapd.sock");
    metricsPort = Daemon.freePort();
    admin = dir.resolve("control.sock");
    config = Daemon.config(dir, Daemon.freePort(), socket,
        "zswapd.exports = [ { name = \"swap0\", size = 256 MiB, backing-file = \"" + dir.resolve("swap0.img") + "\" } ]\n"
            + "zswapd.admin.unix-socket = \"" + admin + "\"\n"
            + "zswapd.metrics { prometheus = \"127.0.0.1:" + metricsPort + "\", tick-interval = 200ms }");
    daemon = Daemon.serve(config);
    daemon.awaitReady();
  }

  @AfterAll
  static void stop() {
    if (daemon != null) {
      daemon.close();
    }
  }

  private static ExternalTool.Result zswapd(String... args) {
    String[] withAdmin = new String[args.length + 2];
    System.arraycopy(args, 0, withAdmin, 0, args.length);
    withAdmin[args.length] = "--admin";
    withAdmin[args.length + 1] = admin.toString();
    return DaemonJar.run(withAdmin);
  }

  private static Map<String, String> stats() {
    ExternalTool.Result r = zswapd("stats");
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stderr()).as(r.describe()).isEmpty();
    return StatsLines.parse(r.stdout().lines().toList());
  }

  private static byte[] page(int i) {
    return GEN.page(i, i < ZERO ? PageGenerator.Kind.ZERO : PageGenerator.Kind.C50);
  }

  @Test
  @Order(1)
  void adminSocketIsOwnerOnlyAndNamedInTheBanner() throws IOException {
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(admin, LinkOption.NOFOLLOW_LINKS)))
        .isEqualTo("rw-------");
    assertThat(daemon.stdout()).contains("  admin socket:  " + admin);
    assertThat(daemon.stderr()).as("the start-up summary is logged")
        .anySatisfy(l -> assertThat(l).contains("INFO").endsWith("zswapd started"))
        .anySatisfy(l -> assertThat(l).contains("admin unix " + admin))
        .anySatisfy(l -> assertThat(l).startsWith("  export swap0: 268435456 B (256.0 MiB), backing-file "))
        .anySatisfy(l -> assertThat(l).startsWith("  pool: limit 67108864 B (64.0 MiB), accept-threshold 90%"));
  }

  @Test
  @Order(2)
  void theDaemonsConfigFileTellsTheCommandsWhereItListens() {
    ExternalTool.Result r = DaemonJar.run("stats", "--config", config.toString());
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stdout().lines().findFirst()).contains("pool");
    assertThat(number(StatsLines.parse(r.stdout().lines().toList()), "pool.mem_limit")).isEqualTo(64L << 20);
  }

  @Test
  @Order(3)
  void statsCountsAKnownWorkload() throws IOException {
    try (NbdClient nbd = NbdClient.connectGo(UnixDomainSocketAddress.of(socket), "swap0", true)) {
      for (int i = 0; i < WRITTEN; i++) {
        nbd.write(i * 4096L, page(i));
      }
      nbd.trim(80 * 4096L, TRIMMED * 4096);
      nbd.disconnect();
    }
    Map<String, String> f = stats();
    long stored = WRITTEN - TRIMMED;
    assertThat(number(f, "swap0.stored_pages")).isEqualTo(stored);
    assertThat(number(f, "swap0.same_pages")).isEqualTo(ZERO - 20);
    assertThat(number(f, "swap0.orig_data_size")).isEqualTo(stored * 4096);
    assertThat(number(f, "swap0.invalidated_pages")).isEqualTo(TRIMMED);
    assertThat(number(f, "swap0.stores")).isEqualTo(WRITTEN);
    assertThat(number(f, "swap0.huge_pages")).isZero();
    assertThat(number(f, "pool.handles_in_use")).as("one object per compressed page").isEqualTo(stored - (ZERO - 20));
    long compr = number(f, "swap0.compr_data_size");
    assertThat(compr).isBetween(1L, (stored - (ZERO - 20)) * 4096);
    assertThat(f.get("swap0.compression_ratio"))
        .isEqualTo(String.format(java.util.Locale.ROOT, "%.2f", stored * 4096.0 / compr));
    assertThat(number(f, "pool.mem_used_total")).isPositive();
    assertThat(number(f, "pool.mem_limit")).isEqualTo(64L << 20);

    // The Prometheus endpoint says the same, once a tick has passed since the workload.
    java.net.InetSocketAddress metrics = new java.net.InetSocketAddress("127.0.0.1", metricsPort);
    Map<String, String> swap0 = Map.of("export", "swap0");
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).untilAsserted(() -> {
      Scrape s = Scrape.of(metrics);
      assertThat(s.longValue("zswapd_stored_pages", swap0)).isEqualTo(number(f, "swap0.stored_pages"));
      assertThat(s.longValue("zswapd_same_pages", swap0)).isEqualTo(number(f, "swap0.same_pages"));
      assertThat(s.longValue("zswapd_orig_data_size_bytes", swap0)).isEqualTo(number(f, "swap0.orig_data_size"));
      assertThat(s.longValue("zswapd_compr_data_size_bytes", swap0)).isEqualTo(compr);
      assertThat(s.longValue("zswapd_invalidated_pages_total", swap0)).isEqualTo(number(f, "swap0.invalidated_pages"));
      assertThat(s.longValue("zswapd_stores_total", swap0)).isEqualTo(number(f, "swap0.stores"));
      assertThat(s.longValue("zswapd_huge_pages", swap0)).isEqualTo(number(f, "swap0.huge_pages"));
      assertThat(s.longValue("zswapd_mem_used_total_bytes", Map.of())).isEqualTo(number(f, "pool.mem_used_total"));
      assertThat(s.longValue("zswapd_mem_limit_bytes", Map.of())).isEqualTo(number(f, "pool.mem_limit"));
      assertThat(s.longValue("zswapd_nbd_requests_total", Map.of("export", "swap0", "command", "write")))
          .isEqualTo(WRITTEN);
      assertThat(s.longValue("zswapd_nbd_requests_total", Map.of("export", "swap0", "command", "trim"))).isEqualTo(1);
    });

    ExternalTool.Result classes = zswapd("stats", "--classes");
    assertThat(classes.exitCode()).as(classes.describe()).isZero();
    List<String> rows = classes.stdout().lines().toList();
    assertThat(rows.get(0)).startsWith("class  size  empty    10%");
    String[] total = rows.get(rows.size() - 1).trim().split("\\s+");
    assertThat(total[0]).isEqualTo("Total");
    assertThat(Long.parseLong(total[14])).as("obj_used of all classes").isEqualTo(stored - (ZERO - 20));
  }

  @Test
  @Order(4)
  void badInputIsRefusedWithItsMessageAndChangesNothing() {
    ExternalTool.Result value = zswapd("set", "pool.max-size", "lots");
    assertThat(value.exitCode()).as(value.describe()).isEqualTo(1);
    assertThat(value.stderr().lines().toList()).as(value.describe()).containsExactly(
        "zswapd: zswapd.pool.max-size = \"lots\": not a byte size; must be a byte size of at least 64 KiB"
            + " (e.g. \"2 GiB\") or a percentage of physical RAM above 0% and at most 100% (e.g. \"20%\")");
    ExternalTool.Result notLive = zswapd("set", "pool.compressor", "zstd");
    assertThat(notLive.exitCode()).as(notLive.describe()).isEqualTo(1);
    assertThat(notLive.stderr()).startsWith("zswapd: zswapd.pool.compressor cannot change while running;"
        + " restart with --config");
    ExternalTool.Result mode = zswapd("writeback", "cold");
    assertThat(mode.exitCode()).as(mode.describe()).isEqualTo(2);
    assertThat(mode.stderr().lines().toList())
        .containsExactly("zswapd: writeback mode 'cold' is not one of idle, huge, all or lru");
    ExternalTool.Result missing = zswapd("set", "pool.max-size");
    assertThat(missing.exitCode()).isEqualTo(2);
    assertThat(missing.stderr().lines().toList())
        .containsExactly("zswapd: set needs a key and a value, e.g. 'set pool.max-size 512MiB'");
    ExternalTool.Result nowhere = DaemonJar.run("stats", "--admin", dir.resolve("nothing.sock").toString());
    assertThat(nowhere.exitCode()).isEqualTo(1);
    assertThat(nowhere.stderr().lines().toList()).singleElement().asString()
        .startsWith("zswapd: cannot reach the daemon's admin endpoint " + dir.resolve("nothing.sock"));

    Map<String, String> f = stats();
    assertThat(number(f, "pool.mem_limit")).isEqualTo(64L << 20);
    assertThat(number(f, "swap0.stored_pages")).isEqualTo(WRITTEN - TRIMMED);
  }

  @Test
  @Order(5)
  void lowerMaxSizeBelowUsageStartsWritebackAndCountsPoolLimitHit() throws IOException {
    Map<String, String> before = stats();
    long used = number(before, "pool.mem_used_total");
    assertThat(number(before, "pool.pool_limit_hit")).isZero();
    ExternalTool.Result set = zswapd("set", "pool.max-size", "256", "KiB");
    assertThat(set.exitCode()).as(set.describe()).isZero();
    assertThat(set.stdout().lines().toList()).containsExactly("pool.max-size = 262144 B (256.0 KiB)",
        "pool limit in force 262144 B (256.0 KiB), accept below 233472 B (90%)");
    assertThat(used).as("the new limit is below the usage").isGreaterThan(256 << 10);

    try (NbdClient nbd = NbdClient.connectGo(UnixDomainSocketAddress.of(socket), "swap0", true)) {
      // ~400 KiB compressed: more than the size classes keep in reserve, so new pool pages are needed
      for (int i = WRITTEN; i < WRITTEN + MORE; i++) {
        nbd.write(i * 4096L, page(i));
      }
      Map<String, String> after = stats();
      assertThat(number(after, "pool.mem_limit")).isEqualTo(256 << 10);
      assertThat(number(after, "pool.pool_limit_hit")).isPositive();
      assertThat(number(after, "swap0.bd_count")).as("pages written back").isPositive();
      assertThat(number(after, "swap0.reject_alloc_fail")).as("writeback made room").isZero();
      assertThat(number(after, "pool.mem_used_total")).isLessThanOrEqualTo(256 << 10);
      for (int i = 0; i < WRITTEN + MORE; i += 13) {
        byte[] expected = i >= 80 && i < 80 + TRIMMED ? new byte[4096] : page(i);
        assertThat(nbd.read(i * 4096L, 4096)).as("page %d", i).isEqualTo(expected);
      }
      nbd.disconnect();
    }
    assertThat(zswapd("set", "pool.max-size", "64MiB").exitCode()).isZero();
    assertThat(number(stats(), "pool.mem_limit")).isEqualTo(64L << 20);
  }

  @Test
  @Order(6)
  void writebackCompactAndResetMaxSayWhatTheyDid() {
    ExternalTool.Result written = zswapd("writeback", "all");
    assertThat(written.exitCode()).as(written.describe()).isZero();
    assertThat(written.stdout()).matches("writeback all: [1-9][0-9]* pages written back, 0 failed, 0 refused"
        + " \\(backing file full\\)\\R");
    Map<String, String> f = stats();
    assertThat(number(f, "swap0.bd_count")).as("the compressed pages are in the file").isPositive();
    assertThat(number(f, "swap0.stored_pages")).as("only same-filled pages stay in memory")
        .isEqualTo(number(f, "swap0.same_pages"));
    assertThat(number(f, "swap0.compr_data_size")).as("the pool holds no compressed byte").isZero();

    ExternalTool.Result compact = zswapd("compact");
    assertThat(compact.exitCode()).as(compact.describe()).isZero();
    assertThat(compact.stdout()).matches("compacted: [0-9]+ pages freed, [0-9]+ objects moved\\R");

    assertThat(number(f, "pool.mem_used_max")).isGreaterThan(number(f, "pool.mem_used_total"));
    ExternalTool.Result reset = zswapd("reset-max");
    assertThat(reset.exitCode()).as(reset.describe()).isZero();
    Map<String, String> after = stats();
    assertThat(number(after, "pool.mem_used_max")).isEqualTo(number(after, "pool.mem_used_total"));
    assertThat(reset.stdout()).startsWith("mem_used_max reset to mem_used_total: ");
  }
}
