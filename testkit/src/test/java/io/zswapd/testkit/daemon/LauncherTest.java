package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.interop.ExternalTool;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.protocol.nbd.Nbd;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.security.cert.X509Certificate;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher {@code bin/zswapd}, as the README runs it: the JVM it picks, the flags it works out
 * from the config ({@code zswapd jvm-options}), and a daemon started through it that maps its
 * chunks and locks its memory on JDK 22+.
 */
class LauncherTest {
  /** The JDK 22+ the project's machines have beside JDK 17. */
  private static final Path JDK25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
  private static final Duration TIMEOUT = Duration.ofSeconds(120);

  @TempDir
  Path dir;

  private static Path launcher() {
    Path module = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
    return module.resolve("../bin/zswapd").normalize();
  }

  private static ExternalTool.Result run(Map<String, String> env, String... args) {
    List<String> argv = new ArrayList<>(List.of(launcher().toString()));
    argv.addAll(List.of(args));
    Map<String, String> withJar = new java.util.HashMap<>(env);
    withJar.put("ZSWAPD_JAR", DaemonJar.path().toString());
    return ExternalTool.run(TIMEOUT, withJar, argv.toArray(String[]::new));
  }

  private static void requireJdk25() {
    if (!Files.isExecutable(JDK25)) {
      String message = JDK25 + " is missing (Temurin 25, beside JDK 17 on the project's machines)";
      if ("true".equals(System.getenv("CI"))) {
        fail(message);
      }
      Assumptions.abort(message);
    }
  }

