package io.zswapd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.typesafe.config.ConfigFactory;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ZswapdSettingsTest {

  private static final long KIB = 1024;
  private static final long MIB = 1024 * KIB;
  private static final long GIB = 1024 * MIB;

  /** Settings from HOCON over the defaults, with percentages taken of a fixed RAM size. */
  private static ZswapdSettings withRam(long ramBytes, String hocon) {
    return ZswapdSettings.fromConfig(ConfigFactory.parseString(hocon), () -> ramBytes);
  }

  /** The error for a bad setting; every one must fit on one line. */
  private static SettingsException failure(String hocon) {
    SettingsException e = catchThrowableOfType(SettingsException.class, () -> ZswapdSettings.parse(hocon));
    assertThat(e).as("settings error for: %s", hocon).isNotNull();
    assertThat(e.getMessage()).doesNotContain("\n");
    return e;
  }

  private static long physicalRam() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getTotalMemorySize();
  }

  // --- defaults ---------------------------------------------------------------------------------

  @Test
  void defaultsAreTheDocumentedOnes() throws Exception {
    ZswapdSettings s = ZswapdSettings.parse("");

    long twentyPercent = physicalRam() * 20 / 100;
    assertThat(s.pool().maxSizeBytes()).isEqualTo(twentyPercent - twentyPercent % 4096);
    assertThat(s.pool().acceptThreshold()).isEqualTo(0.9);
    assertThat(s.pool().compressor()).isEqualTo(Compressor.LZ4);
    assertThat(s.pool().compressionLevel()).isEqualTo(OptionalInt.empty());
    assertThat(s.pool().sameFilledPages()).isTrue();
    assertThat(s.pool().maxPagesPerZspage()).isEqualTo(4);
    assertThat(s.pool().arenaChunkSizeBytes()).isEqualTo(2 * MIB);
    assertThat(s.pool().offHeap()).isEqualTo(OffHeapKind.AUTO);
    assertThat(s.daemon().lockMemory()).as("a swap daemon is never swapped out by default").isTrue();
    assertThat(s.pool().writeback()).isEqualTo(new WritebackSettings(Optional.empty(), Duration.ofSeconds(10)));
    assertThat(s.pool().migration())
        .isEqualTo(new MigrationSettings(Optional.of(Duration.ofSeconds(10)), 1.2, 0.25, 2048, false));

    assertThat(s.exports()).containsExactly(new ExportSettings("swap0", 4 * GIB, false, Optional.empty(), OptionalLong.empty()));
    assertThat(s.exports().get(0).pages()).isEqualTo(1_048_576);

    assertThat(s.nbd().tcp()).as("no network listener unless asked for").isEmpty();
    assertThat(s.nbd().unixSocket()).contains(Path.of("zswapd.sock"));
    assertThat(s.nbd().maxPayloadBytes()).isEqualTo(32 * MIB);
    assertThat(s.nbd().maxConnections()).isEqualTo(64);
    assertThat(s.nbd().bufferBytes()).isEqualTo(64 * MIB);
    assertThat(s.nbd().connectionBufferBytes()).isEqualTo(32 * MIB);
    assertThat(s.nbd().handshakeTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.nbd().idleTimeout()).isEmpty();
    assertThat(s.nbd().sendTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(s.nbd().tls()).isEmpty();
    assertThat(s.metrics().prometheus()).as("a library serves no port unless asked").isEmpty();
    assertThat(s.metrics().tickInterval()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void loadWithoutApplicationConfGivesTheDefaults() {
    assertThat(ZswapdSettings.load()).isEqualTo(ZswapdSettings.parse(""));
  }

  @Test
  void fromConfigAddsReferenceConfAsFallback() {
    ZswapdSettings s = ZswapdSettings.fromConfig(ConfigFactory.parseString("zswapd.pool.compressor = zstd"));
    assertThat(s.pool().compressor()).isEqualTo(Compressor.ZSTD);
    assertThat(s.pool().maxPagesPerZspage()).isEqualTo(4);
  }

  // --- pool.max-size and accept-threshold -------------------------------------------------------

  @Test
  void maxSizeInBytesIsRoundedDownToAPage() {
    assertThat(ZswapdSettings.parse("zswapd.pool.max-size = 100000").pool().maxSizeBytes()).isEqualTo(98_304);
    assertThat(ZswapdSettings.parse("zswapd.pool.max-size = 2 GiB").pool().maxSizeBytes()).isEqualTo(2 * GIB);
  }

  @Test
  void maxSizeInPercentIsAShareOfPhysicalRamRoundedDownToAPage() {
    assertThat(withRam(16 * GIB, "zswapd.pool.max-size = 12.5%").pool().maxSizeBytes()).isEqualTo(2 * GIB);
    // 20% of 10^10 is 2,000,000,000 = 488,281.25 pages
    assertThat(withRam(10_000_000_000L, "").pool().maxSizeBytes()).isEqualTo(488_281L * 4096);
    assertThat(withRam(8 * GIB, "zswapd.pool.max-size = 100%").pool().maxSizeBytes()).isEqualTo(8 * GIB);
  }

  @Test
  void negativeMaxSizeNamesTheAllowedRange() {
    SettingsException e = failure("zswapd.pool.max-size = -1 GiB");
    assertThat(e.key()).isEqualTo("zswapd.pool.max-size");
    assertThat(e.getMessage())
        .startsWith("zswapd.pool.max-size = \"-1 GiB\": must be a byte size of at least 64 KiB")
        .contains("at least 64 KiB", "above 0% and at most 100%")
        .doesNotContain("Attempt to construct");
    assertThat(failure("zswapd.pool.max-size = -5").getMessage()).startsWith("zswapd.pool.max-size = -5: ");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0%", "-10%", "101%", "60 KiB", "lots"})
  void maxSizeOutsideTheRangeIsRefused(String value) {
    SettingsException e = failure("zswapd.pool.max-size = \"" + value + "\"");
    assertThat(e.key()).isEqualTo("zswapd.pool.max-size");
    assertThat(e.getMessage()).contains("\"" + value + "\"", "at least 64 KiB");
  }

  @Test
  void percentThatComesToLessThan64KiBSaysHowMuchItCameTo() {
    SettingsException e = catchThrowableOfType(SettingsException.class,
        () -> withRam(MIB, "zswapd.pool.max-size = 5%"));
    assertThat(e.getMessage()).contains("\"5%\"", "comes to 52428 bytes of 1048576 bytes of RAM");
  }

  @Test
  void acceptThresholdOver100PercentIsRefused() {
    SettingsException e = failure("zswapd.pool.accept-threshold = 150%");
    assertThat(e.key()).isEqualTo("zswapd.pool.accept-threshold");
    assertThat(e.getMessage())
        .isEqualTo("zswapd.pool.accept-threshold = \"150%\": must be a percentage from 1% to 100%");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0.9", "0%", "90", "ninety"})
  void acceptThresholdMustBeWrittenAsAPercentage(String value) {
    assertThat(failure("zswapd.pool.accept-threshold = " + value).getMessage())
        .contains("must be a percentage from 1% to 100%");
  }

  @Test
  void acceptBelowIsTheThresholdShareOfMaxSizeRoundedDownToAPage() {
    PoolSettings pool =
        ZswapdSettings.parse("zswapd.pool { max-size = 1 GiB, accept-threshold = 90% }").pool();
    assertThat(pool.acceptThreshold()).isEqualTo(0.9);
    // 0.9 GiB = 966,367,641.6 bytes = 235,929.6 pages
    assertThat(pool.acceptBelowBytes()).isEqualTo(235_929L * 4096);
    assertThat(ZswapdSettings.parse("zswapd.pool { max-size = 1 GiB, accept-threshold = 100% }")
        .pool().acceptBelowBytes()).isEqualTo(GIB);
  }

  // --- compressor and level --------------------------------------------------------------------

  @Test
  void unknownCompressorListsTheKnownOnes() {
    SettingsException e = failure("zswapd.pool.compressor = snappy");
    assertThat(e.key()).isEqualTo("zswapd.pool.compressor");
    assertThat(e.getMessage())
        .isEqualTo("zswapd.pool.compressor = \"snappy\": unknown compressor; allowed: lz4, lz4hc, zstd");
  }

  @Test
  void compressorNamesMapBothWays() {
    assertThat(Compressor.byName("lz4hc")).contains(Compressor.LZ4HC);
    assertThat(Compressor.byName("LZ4")).isEmpty();
    assertThat(Compressor.ZSTD.configName()).isEqualTo("zstd");
  }

  @Test
  void levelsWithinTheCodecRangeAreKept() {
    assertThat(ZswapdSettings.parse("zswapd.pool { compressor = zstd, compression-level = 22 }")
        .pool().compressionLevel()).hasValue(22);
    assertThat(ZswapdSettings.parse("zswapd.pool { compressor = lz4hc, compression-level = 1 }")
        .pool().compressionLevel()).hasValue(1);
    assertThat(ZswapdSettings.parse("zswapd.pool { compressor = zstd, compression-level = default }")
        .pool().compressionLevel()).isEmpty();
  }

  @Test
  void lz4TakesNoLevel() {
    SettingsException e = failure("zswapd.pool.compression-level = 9");
    assertThat(e.key()).isEqualTo("zswapd.pool.compression-level");
    assertThat(e.getMessage()).isEqualTo("zswapd.pool.compression-level = 9: lz4 has no levels;"
        + " allowed: default (a level applies to lz4hc 1..17 and zstd 1..22)");
  }

  @Test
  void lz4hcLevelOutsideOneToSeventeenIsRefused() {
    assertThat(failure("zswapd.pool { compressor = lz4hc, compression-level = 18 }").getMessage())
        .isEqualTo("zswapd.pool.compression-level = 18: out of range for lz4hc; allowed: default or 1..17");
    assertThat(failure("zswapd.pool { compressor = lz4hc, compression-level = 0 }").getMessage())
        .contains("= 0: out of range for lz4hc");
  }

  @Test
  void zstdLevelOutsideOneToTwentyTwoIsRefused() {
    assertThat(failure("zswapd.pool { compressor = zstd, compression-level = 23 }").getMessage())
        .isEqualTo("zswapd.pool.compression-level = 23: out of range for zstd; allowed: default or 1..22");
    assertThat(failure("zswapd.pool { compressor = zstd, compression-level = -1 }").getMessage())
        .contains("= -1: out of range for zstd");
  }

  @Test
  void levelThatIsNotAnIntegerIsRefused() {
    assertThat(failure("zswapd.pool { compressor = zstd, compression-level = 3.5 }").getMessage())
        .startsWith("zswapd.pool.compression-level = 3.5: not an integer;");
    assertThat(failure("zswapd.pool { compressor = zstd, compression-level = fast }").getMessage())
        .startsWith("zswapd.pool.compression-level = \"fast\": not an integer;");
  }

  // --- zspages, arena, same-filled -------------------------------------------------------------

  @Test
  void zspagePagesMustBeFourEightOrSixteen() {
    SettingsException e = failure("zswapd.pool.max-pages-per-zspage = 5");
    assertThat(e.key()).isEqualTo("zswapd.pool.max-pages-per-zspage");
    assertThat(e.getMessage()).isEqualTo("zswapd.pool.max-pages-per-zspage = 5: allowed: 4, 8, 16");
    assertThat(failure("zswapd.pool.max-pages-per-zspage = 8.5").getMessage()).contains("not an integer");
    assertThat(ZswapdSettings.parse("zswapd.pool.max-pages-per-zspage = 16").pool().maxPagesPerZspage())
        .isEqualTo(16);
  }

  @ParameterizedTest
  @ValueSource(strings = {"32 KiB", "66 KiB", "2 GiB"})
  void arenaChunkOutsideTheRangeOrUnalignedIsRefused(String value) {
    assertThat(failure("zswapd.pool.arena-chunk-size = " + value).getMessage())
        .isEqualTo("zswapd.pool.arena-chunk-size = \"" + value + "\":"
            + " must be a multiple of 4 KiB from 64 KiB to 1 GiB");
  }

  @Test
  void stringWhereASizeIsNeededNamesTheKeyNotTypesafe() {
    SettingsException e = failure("zswapd.pool.arena-chunk-size = big");
    assertThat(e.key()).isEqualTo("zswapd.pool.arena-chunk-size");
    assertThat(e.getMessage()).isEqualTo("zswapd.pool.arena-chunk-size = \"big\": not a byte size;"
        + " must be a multiple of 4 KiB from 64 KiB to 1 GiB");
  }

  @Test
  void offHeapIsAutoMmapOrDirect() {
    assertThat(ZswapdSettings.parse("zswapd.pool.off-heap = mmap").pool().offHeap()).isEqualTo(OffHeapKind.MMAP);
    assertThat(ZswapdSettings.parse("zswapd.pool.off-heap = direct").pool().offHeap()).isEqualTo(OffHeapKind.DIRECT);
    assertThat(failure("zswapd.pool.off-heap = malloc").getMessage())
        .isEqualTo("zswapd.pool.off-heap = \"malloc\": allowed: auto, mmap (JDK 22 or later), direct");
  }

  @Test
  void lockMemoryIsOnOrOff() {
    assertThat(ZswapdSettings.parse("zswapd.daemon.lock-memory = off").daemon().lockMemory()).isFalse();
    assertThat(failure("zswapd.daemon.lock-memory = always").getMessage())
        .isEqualTo("zswapd.daemon.lock-memory = \"always\": not a boolean; must be on or off");
  }

  @Test
  void sameFilledPagesTakesOnOff() {
    assertThat(ZswapdSettings.parse("zswapd.pool.same-filled-pages = off").pool().sameFilledPages())
        .isFalse();
    assertThat(failure("zswapd.pool.same-filled-pages = maybe").getMessage())
        .isEqualTo("zswapd.pool.same-filled-pages = \"maybe\": not a boolean; must be on or off");
  }

  // --- pool.writeback --------------------------------------------------------------------------

  @Test
  void writebackDurationsAreReadAtTheirBounds() {
    WritebackSettings wb = ZswapdSettings.parse(
        "zswapd.pool.writeback { idle-after = 30d, reclaim-timeout = 100ms }").pool().writeback();
    assertThat(wb.idleAfter()).contains(Duration.ofDays(30));
    assertThat(wb.reclaimTimeout()).isEqualTo(Duration.ofMillis(100));
    wb = ZswapdSettings.parse(
        "zswapd.pool.writeback { idle-after = 1s, reclaim-timeout = 5m }").pool().writeback();
    assertThat(wb.idleAfter()).contains(Duration.ofSeconds(1));
    assertThat(wb.reclaimTimeout()).isEqualTo(Duration.ofMinutes(5));
    assertThat(ZswapdSettings.parse("zswapd.pool.writeback.idle-after = \"off\"").pool().writeback()
        .idleAfter()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"999ms", "31d", "soon", "on"})
  void idleAfterOutsideOneSecondTo30DaysIsRefused(String value) {
    SettingsException e = failure("zswapd.pool.writeback.idle-after = " + value);
    assertThat(e.key()).isEqualTo("zswapd.pool.writeback.idle-after");
    assertThat(e.getMessage())
        .startsWith("zswapd.pool.writeback.idle-after = \"" + value + "\": ")
        .endsWith("must be \"off\" or a duration from 1s to 30d");
  }

  @Test
  void idleAfterNullIsRefusedRatherThanTakenAsOff() {
    assertThat(failure("zswapd.pool.writeback.idle-after = null").getMessage())
        .isEqualTo("zswapd.pool.writeback.idle-after = null: must be \"off\" or a duration from 1s to 30d");
  }

  @ParameterizedTest
  @ValueSource(strings = {"99ms", "301s", "0", "never"})
  void reclaimTimeoutOutside100msTo5mIsRefused(String value) {
    SettingsException e = failure("zswapd.pool.writeback.reclaim-timeout = " + value);
    assertThat(e.key()).isEqualTo("zswapd.pool.writeback.reclaim-timeout");
    assertThat(e.getMessage())
        .startsWith("zswapd.pool.writeback.reclaim-timeout = ")
        .endsWith("must be a duration from 100ms to 5m");
  }

  // --- pool.migration --------------------------------------------------------------------------

  @Test
  void migrationSettingsAreReadAtTheirBounds() {
    MigrationSettings m = ZswapdSettings.parse("zswapd.pool.migration { period = 100ms, "
        + "fragmentation-threshold = 100%, min-chunk-free = 1%, max-pages-per-pass = 1, checked-memory = on }")
        .pool().migration();
    assertThat(m).isEqualTo(new MigrationSettings(Optional.of(Duration.ofMillis(100)), 1.0, 0.01, 1, true));
    m = ZswapdSettings.parse("zswapd.pool.migration { period = 1h, "
        + "fragmentation-threshold = \"1000%\", min-chunk-free = 100%, max-pages-per-pass = 1048576 }")
        .pool().migration();
    assertThat(m).isEqualTo(new MigrationSettings(Optional.of(Duration.ofHours(1)), 10.0, 1.0, 1 << 20, false));
    assertThat(ZswapdSettings.parse("zswapd.pool.migration.period = off").pool().migration().period()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"99ms", "61m", "often", "on"})
  void migrationPeriodOutside100msTo1hIsRefused(String value) {
    SettingsException e = failure("zswapd.pool.migration.period = " + value);
    assertThat(e.key()).isEqualTo("zswapd.pool.migration.period");
    assertThat(e.getMessage()).startsWith("zswapd.pool.migration.period = \"" + value + "\": ")
        .endsWith("must be \"off\" or a duration from 100ms to 1h");
  }

  @ParameterizedTest
  @ValueSource(strings = {"99%", "1001%", "1.2", "high"})
  void fragmentationThresholdOutside100To1000PercentIsRefused(String value) {
    SettingsException e = failure("zswapd.pool.migration.fragmentation-threshold = \"" + value + "\"");
    assertThat(e.key()).isEqualTo("zswapd.pool.migration.fragmentation-threshold");
    assertThat(e.getMessage()).isEqualTo("zswapd.pool.migration.fragmentation-threshold = \"" + value
        + "\": must be a percentage from 100% to 1000% (mem_used_total over compr_data_size)");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0%", "0.5%", "101%", "half"})
  void minChunkFreeOutside1To100PercentIsRefused(String value) {
    assertThat(failure("zswapd.pool.migration.min-chunk-free = \"" + value + "\"").getMessage())
        .isEqualTo("zswapd.pool.migration.min-chunk-free = \"" + value
            + "\": must be a percentage from 1% to 100% of a chunk's pages");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "-1", "1048577", "2.5"})
  void maxPagesPerPassOutside1To1048576IsRefused(String value) {
    SettingsException e = failure("zswapd.pool.migration.max-pages-per-pass = " + value);
    assertThat(e.key()).isEqualTo("zswapd.pool.migration.max-pages-per-pass");
    assertThat(e.getMessage()).endsWith("must be an integer from 1 to 1048576");
  }

  @Test
  void checkedMemoryTakesOnOff() {
    assertThat(failure("zswapd.pool.migration.checked-memory = sometimes").getMessage())
        .isEqualTo("zswapd.pool.migration.checked-memory = \"sometimes\": not a boolean; must be on or off");
  }

  @Test
  void writebackThatIsNotAnObjectIsRefused() {
    assertThat(failure("zswapd.pool.writeback = off").getMessage())
        .isEqualTo("zswapd.pool.writeback = \"off\": must be an object { ... }");
  }

  @Test
  void poolThatIsNotAnObjectIsRefused() {
    assertThat(failure("zswapd.pool = 5").getMessage())
        .isEqualTo("zswapd.pool = 5: must be an object { ... }");
  }

  // --- exports ---------------------------------------------------------------------------------

  @Test
  void exportsKeepOrderFillDefaultsAndCanBeLookedUpByName() {
    ZswapdSettings s = ZswapdSettings.parse("""
        zswapd.exports = [
          { name = "swap0", size = 1 GiB }
          { name = "cache.a-1", size = 8 MiB, read-only = on, backing-file = "/var/lib/zswapd/cache" }
        ]""");
    assertThat(s.exports()).containsExactly(
        new ExportSettings("swap0", GIB, false, Optional.empty(), OptionalLong.empty()),
        new ExportSettings("cache.a-1", 8 * MIB, true, Optional.of(Path.of("/var/lib/zswapd/cache")),
            OptionalLong.empty()));
    assertThat(s.export("cache.a-1").map(ExportSettings::pages)).contains(2048L);
    assertThat(s.export("swap1")).isEmpty();
  }

  @Test
  void backingSizeIsKeptWithItsBackingFile() {
    ExportSettings e = ZswapdSettings.parse("zswapd.exports = [{ name = a, size = 1 GiB,"
        + " backing-file = \"/var/lib/zswapd/a\", backing-size = 256 MiB }]").exports().get(0);
    assertThat(e.backingFile()).contains(Path.of("/var/lib/zswapd/a"));
    assertThat(e.backingSizeBytes()).hasValue(256 * MIB);
    assertThat(ZswapdSettings.parse("zswapd.exports = [{ name = a, size = 1 GiB,"
        + " backing-file = \"/var/lib/zswapd/a\", backing-size = null }]").exports().get(0)
        .backingSizeBytes()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"10000", "0", "-4096", "\"6 KiB\"", "\"big\""})
  void backingSizeNotAPositiveMultipleOf4KiBIsRefused(String value) {
    SettingsException e = failure("zswapd.exports = [{ name = a, size = 1 GiB,"
        + " backing-file = \"/tmp/a\", backing-size = " + value + " }]");
    assertThat(e.key()).isEqualTo("zswapd.exports[0].backing-size");
    assertThat(e.getMessage())
        .startsWith("zswapd.exports[0].backing-size = " + value + ": ")
        .endsWith("must be a positive multiple of 4 KiB, or null for unlimited");
  }

  @Test
  void backingSizeWithoutBackingFileIsRefused() {
    SettingsException e = failure("zswapd.exports = [{ name = a, size = 1 GiB, backing-size = 1 GiB }]");
    assertThat(e.key()).isEqualTo("zswapd.exports[0].backing-size");
    assertThat(e.getMessage()).isEqualTo("zswapd.exports[0].backing-size = \"1 GiB\":"
        + " needs backing-file; set backing-file too, or remove backing-size");
  }

  @Test
  void twoExportsNamingOneBackingFileAreRefusedNamingBoth() {
    SettingsException e = failure("zswapd.exports = [{ name = a, size = 1 GiB, backing-file = \"/var/lib/z/wb\" },"
        + " { name = b, size = 1 GiB }, { name = c, size = 1 GiB, backing-file = \"/var/lib/z/../z/./wb\" }]");
    assertThat(e.key()).isEqualTo("zswapd.exports[2].backing-file");
    assertThat(e.getMessage()).isEqualTo("zswapd.exports[2].backing-file = \"/var/lib/z/../z/./wb\": export \"c\""
        + " and export \"a\" (zswapd.exports[0]) name one backing file /var/lib/z/wb; each export needs a file of"
        + " its own");
  }

  @Test
  void relativeAndAbsolutePathsOfOneBackingFileAreTheSame() {
    String here = Path.of("wb").toAbsolutePath().toString();
    assertThat(failure("zswapd.exports = [{ name = a, size = 1 GiB, backing-file = wb },"
        + " { name = b, size = 1 GiB, backing-file = \"" + here + "\" }]").getMessage())
        .contains("export \"b\" and export \"a\"").contains("name one backing file " + here);
  }

  @Test
  void exportSizeNotAMultipleOf4KiBIsRefused() {
    SettingsException e = failure("zswapd.exports = [{ name = a, size = 10000 }]");
    assertThat(e.key()).isEqualTo("zswapd.exports[0].size");
    assertThat(e.getMessage()).isEqualTo(
        "zswapd.exports[0].size = 10000: must be a positive multiple of 4 KiB, at most 2^50 bytes (1 PiB)");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "2 PiB", "-4096"})
  void exportSizeOutsideTheRangeIsRefused(String size) {
    assertThat(failure("zswapd.exports = [{ name = a, size = " + size + " }]").getMessage())
        .startsWith("zswapd.exports[0].size = ").contains("at most 2^50 bytes");
  }

  @Test
  void duplicateExportNamesNameBothEntries() {
    SettingsException e =
        failure("zswapd.exports = [{ name = swap0, size = 1 GiB }, { name = swap0, size = 2 GiB }]");
    assertThat(e.key()).isEqualTo("zswapd.exports[1].name");
    assertThat(e.getMessage()).isEqualTo("zswapd.exports[1].name = \"swap0\": duplicate export name,"
        + " also used by zswapd.exports[0]; names must be unique");
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"\"", "\"swap 0\"", "\"swap/0\""})
  void exportNameOutsideTheCharacterSetIsRefused(String name) {
    assertThat(failure("zswapd.exports = [{ name = " + name + ", size = 1 GiB }]").getMessage())
        .isEqualTo("zswapd.exports[0].name = " + name + ": must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
  }

  @Test
  void exportNameOf65CharactersIsRefusedAnd64Accepted() {
    String name64 = "n".repeat(64);
    assertThat(ZswapdSettings.parse("zswapd.exports = [{ name = " + name64 + ", size = 4 KiB }]")
        .exports().get(0).name()).isEqualTo(name64);
    assertThat(failure("zswapd.exports = [{ name = " + name64 + "x, size = 4 KiB }]").key())
        .isEqualTo("zswapd.exports[0].name");
  }

  @Test
  void exportWithoutNameOrSizeSaysWhatIsMissing() {
    assertThat(failure("zswapd.exports = [{ name = a }]").getMessage())
        .startsWith("zswapd.exports[0].size: missing; ");
    assertThat(failure("zswapd.exports = [{ size = 1 GiB }]").getMessage())
        .startsWith("zswapd.exports[0].name: missing; ");
  }

  @Test
  void misspeltExportFieldIsRefusedRatherThanIgnored() {
    assertThat(failure("zswapd.exports = [{ name = a, size = 1 GiB, readonly = true }]").getMessage())
        .isEqualTo("zswapd.exports[0].readonly = true: unknown export setting;"
            + " allowed: name, size, read-only, backing-file, backing-size, recompressor, recompression-level, placement");
  }

  @Test
  void noExportsOrANonObjectEntryIsRefused() {
    assertThat(failure("zswapd.exports = []").getMessage())
        .startsWith("zswapd.exports = []: must be a list of at least one export {");
    assertThat(failure("zswapd.exports = 5").getMessage())
        .startsWith("zswapd.exports = 5: not a list; must be a list of at least one export {");
    assertThat(failure("zswapd.exports = [swap0]").getMessage())
        .startsWith("zswapd.exports[0] = \"swap0\": each export must be an object");
  }

  @Test
  void exportsListCannotBeChangedAfterLoading() {
    ZswapdSettings s = ZswapdSettings.parse("");
    ExportSettings extra = new ExportSettings("x", 4096, false, Optional.empty(), OptionalLong.empty());
    assertThatThrownBy(() -> s.exports().add(extra)).isInstanceOf(UnsupportedOperationException.class);

    List<ExportSettings> source = new ArrayList<>(s.exports());
    ZswapdSettings copy = new ZswapdSettings(s.pool(), source, s.nbd(), s.metrics(), s.admin(), s.daemon(), s.namespaces(),
        s.cluster());
    source.add(extra);
    assertThat(copy.exports()).hasSize(1);
  }

  // --- listeners -------------------------------------------------------------------------------

  @Test
  void offSwitchesListenersOff() {
    ZswapdSettings s = ZswapdSettings.parse(
        "zswapd { nbd { tcp = off, unix-socket = off }, metrics.prometheus = \"off\" }");
    assertThat(s.nbd().tcp()).isEmpty();
    assertThat(s.nbd().unixSocket()).isEmpty();
    assertThat(s.metrics().prometheus()).isEmpty();
  }

  @Test
  void ipv6LiteralInBracketsAndWildcardAreBindable() throws Exception {
    ZswapdSettings s = ZswapdSettings.parse(
        "zswapd { nbd.tcp = \"[::1]:10809\", metrics.prometheus = \"0.0.0.0:0\" }");
    assertThat(s.nbd().tcp()).contains(new InetSocketAddress(InetAddress.getByName("::1"), 10809));
    assertThat(s.metrics().prometheus()).contains(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 0));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "127.0.0.1", "127.0.0.1:70000", "127.0.0.1:http", ":10809", "::1:10809", "[::1]10809", "on"})
  void badHostPortNamesTheKeyAndTheForm(String value) {
    SettingsException e = failure("zswapd.nbd.tcp = \"" + value + "\"");
    assertThat(e.key()).isEqualTo("zswapd.nbd.tcp");
    assertThat(e.getMessage()).isEqualTo("zswapd.nbd.tcp = \"" + value + "\": must be \"off\" or host:port"
        + " with a port from 0 to 65535, e.g. \"127.0.0.1:10809\" or \"[::1]:10809\"");
    assertThat(failure("zswapd.metrics.prometheus = \"" + value + "\"").key())
        .isEqualTo("zswapd.metrics.prometheus");
  }

  @ParameterizedTest
  @ValueSource(strings = {"2 KiB", "512 MiB", "huge"})
  void maxPayloadOutside4KiBTo256MiBIsRefused(String value) {
    assertThat(failure("zswapd.nbd.max-payload = " + value).getMessage())
        .startsWith("zswapd.nbd.max-payload = \"" + value + "\": ")
        .endsWith("must be a byte size from 4 KiB to 256 MiB");
  }

  @ParameterizedTest
  @ValueSource(strings = {"50ms", "2h", "soon"})
  void tickIntervalOutside100msTo1hIsRefused(String value) {
    assertThat(failure("zswapd.metrics.tick-interval = " + value).getMessage())
        .startsWith("zswapd.metrics.tick-interval = \"" + value + "\": ")
        .endsWith("must be a duration from 100ms to 1h");
  }

  // --- files and documents ---------------------------------------------------------------------

  @Test
  void fileIsLayeredOverTheDefaults(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("zswapd.conf"), """
        zswapd.pool.compressor = zstd
        zswapd.nbd.unix-socket = off
        """);
    ZswapdSettings s = ZswapdSettings.load(file);
    assertThat(s.pool().compressor()).isEqualTo(Compressor.ZSTD);
    assertThat(s.nbd().unixSocket()).isEmpty();
    assertThat(s.pool().acceptThreshold()).isEqualTo(0.9);
  }

  @Test
  void missingFileIsNamed(@TempDir Path dir) {
    Path file = dir.resolve("absent.conf");
    SettingsException e = catchThrowableOfType(SettingsException.class, () -> ZswapdSettings.load(file));
    assertThat(e.key()).isEqualTo(file.toString());
    assertThat(e.getMessage()).isEqualTo(file + ": no such file; cannot load zswapd settings");
  }

  @Test
  void syntaxErrorNamesTheFileAndLine(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("broken.conf"), "zswapd.pool {\n  compressor = = zstd\n}\n");
    SettingsException e = catchThrowableOfType(SettingsException.class, () -> ZswapdSettings.load(file));
    assertThat(e.key()).isEqualTo(file.toString());
    assertThat(e.getMessage()).startsWith(file + ": line 2: ").doesNotContain("\n");
  }

  @Test
  void badValueInAFileNamesTheKey(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("zswapd.conf"), "zswapd.pool.compressor = snappy\n");
    SettingsException e = catchThrowableOfType(SettingsException.class, () -> ZswapdSettings.load(file));
    assertThat(e.key()).isEqualTo("zswapd.pool.compressor");
  }

  @Test
  void syntaxErrorInParsedTextIsReportedAsSettingsError() {
    SettingsException e = failure("zswapd.pool {");
    assertThat(e.key()).isEqualTo("<string>");
    assertThat(e.getMessage()).startsWith("<string>: line 1: ");
  }

  @Test
  void anExportMayHaveASecondCodecThatIsNotThePoolsCompressor() {
    ZswapdSettings s = ZswapdSettings.parse("""
        zswapd.exports = [ { name = a, size = 1 GiB, recompressor = zstd, recompression-level = 12 },
                           { name = b, size = 1 GiB, recompressor = lz4hc }, { name = c, size = 1 GiB } ]
        """);
    assertThat(s.exports().get(0).recompressor()).contains(Compressor.ZSTD);
    assertThat(s.exports().get(0).recompressionLevel()).hasValue(12);
    assertThat(s.exports().get(1).recompressor()).contains(Compressor.LZ4HC);
    assertThat(s.exports().get(1).recompressionLevel()).isEmpty();
    assertThat(s.exports().get(2).recompressor()).isEmpty();
    assertThat(s.pool().recompress()).isEqualTo(RecompressSettings.DEFAULTS);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "recompressor = lz4|zswapd.exports[0].recompressor = \"lz4\": is the pool's compressor (lz4); a second codec must be another one",
      "recompressor = brotli|zswapd.exports[0].recompressor = \"brotli\": unknown codec; allowed: lz4, lz4hc, zstd, or null for none",
      "recompressor = zstd, recompression-level = 23|zswapd.exports[0].recompression-level = 23: out of range for zstd; allowed: default or 1..22",
      "recompression-level = 5|zswapd.exports[0].recompression-level = 5: needs recompressor",
  })
  void aBadSecondCodecNamesTheExportsKey(String fields, String message) {
    SettingsException e = catchThrowableOfType(SettingsException.class,
        () -> ZswapdSettings.parse("zswapd.exports = [ { name = a, size = 1 GiB, " + fields + " } ]"));
    assertThat(e).isNotNull();
    assertThat(e.getMessage()).startsWith(message);
  }

  @Test
  void theRecompressionPolicyIsReadWithItsRanges() {
    RecompressSettings r = ZswapdSettings.parse("""
        zswapd.pool.recompress { idle-after = 1h, huge = on, threshold = 2 KiB, min-saving = 20%, max-rate = 1000 }
        """).pool().recompress();
    assertThat(r).isEqualTo(new RecompressSettings(Optional.of(Duration.ofHours(1)), true, 2048, 0.2, 1000));
  }

  @Test
  void overflowNamespacesStartWithTheirConfiguredLimits() {
    assertThat(ZswapdSettings.parse("").namespaces()).as("none by default").isEmpty();
    ZswapdSettings s = ZswapdSettings.parse("zswapd.overflow.namespaces = ["
        + " { name = sessions, max-entries = 100000, max-bytes = 256 MiB, when-full = evict-lru, time-to-live = 10m },"
        + " { name = plain } ]");
    assertThat(s.namespace("sessions")).contains(new NamespaceSettings("sessions", java.util.OptionalLong.of(100_000),
        java.util.OptionalLong.of(256L << 20), true, Optional.of(Duration.ofMinutes(10))));
    assertThat(s.namespace("plain")).contains(new NamespaceSettings("plain", java.util.OptionalLong.empty(),
        java.util.OptionalLong.empty(), false, Optional.empty()));
    assertThat(ZswapdSettings.parse("zswapd.overflow.namespaces = [ { name = a, max-entries = off,"
        + " max-bytes = off, when-full = refuse, time-to-live = off } ]").namespace("a").orElseThrow().maxEntries())
        .isEmpty();
  }

  @Test
  void badOverflowNamespacesAreRefusedNamingTheKeyAndTheRange() {
    String ns = "zswapd.overflow.namespaces = ";
    assertThat(failure(ns + "[ { name = a, max-entires = 5 } ]").getMessage())
        .startsWith("zswapd.overflow.namespaces[0].max-entires = 5: unknown namespace setting; allowed: name,");
    assertThat(failure(ns + "[ { name = a, max-entries = 0 } ]").key())
        .isEqualTo("zswapd.overflow.namespaces[0].max-entries");
    assertThat(failure(ns + "[ { name = a, max-entries = 0 } ]").getMessage())
        .contains("from 1 to 2^40, or off");
    assertThat(failure(ns + "[ { name = a, when-full = drop-oldest } ]").getMessage())
        .contains("zswapd.overflow.namespaces[0].when-full").contains("must be refuse or evict-lru");
    assertThat(failure(ns + "[ { name = a, time-to-live = 0s } ]").getMessage()).contains("at least 1ms, or off");
    assertThat(failure(ns + "[ { name = a, max-bytes = -1 } ]").key()).isEqualTo("zswapd.overflow.namespaces[0].max-bytes");
    assertThat(failure(ns + "[ { name = \"bad name\" } ]").key()).isEqualTo("zswapd.overflow.namespaces[0].name");
    assertThat(failure(ns + "[ { name = a }, { name = a } ]").getMessage())
        .contains("zswapd.overflow.namespaces[1].name").contains("also used by zswapd.overflow.namespaces[0]");
    assertThat(failure(ns + "[ 5 ]").getMessage()).contains("each namespace must be an object");
    assertThat(failure("zswapd.overflow.namespace = []").getMessage())
        .contains("did you mean zswapd.overflow.namespaces?");
  }
}
