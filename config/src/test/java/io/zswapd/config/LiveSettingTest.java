package io.zswapd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code zswapd set KEY VALUE}: the file's rules and one-line errors, and only the live keys. */
class LiveSettingTest {
  private static final long GIB = 1L << 30;
  private static final PoolSettings DEFAULTS = ZswapdSettings.parse("zswapd.pool.max-size = 1 GiB").pool();

  private static LiveSetting parse(String key, String value) {
    return LiveSetting.parse(key, value, () -> 16 * GIB);
  }

  private static String refusal(String key, String value) {
    SettingsException e = catchThrowableOfType(SettingsException.class, () -> parse(key, value));
    assertThat(e).as("%s %s is refused", key, value).isNotNull();
    assertThat(e.getMessage()).doesNotContain("\n");
    return e.getMessage();
  }

  @Test
  void maxSizeTakesBytesInAnyUnitOrAPercentOfRamRoundedToPages() {
    assertThat(parse("pool.max-size", "512MiB")).isEqualTo(new LiveSetting.MaxSize(512L << 20));
    assertThat(parse("pool.max-size", "512 MiB")).isEqualTo(new LiveSetting.MaxSize(512L << 20));
    assertThat(parse("zswapd.pool.max-size", "1048577")).isEqualTo(new LiveSetting.MaxSize(1 << 20));
    assertThat(parse("pool.max-size", "10%")).isEqualTo(new LiveSetting.MaxSize(16 * GIB / 10 / 4096 * 4096));
  }

  @Test
  void thresholdAndWritebackPolicyParseAsInTheFile() {
    assertThat(parse("pool.accept-threshold", "50%")).isEqualTo(new LiveSetting.AcceptThreshold(0.5));
    assertThat(parse("pool.writeback.idle-after", "off")).isEqualTo(new LiveSetting.IdleAfter(Optional.empty()));
    assertThat(parse("pool.writeback.idle-after", "2h"))
        .isEqualTo(new LiveSetting.IdleAfter(Optional.of(Duration.ofHours(2))));
    assertThat(parse("pool.writeback.reclaim-timeout", "250ms"))
        .isEqualTo(new LiveSetting.ReclaimTimeout(Duration.ofMillis(250)));
  }

  @Test
  void applyToChangesOnlyThatSetting() {
    PoolSettings smaller = parse("pool.max-size", "256 MiB").applyTo(DEFAULTS);
    assertThat(smaller).isEqualTo(DEFAULTS.withMaxSizeBytes(256L << 20));
    assertThat(smaller.acceptThreshold()).isEqualTo(DEFAULTS.acceptThreshold());
    PoolSettings idle = parse("pool.writeback.idle-after", "1h").applyTo(DEFAULTS);
    assertThat(idle.writeback())
        .isEqualTo(new WritebackSettings(Optional.of(Duration.ofHours(1)), DEFAULTS.writeback().reclaimTimeout()));
    assertThat(idle.maxSizeBytes()).isEqualTo(DEFAULTS.maxSizeBytes());
    PoolSettings patient = parse("pool.writeback.reclaim-timeout", "1m").applyTo(idle);
    assertThat(patient.writeback()).isEqualTo(new WritebackSettings(Optional.of(Duration.ofHours(1)),
        Duration.ofMinutes(1)));
  }

  @Test
  void theRecompressionPolicyIsLiveOneSettingAtATime() {
    PoolSettings p = parse("pool.recompress.idle-after", "30m").applyTo(DEFAULTS);
    p = parse("pool.recompress.huge", "on").applyTo(p);
    p = parse("pool.recompress.threshold", "1024").applyTo(p);
    p = parse("pool.recompress.min-saving", "25%").applyTo(p);
    p = parse("pool.recompress.max-rate", "100").applyTo(p);
    assertThat(p.recompress()).isEqualTo(new RecompressSettings(Optional.of(Duration.ofMinutes(30)), true, 1024, 0.25,
        100));
    assertThat(p.withRecompress(DEFAULTS.recompress())).isEqualTo(DEFAULTS);
    assertThat(parse("pool.recompress.idle-after", "off").applyTo(p).recompress().idleAfter()).isEmpty();
    assertThat(parse("pool.recompress.huge", "off").applyTo(p).recompress())
        .isEqualTo(p.recompress().withHuge(false));
    assertThat(parse("pool.recompress.min-saving", "25%").value()).isEqualTo("25%");
    assertThat(parse("pool.recompress.idle-after", "120m").value()).isEqualTo("2h");
    assertThat(parse("pool.recompress.huge", "on").value()).isEqualTo("on");
    assertThat(parse("pool.recompress.max-rate", "100").value()).isEqualTo("100");
    assertThat(parse("pool.recompress.max-rate", "100").key()).isEqualTo("zswapd.pool.recompress.max-rate");
  }

