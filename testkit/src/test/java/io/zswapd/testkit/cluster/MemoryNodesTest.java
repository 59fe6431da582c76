package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.admin.StatsLines;
import io.zswapd.testkit.daemon.Daemon;
import io.zswapd.testkit.daemon.DaemonJar;
import io.zswapd.testkit.interop.ExternalTool;
import io.zswapd.testkit.nbd.ErrorReplyException;
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
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tree shards on other JVMs: memory-node daemons and a front daemon, processes on loopback
 * forming an Akka cluster, and an export placed on the cluster ({@code placement = cluster}).
 *
 * <ol>
 *   <li>Pages written over NBD to the front are stored, compressed, in the two memory nodes'
 *       pools (both take shards) and read back bit for bit.
 *   <li>One memory node is killed with SIGKILL: the pages it held are answered EIO (never
 *       zeros, never another page's bytes), the pages on the other node read back intact, and
 *       once rewritten the lost pages live on the survivor.
 *   <li>A third memory node joins and takes the new shards (it is the emptier node).
 *   <li>It is then stopped (SIGSTOP) past the failure detector, a partition: the cluster downs
 *       it, its pages are answered EIO, and when it runs again (SIGCONT) it learns it was
 *       downed and exits with status 70, for its supervisor to start a fresh node.
 * </ol>
 *
 * <p>Set {@code -Dzswapd.test.seed=N} to replay the page contents of a failure.
 */
class MemoryNodesTest {
  /** Shards written before the third node joins; as many again after. */
  private static final int SHARDS = 4;
  private static final long SHARD_BYTES = 64L << 20;
  /** Pages written at the start of each shard. */
  private static final int PAGES_PER_SHARD = 1024;
  private static final int WRITE_PAGES = 32;
  private static final List<String> JVM = List.of("-Xmx160m", "-XX:MaxDirectMemorySize=192m");

  @TempDir
  static Path dir;
  private static final List<Daemon> daemons = new ArrayList<>();
  private static Daemon first;
  private static Daemon second;
  private static int seedPort;
  private static Daemon front;
  private static int nbdPort;
  private static PageGenerator gen;

  @BeforeAll
  static void start() throws IOException {
    DaemonJar.path();
    long seed = Long.getLong("zswapd.test.seed", System.nanoTime());
    gen = new PageGenerator(seed);
    seedPort = Daemon.freePort();
    first = memoryNode("first", seedPort, seedPort);
    second = memoryNode("second", Daemon.freePort(), seedPort);
    nbdPort = Daemon.freePort();
    Path config = Files.writeString(Files.createDirectories(dir.resolve("front")).resolve("zswapd.conf"), """
        zswapd {
          pool.max-size = 64 MiB
          exports = [ { name = "swap0", size = 512 MiB, placement = cluster } ]
          cluster { role = front, bind = "127.0.0.1:%d", seed-nodes = ["127.0.0.1:%d"], down-unreachable-after = 2s }
          nbd { tcp = "127.0.0.1:%d", unix-socket = off }
          admin.unix-socket = "%s"
          metrics.prometheus = off
        }
        """.formatted(Daemon.freePort(), seedPort, nbdPort, dir.resolve("front/admin.sock")));
    front = started(Daemon.serve(config, JVM));
    System.out.println("MemoryNodesTest seed " + seed);
  }

  private static Daemon memoryNode(String name, int port, int seedPort) throws IOException {
    Path home = Files.createDirectories(dir.resolve(name));
    Path config = Files.writeString(home.resolve("zswapd.conf"), """
        zswapd {
          pool.max-size = 64 MiB
          exports = []
          cluster { role = memory, bind = "127.0.0.1:%d", seed-nodes = ["127.0.0.1:%d"], down-unreachable-after = 2s }
          admin.unix-socket = "%s"
          metrics.prometheus = off
        }
        """.formatted(port, seedPort, home.resolve("admin.sock")));
    return started(Daemon.serve(config, JVM));
  }

  private static Daemon started(Daemon d) {
    daemons.add(d);
    d.awaitReady();
    return d;
  }

  @AfterAll
  static void stop() {
    daemons.forEach(Daemon::close);
  }

  private static Map<String, String> stats(String node) {
    ExternalTool.Result r = DaemonJar.run("stats", "--admin", dir.resolve(node + "/admin.sock").toString());
    assertThat(r.exitCode()).as(r.describe()).isZero();
    return StatsLines.parse(r.stdout().lines().toList());
  }

  private static long pageOf(int shard, int i) {
    return shard * (SHARD_BYTES / 4096) + i;
  }

  private static byte[] content(long page) {
    return gen.page(page, gen.mixedKind(page));
  }

  private static void writeShard(NbdClient nbd, int shard) throws IOException {
    for (int i = 0; i < PAGES_PER_SHARD; i += WRITE_PAGES) {
      byte[] data = new byte[WRITE_PAGES * 4096];
      for (int j = 0; j < WRITE_PAGES; j++) {
        System.arraycopy(content(pageOf(shard, i + j)), 0, data, j * 4096, 4096);
      }
      nbd.write(pageOf(shard, i) * 4096, data);
    }
  }

  /** Reads the shard's pages back: true when all are intact, false when the reads fail with EIO. */
  private static boolean shardIntact(NbdClient nbd, int shard) throws IOException {
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

  private static void signal(String name, Daemon d) throws IOException {
    ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(10), "kill", "-" + name, Long.toString(d.pid()));
    assertThat(r.exitCode()).as(r.describe()).isZero();
  }

  @Test
  void pagesLiveOnMemoryNodesAndALostNodesPagesAreErrorsNeverZeros() throws IOException {
    try (NbdClient nbd = NbdClient.connectGo(new InetSocketAddress("127.0.0.1", nbdPort), "swap0", true)) {
      nbd.timeout(Duration.ofSeconds(90));
      // one shard after the other: each is placed knowing where the ones before it went
      for (int shard = 0; shard < SHARDS; shard++) {
        writeShard(nbd, shard);
      }
      for (int shard = 0; shard < SHARDS; shard++) {
        assertThat(shardIntact(nbd, shard)).as("shard %d before any node is lost", shard).isTrue();
      }
      long onFirst = StatsLines.number(stats("first"), "pool.handles_in_use");
      long onSecond = StatsLines.number(stats("second"), "pool.handles_in_use");
      assertThat(onFirst).as("objects on the first memory node").isPositive();
      assertThat(onSecond).as("objects on the second memory node (shards go to the roomier node)").isPositive();
      assertThat(StatsLines.number(stats("front"), "pool.handles_in_use")).as("objects in the front's own pool").isZero();

      ProcessHandle.of(second.pid()).ifPresent(ProcessHandle::destroyForcibly); // SIGKILL: no goodbye

      List<Integer> lost = new ArrayList<>();
      for (int shard = 0; shard < SHARDS; shard++) {
        if (!shardIntact(nbd, shard)) {
          lost.add(shard);
        }
      }
      // placement by room spreads four shards over two nodes 2/2 or 3/1: the second held some
      assertThat(lost).as("shards lost with the second node, the others on the first").isNotEmpty()
          .hasSizeLessThan(SHARDS);

      for (int shard : lost) {
        writeShard(nbd, shard);
      }
      for (int shard = 0; shard < SHARDS; shard++) {
        assertThat(shardIntact(nbd, shard)).as("shard %d after the lost ones were written again", shard).isTrue();
      }
      long firstAfter = StatsLines.number(stats("first"), "pool.handles_in_use");
      assertThat(firstAfter).as("the survivor holds every shard now").isGreaterThan(onFirst);

      Daemon third = memoryNode("third", Daemon.freePort(), seedPort);
      for (int shard = SHARDS; shard < 2 * SHARDS; shard++) {
        writeShard(nbd, shard);
      }
      assertThat(StatsLines.number(stats("third"), "pool.handles_in_use")).as("the node that joined took new shards")
          .isPositive();
      assertThat(StatsLines.number(stats("first"), "pool.handles_in_use")).as("the fuller node took none")
          .isEqualTo(firstAfter);

      signal("STOP", third); // a partition: alive, but silent past down-unreachable-after
      for (int shard = SHARDS; shard < 2 * SHARDS; shard++) {
        assertThat(shardIntact(nbd, shard)).as("shard %d on the stopped node", shard).isFalse();
      }
      for (int shard = 0; shard < SHARDS; shard++) {
        assertThat(shardIntact(nbd, shard)).as("shard %d on the first node", shard).isTrue();
      }
      signal("CONT", third);
      assertThat(third.awaitExit(Duration.ofSeconds(60))).as("exit status of a downed node").isEqualTo(70);
      assertThat(third.stderr()).anySatisfy(l -> assertThat(l).contains("was downed by the cluster"));
      nbd.disconnect();
    } catch (ErrorReplyException e) {
      fail("seed %d: %s", gen.seed(), e.getMessage());
    }
    assertThat(front.stderr()).as("the front says which shard was lost")
        .anySatisfy(l -> assertThat(l).contains("was started again on another memory node"));
  }
}
