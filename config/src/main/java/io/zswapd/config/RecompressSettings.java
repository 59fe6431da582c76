package io.zswapd.config;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code zswapd.pool.recompress}: when pages already stored are compressed again with their
 * export's second codec ({@code recompressor}), zram's {@code recompress} run in the background
 * (see reference.conf for each setting). All of it can change while running.
 *
 * <pre>{@code
 * RecompressSettings r = ZswapdSettings.load().pool().recompress();
 * r.idleAfter().ifPresent(period -> schedulePasses(period));   // off by default
 * int perSecond = r.maxRate();                                  // 4096 pages/s by default
 * }</pre>
 *
 * @param idleAfter pages untouched this long are recompressed in the background, 1 s..30 d;
 *                  empty when "off" (then only on demand)
 * @param huge      whether a background pass also takes raw (huge) pages, touched or not
 * @param threshold a background pass takes only pages stored in at least this many bytes
 *                  (0..4096; 0 takes any), as zram's {@code threshold=}
 * @param minSaving the share of its stored bytes a page must save, 0..0.9; a smaller copy must
 *                  also fall in a smaller size class, or the page keeps its object (zram's rule)
 * @param maxRate   most pages a background pass recompresses per second, 1..1,000,000
 */
public record RecompressSettings(Optional<Duration> idleAfter, boolean huge, int threshold, double minSaving,
    int maxRate) {

  public static final RecompressSettings DEFAULTS =
      new RecompressSettings(Optional.empty(), false, 0, 0.1, 4096);
  private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);

  public RecompressSettings {
    Objects.requireNonNull(idleAfter, "idleAfter");
  }

  public RecompressSettings withIdleAfter(Optional<Duration> v) {
    return new RecompressSettings(v, huge, threshold, minSaving, maxRate);
  }

  public RecompressSettings withHuge(boolean v) {
    return new RecompressSettings(idleAfter, v, threshold, minSaving, maxRate);
  }

  public RecompressSettings withThreshold(int v) {
    return new RecompressSettings(idleAfter, huge, v, minSaving, maxRate);
  }

  public RecompressSettings withMinSaving(double v) {
    return new RecompressSettings(idleAfter, huge, threshold, v, maxRate);
  }

  public RecompressSettings withMaxRate(int v) {
    return new RecompressSettings(idleAfter, huge, threshold, minSaving, v);
  }

  static RecompressSettings read(Section s) {
    return new RecompressSettings(WritebackSettings.idleAfter(s), huge(s), threshold(s), minSaving(s), maxRate(s));
  }

  static boolean huge(Section s) {
    return s.bool("huge", "must be on or off");
  }

  static int threshold(Section s) {
    String rule = "must be a byte count from 0 to 4096 (0: any size)";
    long v = s.bytes("threshold", rule);
    if (v < 0 || v > ZswapdSettings.PAGE_SIZE) {
      throw s.invalid("threshold", rule);
    }
    return (int) v;
  }

  static double minSaving(Section s) {
    String rule = "must be a percentage from 0% to 90%";
    BigDecimal percent = s.percent("min-saving").orElseThrow(() -> s.invalid("min-saving", rule));
    if (percent.signum() < 0 || percent.compareTo(BigDecimal.valueOf(90)) > 0) {
      throw s.invalid("min-saving", rule);
    }
    return percent.divide(HUNDRED).doubleValue();
  }

  static int maxRate(Section s) {
    String rule = "must be a number of pages per second from 1 to 1000000";
    int v = s.integer("max-rate", rule);
    if (v < 1 || v > 1_000_000) {
      throw s.invalid("max-rate", rule);
    }
    return v;
  }
}
