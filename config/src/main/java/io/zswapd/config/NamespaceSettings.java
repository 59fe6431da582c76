package io.zswapd.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One entry of {@code zswapd.overflow.namespaces}: the limits an overflow-store namespace of the
 * embedded API ({@code Zswapd.overflowStore}) starts with when it is first opened. The
 * application may change them later in code ({@code OverflowStore.setLimits}).
 *
 * <pre>
 * zswapd.overflow.namespaces = [
 *   { name = "sessions", max-entries = 100000, max-bytes = 256 MiB, when-full = evict-lru, time-to-live = 10m }
 * ]
 * </pre>
 *
 * @param name          1..64 characters of {@code [A-Za-z0-9._-]}, unique among the entries
 * @param maxEntries    most values held, at least 1; empty for no limit ({@code off})
 * @param maxBytes      most compressed bytes held, at least 1; empty for no limit ({@code off})
 * @param evictWhenFull {@code when-full = evict-lru}: a put past a limit evicts the least recently
 *                      used values; {@code refuse} (the default): the put fails
 * @param timeToLive    how long after its put a value expires, at least 1 ms; empty for never
 */
public record NamespaceSettings(String name, OptionalLong maxEntries, OptionalLong maxBytes, boolean evictWhenFull,
    Optional<Duration> timeToLive) {

  private static final List<String> FIELDS = List.of("name", "max-entries", "max-bytes", "when-full", "time-to-live");
  private static final String ENTRY =
      "{ name = \"sessions\", max-entries = off, max-bytes = off, when-full = refuse, time-to-live = off }";

  public NamespaceSettings {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(maxEntries, "maxEntries");
    Objects.requireNonNull(maxBytes, "maxBytes");
    Objects.requireNonNull(timeToLive, "timeToLive");
  }

  static List<NamespaceSettings> readAll(Section overflow) {
    String listRule = "must be a list of namespaces " + ENTRY;
    List<Section> entries = overflow.objects("namespaces", listRule, "namespace", ENTRY);
    List<NamespaceSettings> namespaces = new ArrayList<>(entries.size());
    Map<String, Integer> firstUse = new HashMap<>();
    for (int i = 0; i < entries.size(); i++) {
      Section entry = entries.get(i);
      NamespaceSettings namespace = read(entry);
      Integer first = firstUse.putIfAbsent(namespace.name(), i);
      if (first != null) {
        throw entry.invalid("name", "duplicate namespace name, also used by " + overflow.key("namespaces") + "["
            + first + "]; names must be unique");
      }
      namespaces.add(namespace);
    }
    return namespaces;
  }

  private static NamespaceSettings read(Section entry) {
    entry.onlyFields("namespace", FIELDS);
    String name = entry.entryName();
    OptionalLong maxEntries = OptionalLong.empty();
    if (entry.has("max-entries") && !entry.isOff("max-entries")) {
      String rule = "must be a whole number from 1 to 2^40, or off";
      long n;
      try {
        n = entry.object().toConfig().getLong("max-entries");
      } catch (RuntimeException e) {
        throw entry.invalid("max-entries", rule, e);
      }
      if (n < 1 || n > 1L << 40) {
        throw entry.invalid("max-entries", rule);
      }
      maxEntries = OptionalLong.of(n);
    }
    OptionalLong maxBytes = OptionalLong.empty();
    if (entry.has("max-bytes") && !entry.isOff("max-bytes")) {
      String rule = "must be a byte size from 1 byte to 2^50 bytes (1 PiB), or off";
      long n = entry.bytes("max-bytes", rule);
      if (n < 1 || n > 1L << 50) {
        throw entry.invalid("max-bytes", rule);
      }
      maxBytes = OptionalLong.of(n);
    }
    boolean evict = false;
    if (entry.has("when-full")) {
      String rule = "must be refuse or evict-lru";
      String policy = entry.string("when-full", rule);
      if (policy.equals("evict-lru")) {
        evict = true;
      } else if (!policy.equals("refuse")) {
        throw entry.invalid("when-full", rule);
      }
    }
    Optional<Duration> ttl = Optional.empty();
    if (entry.has("time-to-live") && !entry.isOff("time-to-live")) {
      String rule = "must be a duration of at least 1ms, or off";
      Duration d = entry.duration("time-to-live", rule);
      if (d.toMillis() < 1) {
        throw entry.invalid("time-to-live", rule);
      }
      ttl = Optional.of(d);
    }
    return new NamespaceSettings(name, maxEntries, maxBytes, evict, ttl);
  }
}
