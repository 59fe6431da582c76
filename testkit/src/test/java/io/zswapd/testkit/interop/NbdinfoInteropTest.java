package io.zswapd.testkit.interop;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import io.zswapd.testkit.NbdFixture;
import java.time.Duration;
import java.util.List;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * libnbd's nbdinfo sees each export as the server advertises it: size, block sizes, and every
 * transmission flag the kernel and qemu look at, over TCP and over the Unix socket.
 */
class NbdinfoInteropTest {
  private static final long MAX_PAYLOAD = 8L << 20; // not the 32 MiB default, so the value is seen to come from config
  private static NbdFixture nbd;

  @BeforeAll
  static void start() {
    ExternalTool.require("nbdinfo");
    nbd = NbdFixture.start("""
        zswapd.pool.max-size = 64 MiB
        zswapd.nbd.max-payload = 8 MiB
        zswapd.exports = [
          { name = "swap0", size = 256 MiB },
          { name = "ro", size = 1 MiB, read-only = true },
          { name = "small.disk_1", size = 64 KiB }
        ]
        """);
  }

  @AfterAll
  static void stop() {
    if (nbd != null) {
      nbd.close();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tcp", "unix"})
  void writableExportShowsSizeBlockSizesAndEveryCapability(String transport) {
    Config e = onlyExport(nbdinfo("--json", uri(transport, "swap0")));
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(e.getString("export-name")).isEqualTo("swap0");
    soft.assertThat(e.getLong("export-size")).isEqualTo(256L << 20);
    soft.assertThat(e.getLong("block_size_minimum")).isEqualTo(1);
    soft.assertThat(e.getLong("block_size_preferred")).isEqualTo(4096);
    soft.assertThat(e.getLong("block_size_maximum")).isEqualTo(MAX_PAYLOAD);
    for (String flag : List.of("can_flush", "can_fua", "can_trim", "can_zero", "can_multi_conn")) {
      soft.assertThat(e.getBoolean(flag)).as(flag).isTrue();
    }
    soft.assertThat(e.getBoolean("is_rotational")).as("is_rotational").isFalse();
    soft.assertThat(e.getBoolean("is_read_only")).as("is_read_only").isFalse();
    soft.assertAll();
  }

  @ParameterizedTest
  @ValueSource(strings = {"tcp", "unix"})
  void readOnlyExportIsReportedReadOnly(String transport) {
    Config e = onlyExport(nbdinfo("--json", uri(transport, "ro")));
    assertThat(e.getLong("export-size")).isEqualTo(1L << 20);
    assertThat(e.getBoolean("is_read_only")).isTrue();
    assertThat(e.getLong("block_size_maximum")).isEqualTo(MAX_PAYLOAD);
  }

  @ParameterizedTest
  @ValueSource(strings = {"tcp", "unix"})
  void listNamesEveryExportWithItsSize(String transport) {
    String server = transport.equals("tcp") ? "nbd://127.0.0.1:" + nbd.tcp().getPort()
        : "nbd+unix://?socket=" + nbd.unixSocket();
    List<? extends Config> exports = nbdinfo("--list", "--json", server).getConfigList("exports");
    assertThat(exports).extracting(c -> c.getString("export-name"))
        .containsExactly("swap0", "ro", "small.disk_1");
    assertThat(exports).extracting(c -> c.getLong("export-size"))
        .containsExactly(256L << 20, 1L << 20, 64L << 10);
  }

  private static String uri(String transport, String export) {
    return transport.equals("tcp") ? nbd.tcpUri(export) : nbd.unixUri(export);
  }

  private static Config nbdinfo(String... args) {
    String[] command = new String[args.length + 1];
    command[0] = "nbdinfo";
    System.arraycopy(args, 0, command, 1, args.length);
    ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(30), command);
    assertThat(r.exitCode()).as(r.describe()).isZero();
    return ToolOutput.json(r.stdout());
  }

  private static Config onlyExport(Config info) {
    List<? extends Config> exports = info.getConfigList("exports");
    assertThat(exports).hasSize(1);
    return exports.get(0);
  }
}
