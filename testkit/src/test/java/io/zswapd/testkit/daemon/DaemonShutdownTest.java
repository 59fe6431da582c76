package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.testkit.nbd.Reply;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM while clients have writes in flight: the daemon answers what it has taken in, closes
 * the connections, removes its socket and exits.
 *
 * <p>The exit status is 143 (128 + SIGTERM), not the 0 that Main's usage text promises: the
 * JVM's SIGTERM handler starts the shutdown with status 143, the shutdown hooks (Akka's
 * coordinated shutdown among them) run, and Main's {@code System.exit(0)} after the actor
 * system has terminated cannot change a status once shutdown has begun (it blocks, and the
 * JVM halts with 143 when the hooks finish).
 */
class DaemonShutdownTest {
  /**
   * 32 x 1 MiB per connection stays under the server's per-connection in-flight limits (128
   * requests, 64 MiB), so it takes every request off the socket at once and all of them are in
   * flight, not waiting unread in a socket buffer, when SIGTERM arrives.
   */
  private static final int WRITES_PER_CLIENT = 32;
  private static final int WRITE_SIZE = 1 << 20;

  @TempDir
  Path dir;

  @Test
  void sigtermAnswersRequestsInFlightExitsAndRemovesTheSocket() throws IOException {
    Path socket = dir.resolve("zswapd.sock");
    int port = Daemon.freePort();
    try (Daemon daemon = Daemon.serve(Daemon.config(dir, port, socket, "zswapd.pool.max-size = 256 MiB"))) {
      daemon.awaitReady();
      try (NbdClient tcp = NbdClient.connectGo(new InetSocketAddress("127.0.0.1", port), "swap0", true);
          NbdClient unix = NbdClient.connectGo(UnixDomainSocketAddress.of(socket), "swap0", true)) {
        List<Long> tcpHandles = sendWrites(tcp, 0);
        List<Long> unixHandles = sendWrites(unix, 128L << 20);

        daemon.terminate();

        List<String> problems = new ArrayList<>();
        problems.addAll(collectReplies("tcp", tcp, tcpHandles));
        problems.addAll(collectReplies("unix", unix, unixHandles));
        assertThat(problems).as("writes sent before SIGTERM without an OK reply\n%s", daemon.output()).isEmpty();
        assertThat(tcp.awaitServerClose()).as("tcp connection closed by the daemon").isTrue();
        assertThat(unix.awaitServerClose()).as("unix connection closed by the daemon").isTrue();
      }
      int status = daemon.awaitExit(Duration.ofSeconds(60));
      assertThat(status).as("exit status after SIGTERM\n%s", daemon.output()).isEqualTo(143);
      assertThat(Files.exists(socket, LinkOption.NOFOLLOW_LINKS)).as("%s removed", socket).isFalse();
      assertThat(daemon.stderr()).as("stderr after a clean shutdown")
          .noneMatch(l -> l.contains("Exception") || l.contains("ERROR"));
    }
  }

  /** Pipelines the writes: every request is on the wire before the first reply is read. */
  private static List<Long> sendWrites(NbdClient client, long base) throws IOException {
    PageGenerator gen = new PageGenerator(base);
    List<Long> handles = new ArrayList<>();
    for (int i = 0; i < WRITES_PER_CLIENT; i++) {
      byte[] data = new byte[WRITE_SIZE];
      for (int p = 0; p < WRITE_SIZE / PageGenerator.PAGE_SIZE; p++) {
        System.arraycopy(gen.page((long) i * 256 + p, PageGenerator.Kind.C50), 0, data, p * PageGenerator.PAGE_SIZE,
            PageGenerator.PAGE_SIZE);
      }
      handles.add(client.send(Nbd.CMD_WRITE, 0, base + (long) i * WRITE_SIZE, WRITE_SIZE, data));
    }
    return handles;
  }

  private static List<String> collectReplies(String transport, NbdClient client, List<Long> handles) {
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < handles.size(); i++) {
      long h = handles.get(i);
      try {
        Reply r = client.await(h);
        if (!r.isOk()) {
          problems.add(transport + ": " + r);
        }
      } catch (IOException e) {
        problems.add(transport + ": no reply for handle " + h + " (write " + (i + 1) + " of " + handles.size()
            + "), nor for the " + (handles.size() - i - 1) + " sent after it: " + e);
        break; // the stream is gone
      }
    }
    return problems;
  }
}
