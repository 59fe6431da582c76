package io.zswapd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every key under {@code zswapd} must be one a reference.conf defines: a misspelt key stops the
 * start with one line naming it and the nearest known key, instead of leaving its setting at the
 * default in silence.
 */
class KnownKeysTest {

  private static SettingsException failure(String hocon) {
    try {
      ZswapdSettings.parse(hocon);
    } catch (SettingsException e) {
      return e;
    }
    throw new AssertionError("accepted: " + hocon);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "zswapd.pool.max-sise = 1 GiB              | zswapd.pool.max-sise    | zswapd.pool.max-size",
      "zswapd.metrics.tick-intervall = 1s        | zswapd.metrics.tick-intervall | zswapd.metrics.tick-interval",
      "zswapd.pool.writeback.idle-afer = 1h      | zswapd.pool.writeback.idle-afer | zswapd.pool.writeback.idle-after",
      "zswapd.pool.migration { perod = 1s }      | zswapd.pool.migration.perod | zswapd.pool.migration.period",
      "zswapd.poll { max-size = 1 GiB }          | zswapd.poll             | zswapd.pool",
      "zswapd.nbd.tpc = off                      | zswapd.nbd.tpc          | zswapd.nbd.tcp",
      "zswapd.pool.tick-interval = 1s            | zswapd.pool.tick-interval | zswapd.metrics.tick-interval",
      "zswapd.idle-after = 1h                    | zswapd.idle-after       | zswapd.pool.recompress.idle-after",
  })
  void misspeltKeyNamesItselfAndTheNearestKnownKey(String hocon, String key, String suggestion) {
    SettingsException e = failure(hocon);
    assertThat(e.key()).isEqualTo(key);
    assertThat(e.getMessage()).isEqualTo(key + ": unknown setting; did you mean " + suggestion + "?");
  }

  @Test
  void keyFarFromAnyKnownOneListsTheKeysAllowedAtItsLevel() {
    assertThat(failure("zswapd.metrics.colour = blue").getMessage()).isEqualTo(
        "zswapd.metrics.colour: unknown setting; allowed in zswapd.metrics: prometheus, tick-interval");
    assertThat(failure("zswapd.pool.migration.x.y = 1").getMessage()).startsWith(
        "zswapd.pool.migration.x: unknown setting; allowed in zswapd.pool.migration: checked-memory,");
    assertThat(failure("zswapd.something-else = 1").getMessage()).isEqualTo(
        "zswapd.something-else: unknown setting; allowed in zswapd: admin, cluster, daemon, exports, metrics, nbd, overflow, pool");
  }

  @Test
  void unknownKeyInAFileStopsTheLoadNamingIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws java.io.IOException {
    java.nio.file.Path file = java.nio.file.Files.writeString(dir.resolve("z.conf"),
        "zswapd {\n  pool {\n    max-sise = 512 MiB\n  }\n}\n");
    assertThatThrownBy(() -> ZswapdSettings.load(file)).isInstanceOf(SettingsException.class)
        .hasMessage("zswapd.pool.max-sise: unknown setting; did you mean zswapd.pool.max-size?");
  }

  @Test
  void everyKnownKeyIsAccepted() {
    ZswapdSettings.fromConfig(ZswapdSettings.reference()); // the reference itself, every key in it
    ZswapdSettings.parse("zswapd.pool.writeback { idle-after = 1h }\nzswapd.nbd.max-payload = 4 MiB");
  }

  @Test
  void keysOutsideZswapdAndInsideExportEntriesAreLeftToTheirOwners() {
    ZswapdSettings.fromConfig(ConfigFactory.parseString("akka.whatever = 1\nzswapd-engine-dispatcher = x"));
    assertThat(failure("zswapd.exports = [{ name = a, size = 1 GiB, readonly = true }]").getMessage())
        .startsWith("zswapd.exports[0].readonly = true: unknown export setting");
  }

  @Test
  void keysSetAsJvmSystemPropertiesAreNotChecked() {
    System.setProperty("zswapd.test.known-keys-probe", "1");
    ConfigFactory.invalidateCaches();
    try {
      assertThat(ConfigFactory.load().hasPath("zswapd.test.known-keys-probe")).as("the probe is in the config").isTrue();
      ZswapdSettings.fromConfig(ConfigFactory.load());
      assertThat(KnownKeys.unknownSetting(java.util.List.of("zswapd", "colour")))
          .as("a system property is not a known key either").doesNotContain("test");
    } finally {
      System.clearProperty("zswapd.test.known-keys-probe");
      ConfigFactory.invalidateCaches();
    }
  }

  @Test
  void distanceCountsASwapOfNeighboursAsOneEdit() {
    assertThat(KnownKeys.distance("tcp", "tpc")).isEqualTo(1);
    assertThat(KnownKeys.distance("max-sise", "max-size")).isEqualTo(1);
    assertThat(KnownKeys.distance("", "abc")).isEqualTo(3);
  }
}
