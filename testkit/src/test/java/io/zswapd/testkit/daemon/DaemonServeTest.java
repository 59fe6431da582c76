package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One running daemon: what it prints when ready, the socket it makes, and NBD over both listeners. */
class DaemonServeTest {
  @TempDir
  static Path dir;
  private static int port;
  private static int metricsPort;
  private static Path socket;
  private static Daemon daemon;

  @BeforeAll
  static void start() {
    port = Daemon.freePort();
    metricsPort = Daemon.freePort();
    socket = dir.resolve("zswapd.sock");
    daemon = Daemon.serve(Daemon.config(dir, port, socket,
        "zswapd.metrics { prometheus = \"127.0.0.1:" + metricsPort + "\", tick-interval = 200ms }"));
    daemon.awaitReady();
  }

  @AfterAll
  static void stop() {
    if (daemon != null) {
      daemon.close();
    }
  }

  @Test
  void bannerNamesTheListenersAndTheExactAttachCommands() {
    assertThat(daemon.stdout()).as(daemon.output())
        .anySatisfy(l -> assertThat(l).startsWith("zswapd ready:"))
        .contains(
            "  NBD over TCP:  127.0.0.1:" + port,
            "  NBD over unix: " + socket,
            "  nbd-client -unix " + socket + " /dev/nbd0 -N swap0 -b 4096 -L -swap -persist",
            "  mkswap /dev/nbd0",
            "  swapon --discard=pages /dev/nbd0",
            "Check it: nbdinfo 'nbd+unix:///swap0?socket=" + socket + "'",
            "  metrics:       http://127.0.0.1:" + metricsPort + "/metrics");
    assertThat(daemon.stderr()).as("started as the README says: no glibc warning")
        .noneSatisfy(l -> assertThat(l).contains("MALLOC_MMAP_THRESHOLD_"));
  }

  @Test
  void unixSocketIsASocketOnlyItsOwnerCanUse() throws IOException {
    BasicFileAttributes a = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    assertThat(a.isOther()).as("%s is a socket", socket).isTrue();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)))
        .isEqualTo("rw-------");
  }

  @Test
  void pageWrittenOverEitherListenerReadsBackOverTheOther() throws IOException {
    PageGenerator gen = new PageGenerator(7);
    byte[] viaTcp = gen.page(1, PageGenerator.Kind.C50);
    byte[] viaUnix = gen.page(2, PageGenerator.Kind.TEXT);
    try (NbdClient tcp = NbdClient.connectGo(new InetSocketAddress("127.0.0.1", port), "swap0", true);
        NbdClient unix = NbdClient.connectGo(UnixDomainSocketAddress.of(socket), "swap0", true)) {
      assertThat(tcp.size()).isEqualTo(256L << 20);
      assertThat(unix.size()).isEqualTo(256L << 20);
      tcp.write(40_960, viaTcp);
      unix.write(45_056, viaUnix);
      assertThat(unix.read(40_960, 4096)).isEqualTo(viaTcp);
      assertThat(tcp.read(45_056, 4096)).isEqualTo(viaUnix);
      assertThat(tcp.read(40_960, 8192)).isEqualTo(concat(viaTcp, viaUnix));
      tcp.disconnect();
      unix.disconnect();
    }
  }

  @Test
  void metricsEndpointServesTheEngineAndNbdFiguresOnLoopback() throws IOException {
    byte[] page = new PageGenerator(11).page(3, PageGenerator.Kind.C25);
    try (NbdClient tcp = NbdClient.connectGo(new InetSocketAddress("127.0.0.1", port), "swap0", true)) {
      tcp.write(1L << 20, page);
      tcp.trim(1L << 20, 4096);
      tcp.disconnect();
    }
    URI uri = URI.create("http://127.0.0.1:" + metricsPort + "/metrics");
    HttpClient http = HttpClient.newHttpClient();
    Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body().lines())
          .anySatisfy(l -> assertThat(l).startsWith("zswapd_mem_limit_bytes{")
              .contains("engine=\"zswapd\"", "compressor=\"lz4\"").endsWith(" 67108864.0"))
          .anySatisfy(l -> assertThat(l).startsWith("zswapd_nbd_requests_total{")
              .contains("export=\"swap0\"", "command=\"trim\"").endsWith(" 1.0"))
          .anySatisfy(l -> assertThat(l).startsWith("zswapd_invalidated_pages_total{")
              .contains("export=\"swap0\"").endsWith(" 1.0"));
    });
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] r = new byte[a.length + b.length];
    System.arraycopy(a, 0, r, 0, a.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
