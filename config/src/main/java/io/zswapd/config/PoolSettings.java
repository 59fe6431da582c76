package io.zswapd.config;

import static io.zswapd.config.ZswapdSettings.PAGE_SIZE;

import java.math.BigDecimal;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * {@code zswapd.pool}: the one compressed pool shared by every export (see reference.conf for each
 * setting and its kernel analogue).
 *
 * <pre>{@code
 * PoolSettings pool = ZswapdSettings.load().pool();
 * if (pool.compressor() == Compressor.ZSTD) codec = zstd(pool.compressionLevel().orElse(3));
 * }</pre>
 *
 * @param maxSizeBytes       pool limit in bytes, a multiple of the page size, at least 64 KiB
 * @param acceptThreshold    after the limit is hit, stores are accepted again only below this
 *                           fraction of {@code maxSizeBytes} (0.01..1)
 * @param compressor         page codec
 * @param compressionLevel   codec level; empty means the codec's own default
 * @param sameFilledPages    whether pages of one repeated 8-byte word are kept in the entry
 * @param maxPagesPerZspage  upper bound on pages in one zspage: 4, 8 or 16
 * @param arenaChunkSizeBytes size of one off-heap chunk, a multiple of the page size
 * @param offHeap            where chunks come from: mmap (JDK 22+), direct buffers, or auto
 * @param writeback          when pages are written back to an export's backing file
 * @param recompress         when stored pages are compressed again with their export's second codec
 * @param migration          when the pool is compacted and sparse chunks emptied (memory back to the OS)
 */
