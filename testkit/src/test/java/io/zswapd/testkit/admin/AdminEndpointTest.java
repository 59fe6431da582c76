package io.zswapd.testkit.admin;

import static io.zswapd.testkit.EngineFixture.await;
import static io.zswapd.testkit.admin.StatsLines.number;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.bridge.admin.AdminClient;
import io.zswapd.bridge.admin.AdminRequest;
import io.zswapd.bridge.admin.AdminServer;
import io.zswapd.bridge.admin.StatsReport;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.PoolStats;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin endpoint in process: a real engine, {@link AdminServer} on a Unix socket, and the
 * CLI's {@link AdminClient}. After a known workload the stats text carries exactly the engine's
 * own figures.
 */
class AdminEndpointTest {
  static final int WRITTEN = 300;
  static final int ZERO = 60;     // pages 0..59 are zero pages
  static final int TRIMMED = 40;  // pages 50..89: 10 zero pages and 30 others

  @TempDir
  Path dir;

  private EngineFixture start() {
    return EngineFixture.start("zswapd.pool.max-size = 8 MiB\n"
        + "zswapd.admin.unix-socket = \"" + dir.resolve("admin.sock") + "\"\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 64 MiB, recompressor = zstd, backing-file = \""
        + dir.resolve("swap0.img") + "\" } ]");
  }

  private static AdminServer admin(EngineFixture engine) {
    return await(AdminServer.start(engine.testKit().system(), engine.zswapd()));
  }

  @Test
  void statsPrintsTheEnginesNumbersAfterAKnownWorkload() throws IOException {
    try (EngineFixture engine = start()) {
      Zswapd z = engine.zswapd();
      AdminServer server = admin(engine);
      PageGenerator gen = new PageGenerator(17);
      for (int i = 0; i < WRITTEN; i++) {
        await(z.store("swap0", i, gen.page(i, i < ZERO ? PageGenerator.Kind.ZERO : PageGenerator.Kind.C50)));
      }
      assertThat(await(z.invalidateRange("swap0", 50, TRIMMED))).isEqualTo(TRIMMED);

      AdminClient.Answer answer = AdminClient.unix(server.unixSocket().orElseThrow()).send(new AdminRequest.Stats(AdminRequest.Stats.View.FIGURES));
      EngineStats engineStats = await(z.stats());
      assertThat(answer.ok()).as("error: %s", answer.error()).isTrue();
      assertThat(answer.lines()).isEqualTo(StatsReport.figures(engineStats));

      Map<String, String> f = StatsLines.parse(answer.lines());
      ExportStats e = engineStats.export("swap0").orElseThrow();
      PoolStats p = engineStats.pool();
      assertThat(number(f, "swap0.stored_pages")).isEqualTo(WRITTEN - TRIMMED).isEqualTo(e.storedPages());
      assertThat(number(f, "swap0.same_pages")).isEqualTo(ZERO - 10).isEqualTo(e.samePages());
      assertThat(number(f, "swap0.orig_data_size")).isEqualTo((WRITTEN - TRIMMED) * 4096L).isEqualTo(e.origDataSize());
      assertThat(number(f, "swap0.invalidated_pages")).isEqualTo(TRIMMED).isEqualTo(e.invalidatedPages());
      assertThat(number(f, "swap0.stores")).isEqualTo(WRITTEN).isEqualTo(e.stores());
      assertThat(number(f, "swap0.compr_data_size")).isEqualTo(e.comprDataSize()).isPositive();
      assertThat(f.get("swap0.compression_ratio")).isEqualTo(StatsReport.ratio(e.origDataSize(), e.comprDataSize()));
      assertThat(number(f, "pool.mem_used_total")).isEqualTo(p.memUsedTotal()).isPositive();
      assertThat(number(f, "pool.mem_limit")).isEqualTo(8 << 20);
      assertThat(number(f, "pool.handles_in_use")).isEqualTo(p.handlesInUse()).isEqualTo(WRITTEN - TRIMMED - (ZERO - 10));
    }
  }

