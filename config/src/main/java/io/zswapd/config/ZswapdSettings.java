package io.zswapd.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Every {@code zswapd.*} setting, read once and validated, as immutable records. Nothing in the
 * engine reads HOCON paths; it is handed these records instead. Defaults and documentation of each
 * setting are in {@code reference.conf}.
 *
 * <pre>{@code
 * ZswapdSettings settings = ZswapdSettings.load(Path.of("/etc/zswapd.conf"));
 * long limit = settings.pool().maxSizeBytes();
 * ZswapdSettings inTest = ZswapdSettings.parse("zswapd.pool.compressor = zstd");
 * }</pre>
 *
 * <p>Every factory throws {@link SettingsException} with a one-line message naming the key, the
 * value and what is allowed, so a daemon can print it and exit without a stack trace. A key under
 * {@code zswapd} that no {@code reference.conf} defines is refused the same way, with the nearest
 * known key when one is close ({@code KnownKeys}).
 *
 * @param pool    the compressed pool
 * @param exports the block devices / namespaces, at least one, names unique, in config order
 * @param nbd     the NBD listeners
 * @param metrics the Prometheus endpoint
 * @param admin   the daemon's control endpoint ({@code zswapd stats}, {@code set}, ...)
 * @param daemon  what the daemon does to its own process (memory locking)
 * @param namespaces the limits overflow-store namespaces start with ({@code overflow.namespaces})
 * @param cluster whether this engine is a node of a zswapd cluster, and as what
 */
public record ZswapdSettings(
    PoolSettings pool, List<ExportSettings> exports, NbdSettings nbd, MetricsSettings metrics,
    AdminSettings admin, DaemonSettings daemon, List<NamespaceSettings> namespaces, ClusterSettings cluster) {

  /** The page size of the engine, as on x86-64 Linux: the unit of sizes, offsets and allocation. */
  public static final int PAGE_SIZE = 4096;

  public ZswapdSettings {
    Objects.requireNonNull(pool, "pool");
    exports = List.copyOf(exports);
    Objects.requireNonNull(nbd, "nbd");
    Objects.requireNonNull(metrics, "metrics");
    Objects.requireNonNull(admin, "admin");
    Objects.requireNonNull(daemon, "daemon");
    namespaces = List.copyOf(namespaces);
    Objects.requireNonNull(cluster, "cluster");
  }

  /**
   * Reads {@code zswapd.*} from a configuration, for example an actor system's {@code
   * system.settings().config()}. This module's {@code reference.conf} is added as a fallback, so a
   * bare {@code ConfigFactory.parseString(...)} works too; the result is resolved here.
   */
  public static ZswapdSettings fromConfig(Config config) {
    return fromConfig(config, ZswapdSettings::physicalRamBytes);
  }

  /** As {@link #fromConfig(Config)}, with the RAM size that percentages refer to supplied (tests). */
  static ZswapdSettings fromConfig(Config config, LongSupplier physicalRamBytes) {
    Config full;
    try {
      full = config.withFallback(reference()).resolve();
    } catch (ConfigException e) {
      throw unreadable(documentOf(e, "<config>"), e);
    }
    Section zswapd = Section.of(full, "zswapd");
    KnownKeys.check(zswapd.object());
    PoolSettings pool = PoolSettings.read(zswapd.section("pool"), physicalRamBytes);
    ClusterSettings cluster = ClusterSettings.read(zswapd.section("cluster"));
    return new ZswapdSettings(
        pool,
        ExportSettings.readAll(zswapd, pool.compressor(), cluster),
        NbdSettings.read(zswapd.section("nbd")),
        MetricsSettings.read(zswapd.section("metrics")),
        AdminSettings.read(zswapd.section("admin")),
        DaemonSettings.read(zswapd.section("daemon")),
        NamespaceSettings.readAll(zswapd.section("overflow")),
        cluster);
  }

  /** The standard Akka-style lookup: system properties, then application.conf, then reference.conf. */
  public static ZswapdSettings load() {
    Config config;
    try {
      config = ConfigFactory.load(ZswapdSettings.class.getClassLoader());
    } catch (ConfigException e) {
      throw unreadable(documentOf(e, "application.conf"), e);
    }
    return fromConfig(config);
  }

  /** HOCON text layered over the defaults, e.g. {@code parse("zswapd.pool.compressor = zstd")}. */
  public static ZswapdSettings parse(String hocon) {
    Config config;
    try {
      config = ConfigFactory.parseString(hocon);
    } catch (ConfigException e) {
      throw unreadable("<string>", e);
    }
    return fromConfig(config);
  }

  /**
   * A file layered over the defaults (system properties and application.conf are not consulted:
   * the file is the whole user configuration). A missing or unreadable file and a syntax error are
   * reported naming the file, with the line for syntax errors.
   */
  public static ZswapdSettings load(Path file) {
    String name = file.toString();
    if (!Files.exists(file)) {
      throw new SettingsException(name, name + ": no such file; cannot load zswapd settings");
    }
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new SettingsException(name, name + ": not a readable file; cannot load zswapd settings");
    }
    Config config;
    try {
      config = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      throw unreadable(name, e);
    }
    return fromConfig(config);
  }

  /** The configured limits of the overflow-store namespace with this name, if any. */
  public Optional<NamespaceSettings> namespace(String name) {
    return namespaces.stream().filter(n -> n.name().equals(name)).findFirst();
  }

  /** The export with this name, if configured. */
  public Optional<ExportSettings> export(String name) {
    return exports.stream().filter(e -> e.name().equals(name)).findFirst();
  }

  static Config reference() {
    return ConfigFactory.defaultReference(ZswapdSettings.class.getClassLoader());
  }

  static long physicalRamBytes() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getTotalMemorySize();
  }

  /** The file or classpath resource a typesafe error came from, when it says. */
  private static String documentOf(ConfigException e, String fallback) {
    ConfigOrigin origin = e.origin();
    if (origin == null) {
      return fallback;
    }
    if (origin.filename() != null) {
      return origin.filename();
    }
    return origin.resource() != null ? origin.resource() : fallback;
  }

  /** {@code document: line N: problem}, without typesafe's repetition of the origin. */
  private static SettingsException unreadable(String document, ConfigException e) {
    ConfigOrigin origin = e.origin();
    String problem = e.getMessage();
    if (origin != null && problem.startsWith(origin.description() + ": ")) {
      problem = problem.substring(origin.description().length() + 2);
    }
    String line = origin != null && origin.lineNumber() > 0 ? ": line " + origin.lineNumber() : "";
    return new SettingsException(document, document + line + ": " + problem.replace('\n', ' '), e);
  }
}
