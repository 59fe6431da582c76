package io.zswapd.config;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValueFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * One setting changed while the engine runs ({@code zswapd set KEY VALUE}, {@code
 * Zswapd.set(key, value)}), parsed and validated by the same rules and with the same one-line
 * errors as the configuration file.
 *
 * <pre>{@code
 * LiveSetting change = LiveSetting.parse("pool.max-size", "512 MiB");   // or "zswapd.pool.max-size"
 * PoolSettings now = change.applyTo(current);
 * LiveSetting.parse("pool.compressor", "zstd");
 * // SettingsException: zswapd.pool.compressor cannot change while running; restart with --config ...
 * }</pre>
 *
 * <p>Only the pool's limits and the writeback policy are live: they are numbers an actor holds
 * ({@code PageArena}'s limit, {@code WritebackWorker}'s timers). The codec, the zspage geometry
 * and the chunk size shape every byte already stored, and exports and listeners are what clients
 * are attached to, so those need a restart.
 */
public sealed interface LiveSetting {

  /** Keys that can change while running, as given to {@code zswapd set} (the {@code zswapd.} prefix is optional). */
  List<String> KEYS = List.of("pool.max-size", "pool.accept-threshold", "pool.writeback.idle-after",
      "pool.writeback.reclaim-timeout", "pool.recompress.idle-after", "pool.recompress.huge",
      "pool.recompress.threshold", "pool.recompress.min-saving", "pool.recompress.max-rate");

  /** The full key, e.g. {@code zswapd.pool.max-size}. */
  String key();

  /** The pool settings with this one changed. */
  PoolSettings applyTo(PoolSettings pool);

  /** The value as the configuration file would write it: {@code 536870912}, {@code 50%}, {@code 1h}, {@code off}. */
  String value();

  /** {@code pool.max-size}: the pool limit in bytes (a percentage is resolved against physical RAM when parsed). */
  record MaxSize(long bytes) implements LiveSetting {
    @Override
    public String key() {
      return "zswapd.pool.max-size";
    }

    @Override
    public PoolSettings applyTo(PoolSettings pool) {
      return pool.withMaxSizeBytes(bytes);
    }

    @Override
    public String value() {
      return Long.toString(bytes);
    }
  }

  /** {@code pool.accept-threshold} as a fraction, 0.01..1. */
  record AcceptThreshold(double fraction) implements LiveSetting {
    @Override
    public String key() {
      return "zswapd.pool.accept-threshold";
    }

    @Override
    public PoolSettings applyTo(PoolSettings pool) {
      return pool.withAcceptThreshold(fraction);
    }

    @Override
    public String value() {
      return java.math.BigDecimal.valueOf(fraction).movePointRight(2).stripTrailingZeros().toPlainString() + "%";
    }
  }

  /** {@code pool.writeback.idle-after}; empty is "off". */
  record IdleAfter(Optional<Duration> period) implements LiveSetting {
    @Override
    public String key() {
      return "zswapd.pool.writeback.idle-after";
    }

    @Override
    public PoolSettings applyTo(PoolSettings pool) {
      return pool.withWriteback(new WritebackSettings(period, pool.writeback().reclaimTimeout()));
    }

    @Override
    public String value() {
      return period.map(LiveSetting::duration).orElse("off");
    }
  }

  /** {@code pool.writeback.reclaim-timeout}. */
  record ReclaimTimeout(Duration timeout) implements LiveSetting {
    @Override
    public String key() {
      return "zswapd.pool.writeback.reclaim-timeout";
    }

    @Override
    public PoolSettings applyTo(PoolSettings pool) {
      return pool.withWriteback(new WritebackSettings(pool.writeback().idleAfter(), timeout));
    }

    @Override
    public String value() {
      return duration(timeout);
    }
  }

  /**
   * One of {@code pool.recompress}'s settings ({@code name}: idle-after, huge, threshold,
   * min-saving, max-rate), already applied to {@code settings}, the section as it will be.
   */
  record Recompress(String name, RecompressSettings settings) implements LiveSetting {
    @Override
    public String key() {
      return "zswapd.pool.recompress." + name;
    }

    @Override
    public PoolSettings applyTo(PoolSettings pool) {
      RecompressSettings now = pool.recompress();
      return pool.withRecompress(switch (name) {
        case "idle-after" -> now.withIdleAfter(settings.idleAfter());
        case "huge" -> now.withHuge(settings.huge());
        case "threshold" -> now.withThreshold(settings.threshold());
        case "min-saving" -> now.withMinSaving(settings.minSaving());
        default -> now.withMaxRate(settings.maxRate());
      });
    }