  @Test
  void controlRequestsAnswerWhatTheyDidAndBadOnesAreRefused() throws IOException {
    try (EngineFixture engine = start()) {
      Zswapd z = engine.zswapd();
      AdminServer server = admin(engine);
      AdminClient client = AdminClient.unix(server.unixSocket().orElseThrow());
      PageGenerator gen = new PageGenerator(18);
      for (int i = 0; i < 100; i++) {
        await(z.store("swap0", i, gen.page(i, PageGenerator.Kind.C50)));
      }
      AdminClient.Answer set = client.send(new AdminRequest.Set("pool.max-size", "4 MiB"));
      assertThat(set.lines()).containsExactly("pool.max-size = 4194304 B (4.0 MiB)",
          "pool limit in force 4194304 B (4.0 MiB), accept below 3772416 B (90%)");
      assertThat(await(z.stats()).pool().memLimit()).isEqualTo(4 << 20);

      AdminClient.Answer bad = client.send(new AdminRequest.Set("pool.max-size", "4 MB/s"));
      assertThat(bad.ok()).isFalse();
      assertThat(bad.error()).startsWith("zswapd.pool.max-size = \"4 MB/s\": not a byte size;");
      assertThat(await(z.stats()).pool().memLimit()).as("unchanged").isEqualTo(4 << 20);

      AdminClient.Answer recompressed = client.send(AdminRequest.parse("recompress all --threshold 64"));
      ExportStats afterRecompress = await(z.stats()).export("swap0").orElseThrow();
      assertThat(recompressed.lines()).containsExactly(String.format(
          "recompress all --threshold 64: %d pages recompressed (%d bytes saved), %d kept (no gain), 0 failed",
          afterRecompress.recompress().recompressions(), afterRecompress.recompress().bytesSaved(),
          afterRecompress.recompress().kept()));
      assertThat(afterRecompress.recompress().recompressions() + afterRecompress.recompress().kept()).isEqualTo(100);
      AdminClient.Answer rate = client.send(AdminRequest.parse("set pool.recompress.max-rate 100"));
      assertThat(rate.lines()).containsExactly("pool.recompress.max-rate = 100",
          "recompress: idle-after off, huge off, threshold 0 B, min-saving 10%, max-rate 100 pages/s");

      AdminClient.Answer written = client.send(AdminRequest.parse("writeback all"));
      assertThat(written.lines()).containsExactly(
          "writeback all: 100 pages written back, 0 failed, 0 refused (backing file full)");
      assertThat(await(z.stats()).export("swap0").orElseThrow().backing().writtenBackPages()).isEqualTo(100);

      assertThat(client.send(new AdminRequest.Compact()).lines()).singleElement().asString().startsWith("compacted: ");
      AdminClient.Answer reset = client.send(new AdminRequest.ResetMax());
      PoolStats pool = await(z.stats()).pool();
      assertThat(pool.memUsedMax()).isEqualTo(pool.memUsedTotal());
      assertThat(reset.lines()).containsExactly("mem_used_max reset to mem_used_total: " + pool.memUsedMax() + " B ("
          + StatsReport.human(pool.memUsedMax()) + ")");

      AdminClient.Answer classes = client.send(new AdminRequest.Stats(AdminRequest.Stats.View.CLASSES));
      assertThat(classes.lines().get(0)).startsWith("class  size  empty");
      assertThat(classes.lines()).hasSize(await(z.stats()).classes().size() + 2);
    }
  }

  @Test
  void aLineTheCliWouldNotSendIsAnsweredWithAnError() throws IOException {
    try (EngineFixture engine = start()) {
      AdminServer server = admin(engine);
      assertThat(raw(server.unixSocket().orElseThrow(), "frob\n")).isEqualTo(
          "error: unknown command 'frob'; commands: stats, compact, writeback, recompress, set, reset-max\n");
      assertThat(raw(server.unixSocket().orElseThrow(), "x".repeat(5000))).startsWith("error: request not read");
    }
  }

