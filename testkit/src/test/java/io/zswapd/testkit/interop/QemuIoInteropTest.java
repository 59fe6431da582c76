package io.zswapd.testkit.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.NbdFixture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * qemu's NBD block driver, through qemu-io: pattern writes and reads (qemu-io checks every byte
 * of a {@code read -P}), writes that start and end inside pages, discard and write-zeroes.
 * Each test has its own export per transport, so the tests do not see each other's data.
 */
class QemuIoInteropTest {
  private static final String PATTERN_FAILED = "Pattern verification failed";
  private static NbdFixture nbd;

  @BeforeAll
  static void start() {
    ExternalTool.require("qemu-io");
    StringBuilder exports = new StringBuilder();
    for (String test : List.of("aligned", "unaligned", "discard", "zeroes", "wrong")) {
      for (String transport : List.of("tcp", "unix")) {
        exports.append("{ name = \"").append(test).append('-').append(transport).append("\", size = 1 MiB }\n");
      }
    }
    nbd = NbdFixture.start("zswapd.pool.max-size = 64 MiB\nzswapd.exports = [\n" + exports + "]\n");
  }

  @AfterAll
  static void stop() {
    if (nbd != null) {
      nbd.close();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tcp", "unix"})
  void alignedWriteReadsBackItsPattern(String transport) {
    assertAllPass(qemuIo("aligned", transport,
        "write -P 0xab 0 64k",
        "read -P 0xab 0 64k"),
        "wrote 65536/65536 bytes at offset 0", "read 65536/65536 bytes at offset 0");
  }

  @ParameterizedTest
  @ValueSource(strings = {"tcp", "unix"})
  void unalignedWriteChangesOnlyItsOwnBytes(String transport) {
    assertAllPass(qemuIo("unaligned", transport,
        "write -P 0xab 0 64k",
        "write -P 0x5a 1000 5000",
        "read -P 0x5a 1000 5000",
        "read -P 0xab 0 1000",
        "read -P 0xab 6000 59536"),
        "wrote 5000/5000 bytes at offset 1000", "read 5000/5000 bytes at offset 1000",
        "read 1000/1000 bytes at offset 0", "read 59536/59536 bytes at offset 6000");
  }

  @ParameterizedTest
  @ValueSource(strings = {"tcp", "unix"})
  void discardedRangeReadsAsZeros(String transport) {
    assertAllPass(qemuIo("discard", transport,
        "write -P 0xab 0 128k",
        "discard 0 64k",
        "read -P 0 0 64k",
        "read -P 0xab 64k 64k"),
        "discard 65536/65536 bytes at offset 0", "read 65536/65536 bytes at offset 0",
        "read 65536/65536 bytes at offset 65536");
  }

  @ParameterizedTest
  @ValueSource(strings = {"tcp", "unix"})
  void writeZeroesReadsAsZeros(String transport) {
    assertAllPass(qemuIo("zeroes", transport,
        "write -P 0xab 64k 192k",
        "write -z 128k 64k",
        "read -P 0 128k 64k",
        "read -P 0xab 64k 64k",
        "read -P 0xab 192k 64k"),
        "wrote 65536/65536 bytes at offset 131072", "read 65536/65536 bytes at offset 131072",
        "read 65536/65536 bytes at offset 65536", "read 65536/65536 bytes at offset 196608");
  }

  /** The control: the checks above would see wrong bytes. */
  @ParameterizedTest
  @ValueSource(strings = {"tcp", "unix"})
  void readOfTheWrongPatternFails(String transport) {
    ExternalTool.Result r = qemuIo("wrong", transport, "write -P 0xab 0 4k", "read -P 0xac 0 4k");
    assertThat(r.exitCode()).as(r.describe()).isNotZero();
    assertThat(r.stdout() + r.stderr()).as(r.describe()).contains(PATTERN_FAILED);
  }

  private static ExternalTool.Result qemuIo(String test, String transport, String... commands) {
    String export = test + "-" + transport;
    List<String> argv = new ArrayList<>(List.of("qemu-io", "-f", "raw",
        transport.equals("tcp") ? nbd.tcpUri(export) : nbd.unixUri(export)));
    for (String c : commands) {
      argv.add("-c");
      argv.add(c);
    }
    return ExternalTool.run(Duration.ofSeconds(60), argv.toArray(String[]::new));
  }

  private static void assertAllPass(ExternalTool.Result r, String... expectedLines) {
    assertThat(r.stdout() + r.stderr()).as(r.describe()).doesNotContain(PATTERN_FAILED);
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stdout().lines()).as(r.describe()).contains(expectedLines);
  }
}
