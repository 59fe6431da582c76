package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the daemon does when its listen addresses are taken: a TCP port in use, a regular file
 * at the socket path and a live admin socket stop it with one line on stderr; a socket file left
 * by a crashed daemon is replaced.
 */
class DaemonStartupFailureTest {
  private static final Duration GIVE_UP = Duration.ofSeconds(120);

  @TempDir
  Path dir;

  @Test
  void tcpPortInUseStopsTheDaemonWithOneLine() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Daemon daemon = Daemon.serve(Daemon.config(dir, taken.getLocalPort(), dir.resolve("zswapd.sock"), ""))) {
      int status = daemon.awaitExit(GIVE_UP);
      SoftAssertions soft = new SoftAssertions();
      soft.assertThat(status).as("exit status\n%s", daemon.output()).isNotZero();
      soft.assertThat(daemon.stderr()).as("stderr names the failure and the port")
          .anySatisfy(l -> assertThat(l).contains("cannot listen on TCP").contains(":" + taken.getLocalPort()));
      soft.assertThat(daemon.stderr()).as("stderr is that one line").hasSize(1);
      soft.assertThat(daemon.stdout()).as("no banner").isEmpty();
      soft.assertThat(Files.exists(dir.resolve("zswapd.sock"), LinkOption.NOFOLLOW_LINKS))
          .as("the socket it had opened is removed").isFalse();
      soft.assertAll();
    }
  }

  @Test
  void metricsPortInUseStopsTheDaemonWithOneLine() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Daemon daemon = Daemon.serve(Daemon.config(dir, Daemon.freePort(), dir.resolve("zswapd.sock"),
            "zswapd.metrics.prometheus = \"127.0.0.1:" + taken.getLocalPort() + "\""))) {
      int status = daemon.awaitExit(GIVE_UP);
      SoftAssertions soft = new SoftAssertions();
      soft.assertThat(status).as("exit status\n%s", daemon.output()).isEqualTo(1);
      soft.assertThat(daemon.stderr()).as("stderr names the metrics setting and the port")
          .anySatisfy(l -> assertThat(l).contains("cannot serve metrics").contains(":" + taken.getLocalPort())
              .contains("zswapd.metrics.prometheus"));
      soft.assertThat(daemon.stderr()).as("stderr is that one line").hasSize(1);
      soft.assertThat(daemon.stdout()).as("no banner").isEmpty();
      soft.assertAll();
    }
  }

  @Test
  void staleSocketLeftByACrashedDaemonIsReplaced() throws IOException {
    Path socket = dir.resolve("zswapd.sock");
    try (ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      crashed.bind(UnixDomainSocketAddress.of(socket)); // closing it leaves the file behind
    }
    assertThat(Files.exists(socket, LinkOption.NOFOLLOW_LINKS)).as("stale socket file left behind").isTrue();
    int port = Daemon.freePort();
    try (Daemon daemon = Daemon.serve(Daemon.config(dir, port, socket, ""))) {
      daemon.awaitReady();
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)))
          .isEqualTo("rw-------");
      // the stale file refuses connections, so a working connection proves it was replaced
      try (NbdClient client = NbdClient.connectGo(UnixDomainSocketAddress.of(socket), "swap0", true)) {
        byte[] page = new byte[4096];
        page[0] = 42;
        client.write(0, page);
        assertThat(client.read(0, 4096)).isEqualTo(page);
        client.disconnect();
      }
    }
  }

  @Test
  void regularFileAtTheSocketPathIsRefusedAndLeftAlone() throws IOException {
    Path socket = Files.writeString(dir.resolve("zswapd.sock"), "not a socket\n");
    try (Daemon daemon = Daemon.serve(Daemon.config(dir, Daemon.freePort(), socket, ""))) {
      int status = daemon.awaitExit(GIVE_UP);
      SoftAssertions soft = new SoftAssertions();
      soft.assertThat(status).as("exit status\n%s", daemon.output()).isNotZero();
      soft.assertThat(daemon.stderr()).as("stderr says the path is not a socket")
          .anySatisfy(l -> assertThat(l).contains(socket.toString()).contains("not a socket"));
      soft.assertThat(daemon.stderr()).as("stderr is that one line").hasSize(1);
      soft.assertThat(daemon.stdout()).as("no banner").isEmpty();
      soft.assertThat(Files.readString(socket)).as("the file is untouched").isEqualTo("not a socket\n");
      soft.assertAll();
    }
  }

  @Test
  void adminSocketAnotherProcessServesStopsTheDaemonWithOneLine() throws IOException {
    Path admin = dir.resolve("zswapd-admin.sock");
    Path socket = dir.resolve("zswapd.sock");
    try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      other.bind(UnixDomainSocketAddress.of(admin)); // the kernel completes connects to it: live
      try (Daemon daemon = Daemon.serve(Daemon.config(dir, Daemon.freePort(), socket, ""))) {
        int status = daemon.awaitExit(GIVE_UP);
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(status).as("exit status\n%s", daemon.output()).isEqualTo(1);
        soft.assertThat(daemon.stderr()).as("stderr is one line naming the admin socket").singleElement().asString()
            .startsWith("zswapd: cannot listen on admin socket " + admin).contains("another process is serving");
        soft.assertThat(daemon.stdout()).as("no banner").isEmpty();
        soft.assertThat(Files.exists(socket, LinkOption.NOFOLLOW_LINKS)).as("the NBD socket is removed").isFalse();
        soft.assertThat(Files.exists(admin, LinkOption.NOFOLLOW_LINKS)).as("the other's socket is left").isTrue();
        soft.assertAll();
      }
    }
  }
}
