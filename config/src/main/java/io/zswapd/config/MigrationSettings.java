package io.zswapd.config;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code zswapd.pool.migration}: when the migration worker compacts size classes and empties
 * sparse chunks so their memory goes back to the OS (see reference.conf for each setting and
 * its kernel analogue).
 *
 * <pre>{@code
 * MigrationSettings m = ZswapdSettings.load().pool().migration();
 * m.period().ifPresent(every -> timers.startTimerWithFixedDelay(TICK, every));
 * boolean fragmented = memUsedTotal > m.fragmentationThreshold() * comprDataSize;
 * }</pre>
 *
 * @param period                 how often the worker checks the pool, 100 ms..1 h; empty when
 *                               "off" (compaction and migration then run only on demand)
 * @param fragmentationThreshold compact when {@code mem_used_total} exceeds this multiple of
 *                               {@code compr_data_size}, 1.0..10.0 (written 100%..1000%)
 * @param minChunkFree           a chunk is emptied by migration only when at least this share
 *                               of its pages is free, 0.01..1.0 (written 1%..100%)
 * @param maxPagesPerPass        most pages one migration pass moves, 1..1048576
 * @param checkedMemory          when true, a released chunk's memory is dropped rather than
 *                               freed at once, so that any later access is an exception and
 *                               never a crash; the GC frees it (tests run with it on)
 */
public record MigrationSettings(
    Optional<Duration> period,
    double fragmentationThreshold,
    double minChunkFree,
    int maxPagesPerPass,
    boolean checkedMemory) {

  private static final Duration MIN_PERIOD = Duration.ofMillis(100);
  private static final Duration MAX_PERIOD = Duration.ofHours(1);
  private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);

  public MigrationSettings {
    Objects.requireNonNull(period, "period");
  }

  static MigrationSettings read(Section migration) {
    return new MigrationSettings(period(migration), fragmentationThreshold(migration), minChunkFree(migration),
        maxPagesPerPass(migration), migration.bool("checked-memory", "must be on or off"));
  }

  private static Optional<Duration> period(Section migration) {
    String name = "period";
    String rule = "must be \"off\" or a duration from 100ms to 1h";
    if (migration.isOff(name)) {
      return Optional.empty();
    }
    Duration period = migration.duration(name, rule);
    if (period.compareTo(MIN_PERIOD) < 0 || period.compareTo(MAX_PERIOD) > 0) {
      throw migration.invalid(name, rule);
    }
    return Optional.of(period);
  }

  private static double fragmentationThreshold(Section migration) {
    String name = "fragmentation-threshold";
    String rule = "must be a percentage from 100% to 1000% (mem_used_total over compr_data_size)";
    BigDecimal percent = migration.percent(name).orElseThrow(() -> migration.invalid(name, rule));
    if (percent.compareTo(HUNDRED) < 0 || percent.compareTo(BigDecimal.valueOf(1000)) > 0) {
      throw migration.invalid(name, rule);
    }
    return percent.movePointLeft(2).doubleValue();
  }

  private static double minChunkFree(Section migration) {
    String name = "min-chunk-free";
    String rule = "must be a percentage from 1% to 100% of a chunk's pages";
    BigDecimal percent = migration.percent(name).orElseThrow(() -> migration.invalid(name, rule));
    if (percent.compareTo(BigDecimal.ONE) < 0 || percent.compareTo(HUNDRED) > 0) {
      throw migration.invalid(name, rule);
    }
    return percent.movePointLeft(2).doubleValue();
  }

  private static int maxPagesPerPass(Section migration) {
    String name = "max-pages-per-pass";
    String rule = "must be an integer from 1 to 1048576";
    int pages = migration.integer(name, rule);
    if (pages < 1 || pages > 1 << 20) {
      throw migration.invalid(name, rule);
    }
    return pages;
  }
}