  @Test
  void valuesAreShownAsTheFileWouldWriteThem() {
    assertThat(parse("pool.max-size", "1 MiB").value()).isEqualTo("1048576");
    assertThat(parse("pool.accept-threshold", "75%").value()).isEqualTo("75%");
    assertThat(parse("pool.writeback.idle-after", "90m").value()).isEqualTo("90m");
    assertThat(parse("pool.writeback.idle-after", "120m").value()).isEqualTo("2h");
    assertThat(parse("pool.writeback.idle-after", "off").value()).isEqualTo("off");
    assertThat(parse("pool.writeback.reclaim-timeout", "1500ms").value()).isEqualTo("1500ms");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "pool.max-size|512x|zswapd.pool.max-size = \"512x\": not a byte size; must be a byte size of at least 64 KiB",
      "pool.max-size|1 KiB|zswapd.pool.max-size = \"1 KiB\": must be a byte size of at least 64 KiB",
      "pool.max-size|150%|zswapd.pool.max-size = \"150%\": must be a byte size",
      "pool.accept-threshold|0.5|zswapd.pool.accept-threshold = \"0.5\": must be a percentage from 1% to 100%",
      "pool.accept-threshold|101%|zswapd.pool.accept-threshold = \"101%\": must be a percentage from 1% to 100%",
      "pool.writeback.idle-after|1ms|zswapd.pool.writeback.idle-after = \"1ms\": must be \"off\" or a duration from 1s to 30d",
      "pool.writeback.reclaim-timeout|soon|zswapd.pool.writeback.reclaim-timeout = \"soon\": not a duration; must be a duration from 100ms to 5m",
      "pool.recompress.idle-after|0s|zswapd.pool.recompress.idle-after = \"0s\": must be \"off\" or a duration from 1s to 30d",
      "pool.recompress.huge|maybe|zswapd.pool.recompress.huge = \"maybe\": not a boolean; must be on or off",
      "pool.recompress.threshold|5000|zswapd.pool.recompress.threshold = \"5000\": must be a byte count from 0 to 4096",
      "pool.recompress.min-saving|95%|zswapd.pool.recompress.min-saving = \"95%\": must be a percentage from 0% to 90%",
      "pool.recompress.max-rate|0|zswapd.pool.recompress.max-rate = \"0\": must be a number of pages per second from 1 to 1000000",
  })
  void badValuesNameTheKeyTheValueAndWhatIsAllowed(String key, String value, String message) {
    assertThat(refusal(key, value)).startsWith(message);
  }

  @Test
  void settingsThatShapeStoredDataOrClientsNeedARestart() {
    assertThat(refusal("pool.compressor", "zstd")).isEqualTo("zswapd.pool.compressor cannot change while running;"
        + " restart with --config (settable while running: pool.max-size, pool.accept-threshold,"
        + " pool.writeback.idle-after, pool.writeback.reclaim-timeout, pool.recompress.idle-after,"
        + " pool.recompress.huge, pool.recompress.threshold, pool.recompress.min-saving, pool.recompress.max-rate)");
    assertThat(refusal("zswapd.pool.max-pages-per-zspage", "8")).startsWith(
        "zswapd.pool.max-pages-per-zspage cannot change while running; restart with --config");
    assertThat(refusal("nbd.tcp", "off")).startsWith("zswapd.nbd.tcp cannot change while running");
    assertThat(refusal("exports", "[]")).startsWith("zswapd.exports cannot change while running");
  }

  @Test
  void unknownKeysSuggestTheNearestAndListTheLiveOnes() {
    assertThat(refusal("pool.maxsize", "1 GiB")).isEqualTo("zswapd.pool.maxsize: unknown setting; did you mean"
        + " zswapd.pool.max-size? (settable while running: pool.max-size, pool.accept-threshold,"
        + " pool.writeback.idle-after, pool.writeback.reclaim-timeout, pool.recompress.idle-after,"
        + " pool.recompress.huge, pool.recompress.threshold, pool.recompress.min-saving, pool.recompress.max-rate)");
    assertThat(refusal("zswapd.pool.writeback.idle-afterr", "1h"))
        .startsWith("zswapd.pool.writeback.idle-afterr: unknown setting; did you mean zswapd.pool.writeback.idle-after?");
    assertThat(refusal("pool.colour", "blue")).startsWith("zswapd.pool.colour: unknown setting; allowed in"
        + " zswapd.pool: accept-threshold, arena-chunk-size, compression-level, compressor,");
    assertThat(refusal("pool..x", "1")).startsWith("zswapd.pool..x: not a setting's name; settable while running:");
  }

  @Test
  void adminEndpointDefaultsToAnOwnerOnlySocketAndNoPort() {
    AdminSettings admin = ZswapdSettings.parse("").admin();
    assertThat(admin.unixSocket()).contains(Path.of("zswapd-admin.sock"));
    assertThat(admin.tcp()).isEmpty();
    AdminSettings tcpOnly = ZswapdSettings.parse("""
        zswapd.admin { unix-socket = off, tcp = "127.0.0.1:10810" }""").admin();
    assertThat(tcpOnly.unixSocket()).isEmpty();
    assertThat(tcpOnly.tcp().orElseThrow().getPort()).isEqualTo(10810);
  }

  @Test
  void adminTcpMustBeLoopback() {
    SettingsException e = catchThrowableOfType(SettingsException.class,
        () -> ZswapdSettings.parse("zswapd.admin.tcp = \"0.0.0.0:10810\""));
    assertThat(e.getMessage()).isEqualTo("zswapd.admin.tcp = \"0.0.0.0:10810\": must be \"off\" or a loopback"
        + " address such as \"127.0.0.1:10810\" or \"[::1]:10810\": the admin endpoint has no authentication");
  }
}
