package io.zswapd.config;

import java.util.Locale;
import java.util.Optional;

/**
 * {@code zswapd.pool.off-heap}: where the page arena takes its chunks from.
 *
 * <ul>
 *   <li>{@link #MMAP}: anonymous mappings made by zswapd itself (JDK 22+, Linux): limited only
 *       by {@code pool.max-size}, free pages inside a chunk go back to the OS;
 *   <li>{@link #DIRECT}: direct buffers (any JDK), limited by {@code -XX:MaxDirectMemorySize};
 *   <li>{@link #AUTO}: mmap where the JVM can, else direct.
 * </ul>
 */
public enum OffHeapKind {
  AUTO, MMAP, DIRECT;

  /** The name in configuration files. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  static Optional<OffHeapKind> byName(String name) {
    for (OffHeapKind k : values()) {
      if (k.configName().equals(name)) {
        return Optional.of(k);
      }
    }
    return Optional.empty();
  }
}
