package io.zswapd.actors.overflow;

import java.util.Objects;

/**
 * A key of the overflow store: a {@code long} or a {@code String}. Keys are ordered, longs
 * first (by value), then strings (by {@link String#compareTo}); a namespace lists its keys in
 * that order. {@code OverflowKey.of(7)} and {@code OverflowKey.of("7")} are different keys.
 */
public final class OverflowKey implements Comparable<OverflowKey> {
  /** The longest string key, in characters (a key lives on the heap, in the namespace's directory). */
  public static final int MAX_STRING_LENGTH = 1024;

  private final long number;
  /** Null for a long key. */
  private final String text;

  private OverflowKey(long number, String text) {
    this.number = number;
    this.text = text;
  }

  public static OverflowKey of(long key) {
    return new OverflowKey(key, null);
  }

  /** @throws IllegalArgumentException for null or a string over {@link #MAX_STRING_LENGTH} characters */
  public static OverflowKey of(String key) {
    if (key == null) {
      throw new IllegalArgumentException("an overflow-store key cannot be null");
    }
    if (key.length() > MAX_STRING_LENGTH) {
      throw new IllegalArgumentException("string key of " + key.length() + " characters exceeds the limit of "
          + MAX_STRING_LENGTH);
    }
    return new OverflowKey(0, key);
  }

  public boolean isLong() {
    return text == null;
  }

  /** @throws IllegalStateException for a string key */
  public long longValue() {
    if (text != null) {
      throw new IllegalStateException("\"" + text + "\" is a string key");
    }
    return number;
  }

  /** @throws IllegalStateException for a long key */
  public String stringValue() {
    if (text == null) {
      throw new IllegalStateException(number + " is a long key");
    }
    return text;
  }

  @Override
  public int compareTo(OverflowKey o) {
    if (text == null) {
      return o.text == null ? Long.compare(number, o.number) : -1;
    }
    return o.text == null ? 1 : text.compareTo(o.text);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof OverflowKey k && number == k.number && Objects.equals(text, k.text);
  }

  @Override
  public int hashCode() {
    return text == null ? Long.hashCode(number) : text.hashCode() * 31 + 1;
  }

  /** {@code 42} for a long key, {@code "session-7"} (quoted) for a string key. */
  @Override
  public String toString() {
    return text == null ? Long.toString(number) : '"' + text + '"';
  }
}
