package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.interop.ExternalTool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line of the real jar: usage, and every mistake a user can make before the daemon
 * starts ends in exit status 2 and one line on stderr that names the mistake.
 */
class DaemonCommandLineTest {
  @TempDir
  Path dir;

  @Test
  void helpPrintsUsageOnStdoutAndExitsZero() {
    ExternalTool.Result r = DaemonJar.run("--help");
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stdout()).as(r.describe()).startsWith("Usage:").contains("serve").contains("--config");
    assertThat(r.stderr()).as(r.describe()).isEmpty();
  }

  @Test
  void noArgumentsPrintUsageOnStderrAndExitTwo() {
    ExternalTool.Result r = DaemonJar.run();
    assertThat(r.exitCode()).as(r.describe()).isEqualTo(2);
    assertThat(r.stderr()).as(r.describe()).startsWith("Usage:").contains("serve").contains("--config");
    assertThat(r.stdout()).as(r.describe()).isEmpty();
  }

  @Test
  void unknownOptionIsNamedInOneLine() {
    ExternalTool.Result r = DaemonJar.run("serve", "--frobnicate");
    assertOneLineError(r, "--frobnicate");
  }

  @Test
  void unknownCommandIsNamedInOneLine() {
    ExternalTool.Result r = DaemonJar.run("frobnicate");
    assertOneLineError(r, "frobnicate");
  }

  @Test
  void missingConfigFileIsNamedInOneLine() {
    ExternalTool.Result r = DaemonJar.run("serve", "--config", "/nonexistent/zswapd.conf");
    assertOneLineError(r, "/nonexistent/zswapd.conf");
  }

  @Test
  void badConfigValueNamesTheKeyTheValueAndWhatIsAllowed() throws IOException {
    Path config = Files.writeString(dir.resolve("bad.conf"), "zswapd.pool.compressor = snappy\n");
    ExternalTool.Result r = DaemonJar.run("serve", "--config", config.toString());
    assertOneLineError(r, "zswapd.pool.compressor");
    assertThat(r.stderr()).as(r.describe()).contains("snappy", "lz4", "lz4hc", "zstd");
  }

  @Test
  void badMetricsAddressNamesTheKeyInOneLine() throws IOException {
    Path config = Files.writeString(dir.resolve("bad-metrics.conf"), "zswapd.metrics.prometheus = \"9095\"\n");
    ExternalTool.Result r = DaemonJar.run("serve", "--config", config.toString());
    assertOneLineError(r, "zswapd.metrics.prometheus");
    assertThat(r.stderr()).as(r.describe()).contains("\"9095\"", "off", "host:port");
  }

  @Test
  void misspeltKeyStopsTheDaemonNamingItAndTheNearestKnownKey() throws IOException {
    Path config = Files.writeString(dir.resolve("typo.conf"), "zswapd {\n  pool.max-sise = 512 MiB\n}\n");
    ExternalTool.Result r = DaemonJar.run("serve", "--config", config.toString());
    assertOneLineError(r, "zswapd.pool.max-sise");
    assertThat(r.stderr().strip()).as(r.describe())
        .isEqualTo("zswapd: zswapd.pool.max-sise: unknown setting; did you mean zswapd.pool.max-size?");
  }

  @Test
  void poolTheJvmsDirectMemoryCannotHoldStopsTheDaemonNamingTheFlag() throws IOException {
    // the case: with 40 MiB of direct memory a 32 MiB pool used to become 4,096 bytes
    Path config = Files.writeString(dir.resolve("pool.conf"), "zswapd.pool.max-size = 32 MiB\n");
    ExternalTool.Result r = DaemonJar.run(List.of("-XX:MaxDirectMemorySize=40m"), "serve", "--config",
        config.toString());
    assertOneLineError(r, "zswapd.pool.max-size = 33554432 B (32.0 MiB) needs 96.0 MiB of direct memory");
    assertThat(r.stderr()).as(r.describe()).contains("(-XX:MaxDirectMemorySize=40.0 MiB)",
        "start java with -XX:MaxDirectMemorySize=96m or more, or lower zswapd.pool.max-size");
  }

  @Test
  void twoExportsNamingOneBackingFileStopTheDaemonNamingBoth() throws IOException {
    Path file = dir.resolve("shared.wb");
    Path config = Files.writeString(dir.resolve("shared.conf"), "zswapd.exports = [\n"
        + "  { name = a, size = 64 MiB, backing-file = \"" + file + "\" },\n"
        + "  { name = b, size = 64 MiB, backing-file = \"" + file + "\" } ]\n");
    ExternalTool.Result r = DaemonJar.run("serve", "--config", config.toString());
    assertOneLineError(r, "export \"b\" and export \"a\" (zswapd.exports[0]) name one backing file " + file);
    assertThat(file).doesNotExist();
  }

  @Test
  void controlCommandWithTheAdminEndpointOffSaysSoWithoutConnecting() throws IOException {
    Path config = Files.writeString(dir.resolve("off.conf"), "zswapd.admin.unix-socket = off\n");
    ExternalTool.Result r = DaemonJar.run("stats", "--config", config.toString());
    assertOneLineError(r, "the admin endpoint is off in " + config);
  }

  @Test
  void malformedControlCommandIsRefusedBeforeConnecting() {
    ExternalTool.Result r = DaemonJar.run("compact", "--now", "--admin", dir.resolve("none.sock").toString());
    assertOneLineError(r, "compact takes no arguments, not '--now'");
  }

  private static void assertOneLineError(ExternalTool.Result r, String named) {
    assertThat(r.exitCode()).as(r.describe()).isEqualTo(2);
    List<String> lines = r.stderr().lines().toList();
    assertThat(lines).as(r.describe()).hasSize(1);
    assertThat(lines.get(0)).as(r.describe()).contains(named);
    assertThat(r.stdout()).as(r.describe()).isEmpty();
  }
}
