package io.zswapd.testkit.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.OptionReply;
import io.zswapd.testkit.NbdFixture;
import io.zswapd.testkit.nbd.Negotiation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NBD over TLS as qemu-nbd and nbdkit do it with {@code --tls=require}: libnbd's tools (GnuTLS)
 * reach an export only after STARTTLS, verifying zswapd's certificate against a CA made here
 * with openssl; a plain client learns nothing, not even the export names; with
 * {@code client-ca} a client without a certificate signed by it is refused.
 */
class TlsInteropTest {
  @TempDir
  static Path dir;
  private static Map<String, String> environment;
  private static Path pki;
  private static Path clientDir;
  private static Path anonymousDir;

  @BeforeAll
  static void makeCertificates() throws IOException {
    ExternalTool.require("openssl");
    Path nbdsh = ExternalTool.require("nbdsh");
    ExternalTool.require("nbdinfo");
    environment = Map.of("PATH", nbdsh.getParent() + ":" + System.getenv("PATH"));
    pki = Files.createDirectories(dir.resolve("pki"));
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=zswapd test CA",
        "-keyout", pki.resolve("ca-key.pem").toString(), "-out", pki.resolve("ca-cert.pem").toString());
    signed("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    signed("client", "/CN=zswapd test client", "extendedKeyUsage=clientAuth\n");
    // libnbd's tls-certificates directory: ca-cert.pem, and client-cert.pem / client-key.pem for mutual TLS
    clientDir = Files.createDirectories(dir.resolve("client"));
    Files.copy(pki.resolve("ca-cert.pem"), clientDir.resolve("ca-cert.pem"));
    Files.copy(pki.resolve("client-cert.pem"), clientDir.resolve("client-cert.pem"));
    Files.copy(pki.resolve("client-key.pem"), clientDir.resolve("client-key.pem"));
    anonymousDir = Files.createDirectories(dir.resolve("anonymous"));
    Files.copy(pki.resolve("ca-cert.pem"), anonymousDir.resolve("ca-cert.pem"));
  }

  private static void signed(String name, String subject, String extensions) throws IOException {
    Path ext = Files.writeString(pki.resolve(name + ".ext"), extensions);
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", pki.resolve(name + "-key.pem").toString(),
        "-out", pki.resolve(name + ".csr").toString());
    openssl("x509", "-req", "-days", "2", "-in", pki.resolve(name + ".csr").toString(), "-CA",
        pki.resolve("ca-cert.pem").toString(), "-CAkey", pki.resolve("ca-key.pem").toString(), "-CAcreateserial",
        "-extfile", ext.toString(), "-out", pki.resolve(name + "-cert.pem").toString());
  }

  private static void openssl(String... args) {
    String[] command = new String[args.length + 1];
    command[0] = "openssl";
    System.arraycopy(args, 0, command, 1, args.length);
    ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(60), command);
    assertThat(r.exitCode()).as(r.describe()).isZero();
  }

  private static String tlsConfig(boolean clientCa) {
    return "zswapd.pool.max-size = 64 MiB\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 64 MiB } ]\n"
        + "zswapd.nbd.tls { certificate = \"" + pki.resolve("server-cert.pem") + "\", private-key = \""
        + pki.resolve("server-key.pem") + "\"" + (clientCa ? ", client-ca = \"" + pki.resolve("ca-cert.pem") + "\"" : "")
        + " }\n";
  }

  /** libnbd reads tls-certificates from a URI only when allowed to. */
  private static String connect(String uri) {
    return "h.set_uri_allow_local_file(True)\nh.connect_uri(\"" + uri + "\")\n";
  }

  private static String tlsUri(NbdFixture f, Path certificates) {
    return "nbds://127.0.0.1:" + f.tcp().getPort() + "/swap0?tls-certificates=" + certificates;
  }

  private static final String ROUND_TRIP = """
      page = bytes(range(256)) * 16
      h.pwrite(page, 8192)
      print("round-trip", h.pread(4096, 8192) == page, h.get_size())
      """;

  @Test
  void libnbdWritesAndReadsOverTlsAfterVerifyingTheServer() {
    try (NbdFixture f = NbdFixture.start(tlsConfig(false))) {
      ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(60), environment, "nbdsh", "-c",
          connect(tlsUri(f, anonymousDir)) + ROUND_TRIP);
      assertThat(r.exitCode()).as(r.describe()).isZero();
      assertThat(r.stdout().strip()).as(r.describe()).isEqualTo("round-trip True " + (64 << 20));
      // the Unix socket (owner-only) is served without TLS
      ExternalTool.Result unix = ExternalTool.run(Duration.ofSeconds(60), environment, "nbdsh", "-c",
          connect(f.unixUri("swap0")) + ROUND_TRIP);
      assertThat(unix.stdout().strip()).as(unix.describe()).isEqualTo("round-trip True " + (64 << 20));
    }
  }

  @Test
  void aPlainClientIsToldTlsIsRequiredAndSeesNoExport() throws IOException {
    try (NbdFixture f = NbdFixture.start(tlsConfig(false))) {
      ExternalTool.Result plain = ExternalTool.run(Duration.ofSeconds(60), "nbdinfo", "--list",
          "nbd://127.0.0.1:" + f.tcp().getPort() + "/");
      assertThat(plain.exitCode()).as(plain.describe()).isNotZero();
      assertThat(plain.stdout()).doesNotContain("swap0");
      try (Negotiation n = Negotiation.open(f.tcp(), true)) {
        List<OptionReply> replies = n.optionRaw(Nbd.OPT_LIST, new byte[0]);
        assertThat(replies).extracting(OptionReply::type).containsExactly(Nbd.REP_ERR_TLS_REQD);
        assertThatThrownBy(() -> n.go("swap0")).isInstanceOf(IOException.class);
      }
    }
  }

  @Test
  void aClientThatDoesNotTrustTheServerCertificateIsNotServed(@TempDir Path otherCa) {
    try (NbdFixture f = NbdFixture.start(tlsConfig(false))) {
      openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=someone else",
          "-keyout", otherCa.resolve("ca-key.pem").toString(), "-out", otherCa.resolve("ca-cert.pem").toString());
      ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(60), environment, "nbdsh", "-c",
          connect(tlsUri(f, otherCa)) + ROUND_TRIP);
      assertThat(r.exitCode()).as(r.describe()).isNotZero();
    }
  }

  @Test
  void withClientCaOnlyAClientWithACertificateItSignedIsServed() {
    try (NbdFixture f = NbdFixture.start(tlsConfig(true))) {
      ExternalTool.Result anonymous = ExternalTool.run(Duration.ofSeconds(60), environment, "nbdsh", "-c",
          connect(tlsUri(f, anonymousDir)) + ROUND_TRIP);
      assertThat(anonymous.exitCode()).as(anonymous.describe()).isNotZero();
      ExternalTool.Result known = ExternalTool.run(Duration.ofSeconds(60), environment, "nbdsh", "-c",
          connect(tlsUri(f, clientDir)) + ROUND_TRIP);
      assertThat(known.stdout().strip()).as(known.describe()).isEqualTo("round-trip True " + (64 << 20));
    }
  }

  @Test
  void aPrivateKeyThatIsNotTheCertificatesStopsTheStartNamingTheKey() {
    String config = tlsConfig(false).replace(pki.resolve("server-key.pem").toString(),
        pki.resolve("client-key.pem").toString());
    assertThatThrownBy(() -> NbdFixture.start(config).close())
        .hasMessageContaining("zswapd.nbd.tls.private-key")
        .hasMessageContaining("does not belong to the certificate");
  }
}
