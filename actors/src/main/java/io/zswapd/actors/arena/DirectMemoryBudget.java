package io.zswapd.actors.arena;

import io.zswapd.config.SettingsException;
import java.util.Locale;

/**
 * The one rule for how much direct memory a pool limit needs, checked before the engine starts
 * and before a live {@code set pool.max-size}: the pool's chunks are direct buffers, and past the
 * JVM's limit ({@code -XX:MaxDirectMemorySize}, by default the heap's maximum) an allocation
 * throws instead of being refused, so a limit that does not fit is refused in one line rather
 * than quietly lowered.
 *
 * <pre>
 *   required = pool limit + max(pool limit / 10, 64 MiB)
 * </pre>
 *
 * The headroom is for the direct buffers that are not the pool: Akka's TCP buffers, the JDK's
 * temporary buffers for socket and file I/O, the codecs' buffers. A tenth covers a large pool's
 * share; 64 MiB is the least those take with a few connections. README and docs/OPERATIONS.md
 * quote this rule.
 *
 * <pre>{@code
 * DirectMemoryBudget.check(settings.pool().maxSizeBytes(), DirectMemoryBudget.jvmLimit());
 * // SettingsException: zswapd.pool.max-size = 33554432 B (32.0 MiB) needs 96.0 MiB of direct memory ...
 * }</pre>
 */
public final class DirectMemoryBudget {
  /** The least headroom above the pool: {@value} bytes (64 MiB). */
  public static final long MIN_HEADROOM = 64L << 20;

  private static final String KEY = "zswapd.pool.max-size";

  private DirectMemoryBudget() {}

  /**
   * The JVM's direct-memory limit.
   *
   * @param bytes    the limit
   * @param explicit whether {@code -XX:MaxDirectMemorySize} set it; otherwise it is the heap's maximum
   */
  public record JvmLimit(long bytes, boolean explicit) {}

  /** Direct memory a pool limit of {@code poolLimitBytes} needs: the rule in the class comment. */
  public static long required(long poolLimitBytes) {
    return poolLimitBytes + Math.max(poolLimitBytes / 10, MIN_HEADROOM);
  }

  /** This JVM's limit, as the JDK applies it. */
  public static JvmLimit jvmLimit() {
    long configured = 0;
    try {
      com.sun.management.HotSpotDiagnosticMXBean hotspot =
          java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
      configured = Long.parseLong(hotspot.getVMOption("MaxDirectMemorySize").getValue());
    } catch (RuntimeException e) {
      // not HotSpot: the JDK's default, the heap's maximum
    }
    return configured > 0 ? new JvmLimit(configured, true) : new JvmLimit(Runtime.getRuntime().maxMemory(), false);
  }

  /**
   * Throws a {@link SettingsException} (key {@code zswapd.pool.max-size}) whose one-line message
   * names the value, what it needs, the JVM's limit and the flag to set, when the pool limit does
   * not fit.
   */
  public static void check(long poolLimitBytes, JvmLimit jvm) {
    long needed = required(poolLimitBytes);
    if (needed <= jvm.bytes()) {
      return;
    }
    String limit = jvm.explicit() ? "-XX:MaxDirectMemorySize=" + human(jvm.bytes())
        : "the heap's maximum " + human(jvm.bytes()) + ", as -XX:MaxDirectMemorySize is not set";
    throw new SettingsException(KEY, KEY + " = " + poolLimitBytes + " B (" + human(poolLimitBytes) + ") needs "
        + human(needed) + " of direct memory (the pool plus max(10%, 64 MiB) for other buffers), more than the"
        + " JVM's limit (" + limit + "): start java with -XX:MaxDirectMemorySize=" + ((needed + (1 << 20) - 1) >> 20)
        + "m or more, or lower " + KEY);
  }

  private static String human(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
