package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.admin.StatsLines;
import io.zswapd.testkit.daemon.Daemon;
import io.zswapd.testkit.daemon.DaemonJar;
import io.zswapd.testkit.interop.ExternalTool;
import io.zswapd.testkit.metrics.Scrape;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.testkit.nbd.Reply;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Daemons of one zswapd cluster on loopback, for the memory-node tests: memory nodes that join
 * the first one started, a front whose export {@code swap0} is placed on the cluster, and the
 * pages those tests write and check over NBD (the page generator's mix, seeded).
 */
final class ClusterNodes implements AutoCloseable {
  static final long SHARD_BYTES = 64L << 20;
  /** Pages written at the start of each shard. */
  static final int PAGES_PER_SHARD = 1024;
  static final int WRITE_PAGES = 32;
  private static final List<String> JVM = List.of("-Xmx160m", "-XX:MaxDirectMemorySize=192m");

  private final Path dir;
  private final PageGenerator gen;
  private final int seedPort = Daemon.freePort();
  private final List<Daemon> daemons = new ArrayList<>();
  /** Each memory node's cluster address, {@code 127.0.0.1:port}, by name. */
  private final java.util.Map<String, String> addresses = new java.util.HashMap<>();
  private int nbdPort;
  private String export;
  private int metricsPort;

  ClusterNodes(Path dir, String test) {
    DaemonJar.path();
    this.dir = dir;
    long seed = Long.getLong("zswapd.test.seed", System.nanoTime());
    this.gen = new PageGenerator(seed);
    System.out.println(test + " seed " + seed);
  }

  long seed() {
    return gen.seed();
  }

  /** A memory node named {@code name} (its files in a folder of that name), ready to take shards. */
  Daemon memoryNode(String name) throws IOException {
    return memoryNode(name, "");
  }

  /** As {@link #memoryNode(String)}, with {@code extra} settings after the test's. */
  Daemon memoryNode(String name, String extra) throws IOException {
    return started(memoryNodeStarting(name, extra));
  }

  /** As {@link #memoryNode(String, String)}, not waiting for it to be ready (it may not get there). */
  Daemon memoryNodeStarting(String name, String extra) throws IOException {
    Path home = Files.createDirectories(dir.resolve(name));
    int port = daemons.isEmpty() ? seedPort : Daemon.freePort();
    addresses.put(name, "127.0.0.1:" + port);
    Daemon d = Daemon.serve(Files.writeString(home.resolve("zswapd.conf"), """
        zswapd {
          pool.max-size = 64 MiB
          exports = []
          cluster { role = memory, bind = "127.0.0.1:%d", seed-nodes = ["127.0.0.1:%d"], down-unreachable-after = 2s }
          admin.unix-socket = "%s"
          metrics.prometheus = off
        }
        %s
        """.formatted(port, seedPort, home.resolve("admin.sock"), extra)), JVM);
    daemons.add(d);
    return d;
  }

  /**
   * The front, named "front", serving {@code swap0} ({@code size}, placed on the cluster, then
   * {@code extra}), with its metrics on a port of its own ({@link #frontMetrics()}).
   */
  Daemon front(String size, String extra) throws IOException {
    return front("front", "swap0", size, extra, "");
  }

  /**
   * A front named {@code name} serving {@code export} (placed on the cluster, then
   * {@code extra} in its entry, {@code settings} after the test's); {@link #connect()} reaches
   * the last front started.
   */
  Daemon front(String name, String export, String size, String extra, String settings) throws IOException {
    Path home = Files.createDirectories(dir.resolve(name));
    this.export = export;
    // A port free when picked can be taken before the daemon binds it, most often as the local
    // end of a memory node's outbound cluster connection: then the front exits at start with
    // "Address already in use", and is started again on ports picked afresh.
    for (int attempt = 1; ; attempt++) {
      nbdPort = Daemon.freePort();
      metricsPort = Daemon.freePort();
      Daemon d = Daemon.serve(Files.writeString(home.resolve("zswapd.conf"), """
          zswapd {
            pool.max-size = 64 MiB
            exports = [ { name = "%s", size = %s, placement = cluster %s } ]
            cluster { role = front, bind = "127.0.0.1:%d", seed-nodes = ["127.0.0.1:%d"], down-unreachable-after = 2s }
            nbd { tcp = "127.0.0.1:%d", unix-socket = off }
            admin.unix-socket = "%s"
            metrics { prometheus = "127.0.0.1:%d", tick-interval = 1s }
          }
          %s
          """.formatted(export, size, extra, Daemon.freePort(), seedPort, nbdPort, home.resolve("admin.sock"),
          metricsPort, settings)), JVM);
      try {
        return started(d);
      } catch (AssertionError e) {
        if (attempt == 3 || !d.output().contains("Address already in use")) {
          throw e;
        }
        daemons.remove(d);
        d.close();
        System.out.println("the front's port was taken before it bound it; starting it again: "
            + d.output().lines().filter(l -> l.contains("Address already in use")).findFirst().orElse(""));
      }
    }
  }

  /** A memory node's cluster address, {@code 127.0.0.1:port}: how the front's stats and metrics name it. */
  String address(String memoryNode) {
    return addresses.get(memoryNode);
  }

  /** The NBD port of the last front started (TCP, loopback). */
  int nbdPort() {
    return nbdPort;
  }

  /** A scrape of the front's Prometheus endpoint. */
  Scrape frontMetrics() {
    return Scrape.of(new InetSocketAddress("127.0.0.1", metricsPort));
  }

  private Daemon started(Daemon d) {
    if (!daemons.contains(d)) {
      daemons.add(d);
    }
    d.awaitReady();
    return d;
  }

  NbdClient connect() throws IOException {
    NbdClient nbd = NbdClient.connectGo(new InetSocketAddress("127.0.0.1", nbdPort), export, true);
    nbd.timeout(Duration.ofSeconds(90));
    return nbd;
  }

  /** The pool's {@code handles_in_use} of a node: objects it holds. */
  long objects(String node) {
    return figure(node, "pool.handles_in_use");
  }

  /** A figure of a node's {@code zswapd stats} ({@code pool.NAME} or {@code EXPORT.NAME}). */
  long figure(String node, String key) {
    return StatsLines.number(StatsLines.parse(stats(node)), key);
  }

  /** A node's {@code zswapd stats} output. */
  List<String> stats(String node) {
    return stats(node, List.of());
  }

  /** A node's {@code zswapd stats} output with {@code options} ({@code --shards}, {@code --classes}). */
  List<String> stats(String node, List<String> options) {
    List<String> args = new ArrayList<>(List.of("stats"));
    args.addAll(options);
    args.addAll(List.of("--admin", dir.resolve(node + "/admin.sock").toString()));
    ExternalTool.Result r = DaemonJar.run(args.toArray(String[]::new));
    assertThat(r.exitCode()).as(r.describe()).isZero();
    return r.stdout().lines().toList();
  }

  static void signal(String name, Daemon d) {
    ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(10), "kill", "-" + name, Long.toString(d.pid()));
    assertThat(r.exitCode()).as(r.describe()).isZero();
  }

  static long pageOf(int shard, int i) {
    return shard * (SHARD_BYTES / 4096) + i;
  }

  private byte[] content(long page) {
    return gen.page(page, gen.mixedKind(page));
  }

  void writeShard(NbdClient nbd, int shard) throws IOException {
    for (int i = 0; i < PAGES_PER_SHARD; i += WRITE_PAGES) {
      byte[] data = new byte[WRITE_PAGES * 4096];
      for (int j = 0; j < WRITE_PAGES; j++) {
        System.arraycopy(content(pageOf(shard, i + j)), 0, data, j * 4096, 4096);
      }
      nbd.write(pageOf(shard, i) * 4096, data);
    }
  }

  /** Reads the shard's pages back: true when all are intact, false when the reads fail with EIO. */
  boolean shardIntact(NbdClient nbd, int shard) throws IOException {
    for (int i = 0; i < PAGES_PER_SHARD; i += WRITE_PAGES) {
      Reply reply = nbd.request(Nbd.CMD_READ, 0, pageOf(shard, i) * 4096, WRITE_PAGES * 4096, null);
      if (reply.error() != 0) {
        assertThat(reply.error()).as("shard %d, page %d: a lost page is an I/O error", shard, pageOf(shard, i))
            .isEqualTo(Nbd.EIO);
        assertThat(i).as("shard %d lost only from its first page on", shard).isZero();
        return false;
      }
      for (int j = 0; j < WRITE_PAGES; j++) {
        byte[] got = Arrays.copyOfRange(reply.data(), j * 4096, (j + 1) * 4096);
        if (!Arrays.equals(got, content(pageOf(shard, i + j)))) {
          fail("seed %d: page %d of shard %d read back different bytes (%s)", gen.seed(), pageOf(shard, i + j), shard,
              PageGenerator.hash(got) == PageGenerator.ZERO_HASH ? "zeros" : "not zeros");
        }
      }
    }
    return true;
  }

  @Override
  public void close() {
    daemons.forEach(Daemon::close);
  }
}