  @Test
  void writebackWithoutABackingFileIsRefusedAndItsPolicySaysItDoesNothing() throws IOException {
    try (EngineFixture engine = EngineFixture.start(
        "zswapd.admin.unix-socket = \"" + dir.resolve("admin.sock") + "\"")) {
      AdminServer server = admin(engine);
      AdminClient.Answer a = AdminClient.unix(server.unixSocket().orElseThrow()).send(AdminRequest.parse("writeback idle"));
      assertThat(a.error()).isEqualTo("writeback needs an export with a backing-file; none is configured");
      AdminClient.Answer idle = AdminClient.unix(server.unixSocket().orElseThrow())
          .send(new AdminRequest.Set("pool.writeback.idle-after", "1h"));
      assertThat(idle.lines()).containsExactly("pool.writeback.idle-after = 1h",
          "writeback: idle-after 1h, reclaim-timeout 10s (no export has a backing-file: nothing is written back)");
    }
  }

  @Test
  void loopbackTcpSpeaksTheSameProtocol() throws IOException {
    try (EngineFixture engine = EngineFixture.start("""
        zswapd.admin { unix-socket = off, tcp = "127.0.0.1:0" }""")) {
      AdminServer server = admin(engine);
      assertThat(server.unixSocket()).isEmpty();
      AdminClient client = AdminClient.tcp(server.tcpAddress().orElseThrow());
      AdminClient.Answer a = client.send(new AdminRequest.Stats(AdminRequest.Stats.View.FIGURES));
      assertThat(a.ok()).isTrue();
      assertThat(a.lines()).isEqualTo(StatsReport.figures(await(engine.zswapd().stats())));
      assertThat(client.send(new AdminRequest.Set("pool.accept-threshold", "150%")).error())
          .isEqualTo("zswapd.pool.accept-threshold = \"150%\": must be a percentage from 1% to 100%");
      await(server.stop());
    }
  }

  /**
   * Connections that send nothing hold heap until the idle timeout: past 16 open at once, one
   * more is told the endpoint is busy and closed, and once one of them goes a request is answered
   * again. Those already open still answer.
   */
  @Test
  void pastSixteenOpenConnectionsOneMoreIsToldItIsBusy() throws IOException {
    try (EngineFixture engine = start()) {
      AdminServer server = admin(engine);
      Path socket = server.unixSocket().orElseThrow();
      List<SocketChannel> idle = new ArrayList<>();
      try {
        for (int i = 0; i < 16; i++) {
          SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
          ch.connect(UnixDomainSocketAddress.of(socket));
          idle.add(ch);
        }
        AdminClient.Answer refused = AdminClient.unix(socket).send(new AdminRequest.Stats(AdminRequest.Stats.View.FIGURES));
        assertThat(refused.error()).isEqualTo("busy: 16 admin connections are open; try again when they are answered");

        SocketChannel first = idle.remove(0);
        first.write(ByteBuffer.wrap("frob\n".getBytes(StandardCharsets.UTF_8)));
        assertThat(readAll(first)).as("an open connection is still answered").startsWith("error: unknown command 'frob'");
        first.close();
        Awaitility.await("a request answered once a connection has gone").atMost(Duration.ofSeconds(30))
            .untilAsserted(() -> assertThat(AdminClient.unix(socket)
                .send(new AdminRequest.Stats(AdminRequest.Stats.View.FIGURES)).ok()).isTrue());
      } finally {
        for (SocketChannel ch : idle) {
          ch.close();
        }
      }
    }
  }

  private static String readAll(SocketChannel ch) throws IOException {
    ByteBuffer in = ByteBuffer.allocate(1 << 16);
    while (ch.read(in) >= 0) {
      // until the daemon closes
    }
    in.flip();
    return StandardCharsets.UTF_8.decode(in).toString();
  }

  /** Sends raw bytes, half-closes, and reads the whole answer. */
  private static String raw(Path socket, String request) throws IOException {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
      ch.shutdownOutput();
      return readAll(ch);
    }
  }

  @Test
  void recompressWithoutASecondCodecIsRefused() throws IOException {
    try (EngineFixture engine = EngineFixture.start("zswapd.admin.unix-socket = \"" + dir.resolve("admin.sock") + "\"\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 64 MiB } ]")) {
      AdminServer server = admin(engine);
      AdminClient.Answer answer = AdminClient.unix(server.unixSocket().orElseThrow())
          .send(AdminRequest.parse("recompress idle"));
      assertThat(answer.ok()).isFalse();
      assertThat(answer.error())
          .isEqualTo("recompress needs an export with a recompressor (a second codec); none is configured");
    }
  }
}