    @Override
    public String value() {
      return switch (name) {
        case "idle-after" -> settings.idleAfter().map(LiveSetting::duration).orElse("off");
        case "huge" -> settings.huge() ? "on" : "off";
        case "threshold" -> Integer.toString(settings.threshold());
        case "min-saving" -> java.math.BigDecimal.valueOf(settings.minSaving()).movePointRight(2)
            .stripTrailingZeros().toPlainString() + "%";
        default -> Integer.toString(settings.maxRate());
      };
    }
  }

  /**
   * Parses {@code key = value}; percentages of RAM refer to this machine's physical memory.
   *
   * @throws SettingsException one line naming the key, the value and what is allowed; or, for a
   *     setting that exists but is not live, saying so; or, for an unknown key, listing the live ones
   */
  static LiveSetting parse(String key, String value) {
    return parse(key, value, ZswapdSettings::physicalRamBytes);
  }

  /** As {@link #parse(String, String)} with the RAM size that percentages refer to supplied (tests). */
  static LiveSetting parse(String key, String value, LongSupplier physicalRamBytes) {
    String k = key.trim();
    String shortKey = k.startsWith("zswapd.") ? k.substring("zswapd.".length()) : k;
    String v = value.trim();
    return switch (shortKey) {
      case "pool.max-size" -> new MaxSize(PoolSettings.maxSize(one("zswapd.pool", "max-size", v), physicalRamBytes));
      case "pool.accept-threshold" ->
          new AcceptThreshold(PoolSettings.acceptThreshold(one("zswapd.pool", "accept-threshold", v)));
      case "pool.writeback.idle-after" ->
          new IdleAfter(WritebackSettings.idleAfter(one("zswapd.pool.writeback", "idle-after", v)));
      case "pool.writeback.reclaim-timeout" ->
          new ReclaimTimeout(WritebackSettings.reclaimTimeout(one("zswapd.pool.writeback", "reclaim-timeout", v)));
      case "pool.recompress.idle-after" -> recompress("idle-after",
          d -> d.withIdleAfter(WritebackSettings.idleAfter(one("zswapd.pool.recompress", "idle-after", v))));
      case "pool.recompress.huge" -> recompress("huge",
          d -> d.withHuge(RecompressSettings.huge(one("zswapd.pool.recompress", "huge", v))));
      case "pool.recompress.threshold" -> recompress("threshold",
          d -> d.withThreshold(RecompressSettings.threshold(one("zswapd.pool.recompress", "threshold", v))));
      case "pool.recompress.min-saving" -> recompress("min-saving",
          d -> d.withMinSaving(RecompressSettings.minSaving(one("zswapd.pool.recompress", "min-saving", v))));
      case "pool.recompress.max-rate" -> recompress("max-rate",
          d -> d.withMaxRate(RecompressSettings.maxRate(one("zswapd.pool.recompress", "max-rate", v))));
      default -> throw notLive("zswapd." + shortKey);
    };
  }

  private static Recompress recompress(String name, java.util.function.UnaryOperator<RecompressSettings> parse) {
    return new Recompress(name, parse.apply(RecompressSettings.DEFAULTS));
  }

  /** A duration in the largest HOCON unit that states it exactly: {@code 10s}, {@code 1h}, {@code 250ms}. */
  static String duration(Duration d) {
    long ms = d.toMillis();
    long[] sizes = {86_400_000L, 3_600_000L, 60_000L, 1_000L};
    String[] units = {"d", "h", "m", "s"};
    for (int i = 0; i < sizes.length; i++) {
      if (ms != 0 && ms % sizes[i] == 0) {
        return ms / sizes[i] + units[i];
      }
    }
    return ms + "ms";
  }

  /** A section holding just {@code name = value} (a string, as typed), so the file's readers apply. */
  private static Section one(String sectionKey, String name, String value) {
    return new Section(sectionKey, ConfigValueFactory.fromMap(Map.of(name, value)));
  }

  private static SettingsException notLive(String fullKey) {
    String live = "settable while running: " + String.join(", ", KEYS);
    boolean known;
    try {
      known = !fullKey.equals("zswapd.") && ZswapdSettings.reference().hasPathOrNull(fullKey);
    } catch (ConfigException.BadPath e) {
      known = false;
    }
    if (known) {
      return new SettingsException(fullKey, fullKey + " cannot change while running; restart with --config (" + live
          + ")");
    }
    List<String> path;
    try {
      path = ConfigUtil.splitPath(fullKey);
    } catch (ConfigException e) {
      return new SettingsException(fullKey, fullKey + ": not a setting's name; " + live);
    }
    return new SettingsException(fullKey, KnownKeys.unknownSetting(path) + " (" + live + ")");
  }
}
