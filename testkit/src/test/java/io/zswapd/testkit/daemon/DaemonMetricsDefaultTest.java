package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With no metrics setting at all, {@code java -jar zswapd.jar serve} serves /metrics on
 * 127.0.0.1:9095, and on loopback only. Skipped when something else holds port 9095 on this
 * machine (another daemon a developer runs), since the test is about that exact port.
 */
class DaemonMetricsDefaultTest {
  @TempDir
  Path dir;

  @Test
  void defaultEndpointIsLoopbackPort9095() throws IOException {
    try (ServerSocket probe = new ServerSocket(9095, 1, InetAddress.getLoopbackAddress())) {
      probe.getLocalPort(); // free right now; released for the daemon below
    } catch (IOException busy) {
      Assumptions.abort("port 9095 is in use on this machine: " + busy.getMessage());
    }
    Path config = Files.writeString(dir.resolve("zswapd.conf"), """
        zswapd.pool.max-size = 64 MiB
        zswapd.exports = [ { name = "swap0", size = 64 MiB } ]
        zswapd.nbd.tcp = "127.0.0.1:%d"
        zswapd.nbd.unix-socket = off
        """.formatted(Daemon.freePort()));
    try (Daemon daemon = Daemon.serve(config)) {
      daemon.awaitReady();
      HttpClient http = HttpClient.newHttpClient();
      URI uri = URI.create("http://127.0.0.1:9095/metrics");
      Awaitility.await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(daemon.output()).isEqualTo(200);
        assertThat(r.body()).contains("zswapd_mem_limit_bytes{");
      });
      Optional<InetAddress> external = nonLoopbackAddress();
      if (external.isPresent()) {
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress(external.get(), 9095), 2000);
          throw new AssertionError("the metrics endpoint answers on " + external.get() + ", not only on loopback");
        } catch (IOException refused) {
          // expected: bound to 127.0.0.1 only
        }
      }
    }
  }

  private static Optional<InetAddress> nonLoopbackAddress() throws IOException {
    return NetworkInterface.networkInterfaces().filter(i -> {
      try {
        return i.isUp() && !i.isLoopback();
      } catch (IOException e) {
        return false;
      }
    }).flatMap(NetworkInterface::inetAddresses).filter(a -> a instanceof Inet4Address).findFirst();
  }
}