  @Test
  void versionNamesTheReleaseTheJvmAndTheOffHeapMemory() {
    ExternalTool.Result r = run(Map.of("ZSWAPD_JAVA", DaemonJar.java().toString()), "--version");
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stdout()).as(r.describe())
        .matches("zswapd \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? on Java " + Runtime.version().feature() + "[^\\n]*off-heap: "
            + (Runtime.version().feature() >= 22 ? "mmap" : "direct \\(this JVM is Java[^\\n]*JDK 22 or later") + "[^\\n]*\\n");
  }

  /** A 1 GiB pool, exports of 4 GiB and 1 GiB (1,310,720 pages) and 64 MiB of NBD buffers. */
  private Path twoExports() throws IOException {
    return Files.writeString(dir.resolve("z.conf"), """
        zswapd.pool.max-size = 1 GiB
        zswapd.exports = [ { name = "a", size = 4 GiB }, { name = "b", size = 1 GiB } ]
        zswapd.nbd.buffer-memory = 64 MiB
        """);
  }

  @Test
  void theHeapIsSizedFromTheExportsAndTheBuffersFixedAndTouched() throws IOException {
    Path config = twoExports();
    // 32 MiB + 16 B x 1,310,720 pages (20 MiB) + 64 MiB + 64 connections x 16 KiB (1 MiB)
    ExternalTool.Result r = run(Map.of("ZSWAPD_JAVA", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"),
        "jvm-options", "--config", config.toString());
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/lib/jvm/java-17-openjdk-amd64/bin/java")), "no JDK 17");
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stdout().lines().toList()).as(r.describe()).containsExactly(
        "ENV MALLOC_ARENA_MAX=2",
        "ENV MALLOC_MMAP_THRESHOLD_=131072", // direct buffers: freed chunks go back to the OS
        "-Xms117m", "-Xmx117m", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC",
        "-XX:+ExitOnOutOfMemoryError", "-XX:MaxDirectMemorySize=1127m"); // 1 GiB + 10% for direct buffers

    requireJdk25();
    r = run(Map.of("ZSWAPD_JAVA", JDK25.toString()), "jvm-options", "--config", config.toString());
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stdout().lines().toList()).as(r.describe()).containsExactly(
        "ENV MALLOC_ARENA_MAX=2",
        "-Xms117m", "-Xmx117m", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
        "-XX:MaxDirectMemorySize=64m", // mmap chunks: only the JDK's own buffers are direct
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");
  }

  @Test
  void aDashDSettingInJavaOptsOverridesTheFileAndTheHeapIsSizedWithIt() throws IOException {
    Path config = twoExports();
    // 32 MiB + 20 MiB for the exports + the 128 MiB of the -D setting, not the file's 64 MiB, + 1 MiB
    // for 64 connections
    ExternalTool.Result r = run(Map.of("ZSWAPD_JAVA_OPTS", "-Xss1m -Dzswapd.nbd.buffer-memory=128MiB"),
        "jvm-options", "--config", config.toString());
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stdout().lines().toList()).as(r.describe()).contains("-Xms181m", "-Xmx181m");
  }

  @Test
  void aDashDSettingInJavaOptsOverridesTheDaemonsOwnFileAndTheOperatorsAtServe() throws Exception {
    int metricsPort = Daemon.freePort();
    // the operator's file turns metrics off (Daemon.config), over the daemon's own 127.0.0.1:9095;
    // its buffer-memory is the default 64 MiB, which a heap sized without the -D (98 MiB) holds
    // but the -D's 96 MiB it does not: the daemon would refuse to start
    Path config = Daemon.config(dir, Daemon.freePort(), dir.resolve("zswapd.sock"), "");
    List<String> argv = List.of(launcher().toString(), "serve", "--config", config.toString());
    String options = "-Dzswapd.metrics.prometheus=127.0.0.1:" + metricsPort + " -Dzswapd.nbd.buffer-memory=96MiB";
    try (Daemon d = Daemon.launch(argv, Map.of("ZSWAPD_JAR", DaemonJar.path().toString(), "ZSWAPD_JAVA",
        DaemonJar.java().toString(), "ZSWAPD_JAVA_OPTS", options), dir)) {
      d.awaitReady();
      String cmdline = Files.readString(Path.of("/proc/" + d.pid() + "/cmdline")).replace('\0', ' ');
      assertThat(cmdline).as("32 MiB + 1 MiB for the 256 MiB export + the -D's 96 MiB of buffers + 1 MiB for 64 connections")
          .contains(" -Xms130m ", " -Xmx130m ", " " + options + " ");
      HttpClient http = HttpClient.newHttpClient();
      URI uri = URI.create("http://127.0.0.1:" + metricsPort + "/metrics");
      Awaitility.await("/metrics on the -D setting's port " + metricsPort).atMost(Duration.ofSeconds(60))
          .ignoreExceptions().untilAsserted(() -> {
        HttpResponse<String> m = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(m.statusCode()).as(d.output()).isEqualTo(200);
        assertThat(m.body()).contains("zswapd_mem_limit_bytes{");
      });
      d.terminate();
      assertThat(d.awaitExit(Duration.ofSeconds(60))).isEqualTo(143);
    }
  }

  @Test
  void withoutNativeAccessAJdk25FallsBackToDirectBuffersAndSaysWhy() {
    requireJdk25();
    // -cp, not -jar: the jar manifest's Enable-Native-Access does not apply, as in an application
    ExternalTool.Result r = ExternalTool.run(TIMEOUT, JDK25.toString(), "--sun-misc-unsafe-memory-access=allow",
        "-cp", DaemonJar.path().toString(), "io.zswapd.bridge.Main", "--version");
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stdout()).as(r.describe()).contains("off-heap: direct (native access is not enabled",
        "--enable-native-access=ALL-UNNAMED");
    assertThat(r.stderr()).as("no JVM warning: nothing restricted was called").isEmpty();
  }

  @Test
  void aConfigErrorStopsTheLauncherWithTheDaemonsOneLine() throws IOException {
    Path config = Files.writeString(dir.resolve("bad.conf"), "zswapd.pool.off-heap = malloc\n");
    ExternalTool.Result r = run(Map.of(), "serve", "--config", config.toString());
    assertThat(r.exitCode()).as(r.describe()).isEqualTo(2);
    assertThat(r.stderr().strip()).as(r.describe())
        .isEqualTo("zswapd: zswapd.pool.off-heap = \"malloc\": allowed: auto, mmap (JDK 22 or later), direct");
  }

  @Test
  void onJdk25TheDaemonMapsItsChunksLocksItsMemoryAndServes() throws IOException {
    requireJdk25();
    Path socket = dir.resolve("zswapd.sock");
    Path config = Daemon.config(dir, Daemon.freePort(), socket, "");
    List<String> argv = List.of(launcher().toString(), "serve", "--config", config.toString());
    try (Daemon d = Daemon.launch(argv, Map.of("ZSWAPD_JAR", DaemonJar.path().toString(), "JAVA_HOME",
        "/usr/lib/jvm/java-17-openjdk-amd64"), dir)) {
      d.awaitReady();
      String cmdline = Files.readString(Path.of("/proc/" + d.pid() + "/cmdline")).replace('\0', ' ');
      assertThat(cmdline).as("the launcher picked JDK 25 over JAVA_HOME's 17 and exec'ed it with its flags")
          .startsWith(JDK25 + " ").contains("-XX:+AlwaysPreTouch", "-XX:+UseSerialGC", "-XX:MaxDirectMemorySize=64m");
      assertThat(d.stderr()).as(d.output())
          .anySatisfy(l -> assertThat(l).contains("arena chunks of 2.0 MiB (mmap)"))
          .noneSatisfy(l -> assertThat(l).contains("MALLOC_MMAP_THRESHOLD_"))
          .noneSatisfy(l -> assertThat(l).startsWith("WARNING:")); // no JVM warnings (Unsafe, native access)
      boolean root = "root".equals(System.getProperty("user.name"));
      if (root) {
        assertThat(d.stderr()).as(d.output())
            .anySatisfy(l -> assertThat(l).contains("INFO", "memory locked: mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT)"));
        assertThat(status(d.pid(), "VmLck:")).as("locked memory").isGreaterThan(0);
      } else {
        assertThat(d.stderr()).as(d.output())
            .anySatisfy(l -> assertThat(l).contains("WARN", "memory not locked", "RLIMIT_MEMLOCK"));
      }
      PageGenerator gen = new PageGenerator(11);
      try (NbdClient c = NbdClient.connectGo(UnixDomainSocketAddress.of(socket), "swap0", true)) {
        for (int i = 0; i < 256; i++) {
          c.write(i * 4096L, gen.page(i, PageGenerator.Kind.C50));
        }
        for (int i = 0; i < 256; i++) {
          assertThat(c.read(i * 4096L, 4096)).as("page %d", i).isEqualTo(gen.page(i, PageGenerator.Kind.C50));
        }
        c.disconnect();
      }
      d.terminate();
      assertThat(d.awaitExit(Duration.ofSeconds(60))).isEqualTo(143);
    }
  }

  /**
   * Hundreds of open TLS connections, the heaviest kind, fit the memory the launcher gives the
   * daemon: its heap has room for {@code max-connections} of them, and a connection holds no
   * direct memory of its own (ChannelStage's buffer is the thread's). Until 2026-12-07 the
   * heap was sized without the connections, and each connection held two 64 KiB direct buffers
   * of the 64 MiB the launcher allows on JDK 22+: some 500 connections ended the daemon, with
   * an OutOfMemoryError that Akka treats as fatal. The launcher picks the JVM, as the README
   * runs it.
   */
  @Test
  void sevenHundredTlsConnectionsFitTheMemoryTheLauncherGives() throws Exception {
    int connections = 700;
    ExternalTool.require("openssl");
    Path key = dir.resolve("key.pem");
    Path certificate = dir.resolve("cert.pem");
    ExternalTool.Result pki = ExternalTool.run(TIMEOUT, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", key.toString(),
        "-out", certificate.toString());
    assertThat(pki.exitCode()).as(pki.describe()).isZero();
    int port = Daemon.freePort();
    Path socket = dir.resolve("zswapd.sock");
    // heap: 32 MiB + 1 MiB for the 256 MiB export + 1 MiB of buffers + 1,000 x 64 KiB for TLS connections
    Path config = Daemon.config(dir, port, socket, """
        zswapd.nbd { max-connections = 1000, max-payload = 64 KiB, buffer-memory = 1 MiB }
        zswapd.nbd.tls { certificate = "%s", private-key = "%s" }
        """.formatted(certificate, key));
    List<String> argv = List.of(launcher().toString(), "serve", "--config", config.toString());
    SSLContext tls = trustingEveryone();
    List<java.net.Socket> open = new ArrayList<>();
    try (Daemon d = Daemon.launch(argv, Map.of("ZSWAPD_JAR", DaemonJar.path().toString()), dir)) {
      d.awaitReady();
      try {
        for (int i = 0; i < connections; i++) {
          try {
            open.add(tlsTransmission(tls, port));
          } catch (IOException e) {
            fail("TLS connection " + (i + 1) + " of " + connections + " failed (" + e + "); the daemon is "
                + (d.isAlive() ? "alive" : "gone") + "\n" + d.output());
          }
        }
        PageGenerator gen = new PageGenerator(12);
        try (NbdClient c = NbdClient.connectGo(UnixDomainSocketAddress.of(socket), "swap0", true)) {
          for (int i = 0; i < 64; i++) {
            c.write(i * 4096L, gen.page(i, PageGenerator.Kind.C50));
          }
          for (int i = 0; i < 64; i++) {
            assertThat(c.read(i * 4096L, 4096)).as("page %d with %d TLS connections open", i, connections)
                .isEqualTo(gen.page(i, PageGenerator.Kind.C50));
          }
          c.disconnect();
        }
      } finally {
        for (java.net.Socket s : open) {
          s.close();
        }
      }
      assertThat(d.output()).doesNotContain("OutOfMemoryError");
      d.terminate();
      assertThat(d.awaitExit(Duration.ofSeconds(60))).as(d.output()).isEqualTo(143);
    }
  }

  /** A TLS client that accepts any server certificate: the test is about memory, not trust. */
  private static SSLContext trustingEveryone() throws Exception {
    X509TrustManager everyone = new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    };
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, new TrustManager[] {everyone}, null);
    return context;
  }

  /**
   * An NBD connection over TCP that starts TLS (NBD_OPT_STARTTLS) and chooses "swap0"
   * (NBD_OPT_EXPORT_NAME), left open in the transmission phase.
   */
  private static java.net.Socket tlsTransmission(SSLContext tls, int port) throws IOException {
    java.net.Socket plain = new java.net.Socket("127.0.0.1", port);
    try {
      plain.setSoTimeout(30_000);
      plain.setTcpNoDelay(true); // each message in one segment, none waits for an ACK
      DataInputStream in = new DataInputStream(plain.getInputStream());
      in.readFully(new byte[18]); // NBDMAGIC, IHAVEOPT, handshake flags
      plain.getOutputStream().write(ByteBuffer.allocate(20)
          .putInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)
          .putLong(Nbd.IHAVEOPT).putInt(Nbd.OPT_STARTTLS).putInt(0).array());
      in.readFully(new byte[16]); // reply magic, option, reply type
      in.readFully(new byte[in.readInt()]);
      SSLSocket secure = (SSLSocket) tls.getSocketFactory().createSocket(plain, "localhost", port, true);
      secure.startHandshake();
      byte[] name = "swap0".getBytes(StandardCharsets.US_ASCII);
      secure.getOutputStream().write(ByteBuffer.allocate(16 + name.length)
          .putLong(Nbd.IHAVEOPT).putInt(Nbd.OPT_EXPORT_NAME).putInt(name.length).put(name).array());
      new DataInputStream(secure.getInputStream()).readFully(new byte[10]); // size, transmission flags
      return secure;
    } catch (IOException e) {
      plain.close();
      throw e;
    }
  }

  /** A kB figure of /proc/PID/status, such as "VmLck:". */
  private static long status(long pid, String key) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith(key)) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no " + key + " in /proc/" + pid + "/status");
  }
}