public record PoolSettings(
    long maxSizeBytes,
    double acceptThreshold,
    Compressor compressor,
    OptionalInt compressionLevel,
    boolean sameFilledPages,
    int maxPagesPerZspage,
    long arenaChunkSizeBytes,
    OffHeapKind offHeap,
    WritebackSettings writeback,
    RecompressSettings recompress,
    MigrationSettings migration) {

  private static final long KIB = 1024;
  private static final long MIB = 1024 * KIB;
  private static final long GIB = 1024 * MIB;
  private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);
  private static final Set<Integer> ZSPAGE_PAGES = Set.of(4, 8, 16);

  public PoolSettings {
    Objects.requireNonNull(compressor, "compressor");
    Objects.requireNonNull(compressionLevel, "compressionLevel");
    Objects.requireNonNull(offHeap, "offHeap");
    Objects.requireNonNull(writeback, "writeback");
    Objects.requireNonNull(recompress, "recompress");
    Objects.requireNonNull(migration, "migration");
  }

  /**
   * The pool size below which stores are accepted again once the limit was hit: {@code
   * maxSizeBytes * acceptThreshold}, rounded down to a whole page. The gap between the two is the
   * hysteresis that keeps the pool from flapping between full and not full on every page.
   */
  public long acceptBelowBytes() {
    long raw = (long) (maxSizeBytes * acceptThreshold);
    return raw - raw % PAGE_SIZE;
  }

  /** These settings with {@code max-size} replaced (already validated, in bytes). */
  public PoolSettings withMaxSizeBytes(long bytes) {
    return new PoolSettings(bytes, acceptThreshold, compressor, compressionLevel, sameFilledPages,
        maxPagesPerZspage, arenaChunkSizeBytes, offHeap, writeback, recompress, migration);
  }

  /** These settings with {@code accept-threshold} replaced (a fraction, 0.01..1). */
  public PoolSettings withAcceptThreshold(double fraction) {
    return new PoolSettings(maxSizeBytes, fraction, compressor, compressionLevel, sameFilledPages,
        maxPagesPerZspage, arenaChunkSizeBytes, offHeap, writeback, recompress, migration);
  }

  /** These settings with {@code writeback} replaced. */
  public PoolSettings withWriteback(WritebackSettings replacement) {
    return new PoolSettings(maxSizeBytes, acceptThreshold, compressor, compressionLevel, sameFilledPages,
        maxPagesPerZspage, arenaChunkSizeBytes, offHeap, replacement, recompress, migration);
  }

  /** These settings with {@code recompress} replaced. */
  public PoolSettings withRecompress(RecompressSettings replacement) {
    return new PoolSettings(maxSizeBytes, acceptThreshold, compressor, compressionLevel, sameFilledPages,
        maxPagesPerZspage, arenaChunkSizeBytes, offHeap, writeback, replacement, migration);
  }

  /** These settings with {@code migration} replaced. */
  public PoolSettings withMigration(MigrationSettings replacement) {
    return new PoolSettings(maxSizeBytes, acceptThreshold, compressor, compressionLevel, sameFilledPages,
        maxPagesPerZspage, arenaChunkSizeBytes, offHeap, writeback, recompress, replacement);
  }

  static PoolSettings read(Section pool, LongSupplier physicalRamBytes) {
    Compressor compressor = compressor(pool);
    int zspagePages = pool.integer("max-pages-per-zspage", "allowed: 4, 8, 16");
    if (!ZSPAGE_PAGES.contains(zspagePages)) {
      throw pool.invalid("max-pages-per-zspage", "allowed: 4, 8, 16");
    }
    return new PoolSettings(
        maxSize(pool, physicalRamBytes),
        acceptThreshold(pool),
        compressor,
        level(pool, compressor),
        pool.bool("same-filled-pages", "must be on or off"),
        zspagePages,
        arenaChunkSize(pool, zspagePages),
        offHeap(pool),
        WritebackSettings.read(pool.section("writeback")),
        RecompressSettings.read(pool.section("recompress")),
        MigrationSettings.read(pool.section("migration")));
  }

  static long maxSize(Section pool, LongSupplier physicalRamBytes) {
    String name = "max-size";
    String rule = "must be a byte size of at least 64 KiB (e.g. \"2 GiB\")"
        + " or a percentage of physical RAM above 0% and at most 100% (e.g. \"20%\")";
    BigDecimal percent = pool.percent(name).orElse(null);
    long bytes;
    if (percent != null) {
      if (percent.signum() <= 0 || percent.compareTo(HUNDRED) > 0) {
        throw pool.invalid(name, rule);
      }
      long ram = physicalRamBytes.getAsLong();
      bytes = percent.multiply(BigDecimal.valueOf(ram)).divide(HUNDRED).longValue();
      if (bytes < 64 * KIB) {
        throw pool.invalid(name, "comes to " + bytes + " bytes of " + ram + " bytes of RAM; " + rule);
      }
    } else {
      bytes = pool.bytes(name, rule);
      if (bytes < 64 * KIB) {
        throw pool.invalid(name, rule);
      }
    }
    return bytes - bytes % PAGE_SIZE;
  }

  static double acceptThreshold(Section pool) {
    String rule = "must be a percentage from 1% to 100%";
    BigDecimal percent =
        pool.percent("accept-threshold").orElseThrow(() -> pool.invalid("accept-threshold", rule));
    if (percent.compareTo(BigDecimal.ONE) < 0 || percent.compareTo(HUNDRED) > 0) {
      throw pool.invalid("accept-threshold", rule);
    }
    return percent.movePointLeft(2).doubleValue();
  }

  private static OffHeapKind offHeap(Section pool) {
    String rule = "allowed: auto, mmap (JDK 22 or later), direct";
    return OffHeapKind.byName(pool.string("off-heap", rule)).orElseThrow(() -> pool.invalid("off-heap", rule));
  }

  private static Compressor compressor(Section pool) {
    String rule = "unknown compressor; allowed: " + Compressor.allowedNames();
    return Compressor.byName(pool.string("compressor", rule))
        .orElseThrow(() -> pool.invalid("compressor", rule));
  }

  private static OptionalInt level(Section pool, Compressor compressor) {
    return level(pool, "compression-level", compressor);
  }

  /** The level field {@code name} of {@code section} for {@code compressor}: empty for "default". */
  static OptionalInt level(Section pool, String name, Compressor compressor) {
    String levels = "lz4hc " + Compressor.LZ4HC.levelRange() + " and zstd " + Compressor.ZSTD.levelRange();
    // absent or null is as good as "default": the codec picks its own level
    if (!pool.has(name) || "default".equals(pool.object().get(name).unwrapped())) {
      return OptionalInt.empty();
    }
    int level = pool.integer(name, "allowed: default, or a level (" + levels + ")");
    if (!compressor.hasLevels()) {
      throw pool.invalid(name, compressor.configName() + " has no levels; allowed: default"
          + " (a level applies to " + levels + ")");
    }
    if (!compressor.acceptsLevel(level)) {
      throw pool.invalid(name, "out of range for " + compressor.configName()
          + "; allowed: default or " + compressor.levelRange());
    }
    return OptionalInt.of(level);
  }

  private static long arenaChunkSize(Section pool, int zspagePages) {
    String name = "arena-chunk-size";
    String rule = "must be a multiple of 4 KiB from 64 KiB to 1 GiB";
    long bytes = pool.bytes(name, rule);
    if (bytes < 64 * KIB || bytes > GIB || bytes % PAGE_SIZE != 0) {
      throw pool.invalid(name, rule);
    }
    // So that one chunk can always supply a whole zspage. 64 KiB already holds 16 pages, so this
    // only bites if the limits above or the zspage sizes change; it keeps the invariant written down.
    if (bytes / PAGE_SIZE < zspagePages) {
      throw pool.invalid(name, "must hold at least max-pages-per-zspage (" + zspagePages + ") pages");
    }
    return bytes;
  }
}
