package io.zswapd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code zswapd.nbd}: who may connect and what a connection may hold. */
class NbdSettingsTest {
  private static final long MIB = 1 << 20;

  private static SettingsException failure(String hocon) {
    return (SettingsException) org.assertj.core.api.Assertions.catchThrowable(() -> ZswapdSettings.parse(hocon));
  }

  @ParameterizedTest
  @ValueSource(strings = {"0.0.0.0:10809", "[::]:10809", "192.0.2.1:10809"})
  void aNonLoopbackTcpAddressWithoutTlsIsRefused(String address) {
    SettingsException e = failure("zswapd.nbd.tcp = \"" + address + "\"");

    assertThat(e).isNotNull();
    assertThat(e.key()).isEqualTo("zswapd.nbd.tcp");
    assertThat(e.getMessage()).startsWith("zswapd.nbd.tcp = \"" + address + "\": a non-loopback address needs"
        + " zswapd.nbd.tls").doesNotContain("\n");
  }

  @Test
  void loopbackTcpWithoutTlsIsAllowed() {
    assertThat(ZswapdSettings.parse("zswapd.nbd.tcp = \"127.0.0.1:0\"").nbd().tcp()).isPresent();
    assertThat(ZswapdSettings.parse("zswapd.nbd.tcp = \"[::1]:0\"").nbd().tcp()).isPresent();
  }

  @Test
  void aNonLoopbackAddressIsAllowedWithTls(@TempDir Path dir) throws Exception {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "x");
    Path key = Files.writeString(dir.resolve("key.pem"), "x");
    ZswapdSettings s = ZswapdSettings.parse("zswapd.nbd { tcp = \"0.0.0.0:10809\", tls { certificate = \"" + cert
        + "\", private-key = \"" + key + "\" } }");

    assertThat(s.nbd().tls()).contains(new TlsSettings(cert, key, java.util.Optional.empty()));
  }

  @Test
  void tlsNeedsBothFilesAndTheyMustExist(@TempDir Path dir) throws Exception {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "x");
    assertThat(failure("zswapd.nbd.tls.certificate = \"" + cert + "\"").getMessage())
        .isEqualTo("zswapd.nbd.tls.private-key: missing; TLS needs both certificate and private-key (PEM files)");
    assertThat(failure("zswapd.nbd.tls { certificate = \"" + cert + "\", private-key = \"" + dir.resolve("none")
        + "\" }").getMessage()).startsWith("zswapd.nbd.tls.private-key = ").contains("no readable file there");
    assertThat(failure("zswapd.nbd.tls.client-ca = \"" + cert + "\"").key()).isEqualTo("zswapd.nbd.tls.client-ca");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "65537", "many"})
  void maxConnectionsOutside1To65536IsRefused(String value) {
    assertThat(failure("zswapd.nbd.max-connections = " + value).getMessage())
        .endsWith("must be an integer from 1 to 65536");
  }

  @Test
  void bufferMemoryMustHoldTwoLargestRequests() {
    assertThat(failure("zswapd.nbd { max-payload = 32 MiB, buffer-memory = 63 MiB }").getMessage())
        .startsWith("zswapd.nbd.buffer-memory = \"63 MiB\": must be a byte size from twice nbd.max-payload");
    NbdSettings n = ZswapdSettings.parse("zswapd.nbd { max-payload = 32 MiB, buffer-memory = 64 MiB }").nbd();
    assertThat(n.connectionBufferBytes()).as("at least max-payload").isEqualTo(32 * MIB);
    assertThat(ZswapdSettings.parse("zswapd.nbd.buffer-memory = 1 GiB").nbd().connectionBufferBytes())
        .as("at most 64 MiB").isEqualTo(64 * MIB);
  }

  @Test
  void timeoutsTakeDurationsAndIdleTakesOff() {
    NbdSettings n = ZswapdSettings.parse(
        "zswapd.nbd { handshake-timeout = 3s, idle-timeout = 5m, send-timeout = 2s }").nbd();
    assertThat(n.handshakeTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(n.idleTimeout()).contains(Duration.ofMinutes(5));
    assertThat(n.sendTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(failure("zswapd.nbd.send-timeout = off").getMessage()).endsWith("must be a duration from 1s to 1d");
    assertThat(failure("zswapd.nbd.handshake-timeout = 100ms").getMessage())
        .isEqualTo("zswapd.nbd.handshake-timeout = \"100ms\": must be a duration from 1s to 1d");
    assertThatThrownBy(() -> ZswapdSettings.parse("zswapd.nbd.idle-timeout = 2d"))
        .hasMessage("zswapd.nbd.idle-timeout = \"2d\": must be \"off\" or a duration from 1s to 1d");
  }

  @Test
  void replyHoldIsADurationFromZeroToOneSecond() {
    assertThat(ZswapdSettings.parse("").nbd().replyHold()).isEqualTo(Duration.ofMillis(10));
    assertThat(ZswapdSettings.parse("zswapd.nbd.reply-hold = 0").nbd().replyHold()).isZero();
    assertThat(ZswapdSettings.parse("zswapd.nbd.reply-hold = 1s").nbd().replyHold()).isEqualTo(Duration.ofSeconds(1));
    assertThat(failure("zswapd.nbd.reply-hold = 1001ms").getMessage())
        .isEqualTo("zswapd.nbd.reply-hold = \"1001ms\": must be a duration from 0 (each reply at once) to 1s");
    assertThat(failure("zswapd.nbd.reply-hold = -1ms").getMessage())
        .endsWith("must be a duration from 0 (each reply at once) to 1s");
    assertThat(failure("zswapd.nbd.reply-hold = off").getMessage())
        .endsWith("must be a duration from 0 (each reply at once) to 1s");
  }
}
