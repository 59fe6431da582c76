package io.zswapd.config;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The page codec, as named in {@code zswapd.pool.compressor} (the kernel's zswap {@code compressor}
 * parameter or zram's {@code comp_algorithm}).
 *
 * <p>Level ranges are those of the native libraries: lz4 has no levels, lz4hc 1..17 (LZ4HC_CLEVEL_MAX),
 * zstd 1..22 (ZSTD_maxCLevel; the negative "fast" levels are not offered because lz4 already covers
 * that end).
 */
public enum Compressor {
  LZ4("lz4", 0, 0),
  LZ4HC("lz4hc", 1, 17),
  ZSTD("zstd", 1, 22);

  private final String configName;
  private final int minLevel;
  private final int maxLevel;

  Compressor(String configName, int minLevel, int maxLevel) {
    this.configName = configName;
    this.minLevel = minLevel;
    this.maxLevel = maxLevel;
  }

  /** The name used in HOCON, for example {@code "lz4hc"}. */
  public String configName() {
    return configName;
  }

  /** The compressor with this exact (lowercase) config name, e.g. {@code byName("zstd")}. */
  public static Optional<Compressor> byName(String name) {
    return Arrays.stream(values()).filter(c -> c.configName.equals(name)).findFirst();
  }

  static String allowedNames() {
    return Arrays.stream(values()).map(Compressor::configName).collect(Collectors.joining(", "));
  }

  boolean hasLevels() {
    return maxLevel > 0;
  }

  boolean acceptsLevel(int level) {
    return hasLevels() && level >= minLevel && level <= maxLevel;
  }

  String levelRange() {
    return minLevel + ".." + maxLevel;
  }
}
