package io.zswapd.actors.overflow;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The limits of one overflow-store namespace and what happens when a put would pass them.
 *
 * <pre>{@code
 * OverflowLimits.NONE
 *     .withMaxEntries(100_000)                 // keys held
 *     .withMaxBytes(256L << 20)                // compressed bytes held (what the values cost in the pool)
 *     .withWhenFull(OverflowLimits.WhenFull.EVICT_LRU)
 *     .withTimeToLive(Duration.ofMinutes(10))  // a value expires this long after its put
 * }</pre>
 *
 * <p>A namespace starts with the limits {@code zswapd.overflow.namespaces} gives it, else
 * {@link #NONE}. {@code maxBytes} counts the values' compressed bytes, as {@code compr_data_size} counts
 * pages: the memory a namespace costs, not the size of its values. A put that would pass a
 * limit is refused ({@link WhenFull#REFUSE}, the default; the error code is
 * {@code NAMESPACE_FULL} and the message names the limit) or makes room by evicting the least
 * recently used values ({@link WhenFull#EVICT_LRU}; a get or a put is a use). Values in the
 * middle of a put are never evicted. A value alone larger than {@code maxBytes} is refused
 * either way. Expired values are gone for every operation from their expiry on, and their memory
 * is freed within a second or two after it. Evictions and expiries are counted and can be
 * watched ({@code OverflowStore.evictions()}).
 */
public record OverflowLimits(OptionalLong maxEntries, OptionalLong maxBytes, WhenFull whenFull,
    Optional<Duration> timeToLive) {

  /** What a put that would pass a limit does. */
  public enum WhenFull {
    /** The put fails with {@code NAMESPACE_FULL}; the namespace keeps what it has. */
    REFUSE,
    /** The least recently used values are evicted until the new value fits. */
    EVICT_LRU
  }

  /** No limit but the pool's: nothing is evicted or expires. */
  public static final OverflowLimits NONE =
      new OverflowLimits(OptionalLong.empty(), OptionalLong.empty(), WhenFull.REFUSE, Optional.empty());

  public OverflowLimits {
    if (maxEntries.isPresent() && maxEntries.getAsLong() < 1) {
      throw new IllegalArgumentException("max-entries must be at least 1, got " + maxEntries.getAsLong());
    }
    if (maxBytes.isPresent() && maxBytes.getAsLong() < 1) {
      throw new IllegalArgumentException("max-bytes must be at least 1, got " + maxBytes.getAsLong());
    }
    if (whenFull == null) {
      throw new IllegalArgumentException("when-full must be REFUSE or EVICT_LRU, got null");
    }
    if (timeToLive.isPresent() && (timeToLive.get().isNegative() || timeToLive.get().isZero())) {
      throw new IllegalArgumentException("time-to-live must be positive, got " + timeToLive.get());
    }
  }

  /** The limits {@code zswapd.overflow.namespaces} gives a namespace. */
  public static OverflowLimits of(io.zswapd.config.NamespaceSettings n) {
    return new OverflowLimits(n.maxEntries(), n.maxBytes(), n.evictWhenFull() ? WhenFull.EVICT_LRU : WhenFull.REFUSE,
        n.timeToLive());
  }

  public OverflowLimits withMaxEntries(long entries) {
    return new OverflowLimits(OptionalLong.of(entries), maxBytes, whenFull, timeToLive);
  }

  public OverflowLimits withMaxBytes(long bytes) {
    return new OverflowLimits(maxEntries, OptionalLong.of(bytes), whenFull, timeToLive);
  }

  public OverflowLimits withWhenFull(WhenFull policy) {
    return new OverflowLimits(maxEntries, maxBytes, policy, timeToLive);
  }

  public OverflowLimits withTimeToLive(Duration ttl) {
    return new OverflowLimits(maxEntries, maxBytes, whenFull, Optional.of(ttl));
  }

  public OverflowLimits withoutTimeToLive() {
    return new OverflowLimits(maxEntries, maxBytes, whenFull, Optional.empty());
  }
}
