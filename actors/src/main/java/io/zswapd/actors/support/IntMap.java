package io.zswapd.actors.support;

/**
 * A map from {@code int} keys to objects, for one actor's hot path: open addressing with linear
 * probing in two parallel arrays, so a put or a remove allocates nothing (a
 * {@code HashMap<Integer, V>} boxes every key above 127 and allocates a node per entry).
 * Removal shifts the following entries back instead of leaving tombstones, so a map that has
 * many entries put and removed (a tree shard's pending pages: one per store in flight) never
 * slows down. It grows at half full and shrinks back to {@link #MIN_CAPACITY} slots when it
 * empties after a peak of more than half of {@link #SHRINK_ABOVE} entries, so a burst does not keep
 * its memory.
 *
 * <p>Not thread-safe: it belongs to the one actor that uses it. Keys may be any {@code int};
 * values must not be null.
 */
public final class IntMap<V> {
  static final int MIN_CAPACITY = 16;
  /** An emptied map larger than this goes back to {@link #MIN_CAPACITY} slots. */
  static final int SHRINK_ABOVE = 64;

  private int[] keys;
  private Object[] values;
  private int size;

  public IntMap() {
    allocate(MIN_CAPACITY);
  }

  public int size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  /** The value for {@code key}, or null. */
  @SuppressWarnings("unchecked")
  public V get(int key) {
    if (size == 0) {
      return null;
    }
    int mask = keys.length - 1;
    for (int i = slot(key, mask); ; i = (i + 1) & mask) {
      Object v = values[i];
      if (v == null) {
        return null;
      }
      if (keys[i] == key) {
        return (V) v;
      }
    }
  }

  public boolean containsKey(int key) {
    return get(key) != null;
  }

  /** Maps {@code key} to {@code value} (not null); the value it replaced, or null. */
  @SuppressWarnings("unchecked")
  public V put(int key, V value) {
    if (value == null) {
      throw new IllegalArgumentException("IntMap holds no null values (key " + key + ")");
    }
    if (2 * (size + 1) > keys.length) {
      rehash(keys.length * 2);
    }
    int mask = keys.length - 1;
    for (int i = slot(key, mask); ; i = (i + 1) & mask) {
      Object v = values[i];
      if (v == null) {
        keys[i] = key;
        values[i] = value;
        size++;
        return null;
      }
      if (keys[i] == key) {
        values[i] = value;
        return (V) v;
      }
    }
  }

  /** Removes {@code key}; the value it had, or null. */
  @SuppressWarnings("unchecked")
  public V remove(int key) {
    if (size == 0) {
      return null;
    }
    int mask = keys.length - 1;
    int i = slot(key, mask);
    while (true) {
      Object v = values[i];
      if (v == null) {
        return null;
      }
      if (keys[i] == key) {
        size--;
        closeGap(i, mask);
        if (size == 0 && keys.length > SHRINK_ABOVE) {
          allocate(MIN_CAPACITY);
        }
        return (V) v;
      }
      i = (i + 1) & mask;
    }
  }

  /** Backward-shift deletion: moves later entries of the probe run into the gap at {@code gap}. */
  private void closeGap(int gap, int mask) {
    int i = gap;
    while (true) {
      i = (i + 1) & mask;
      Object v = values[i];
      if (v == null) {
        break;
      }
      int home = slot(keys[i], mask);
      // the entry at i may move to the gap if its home is not in (gap, i] (cyclically)
      boolean homeBetween = gap <= i ? gap < home && home <= i : gap < home || home <= i;
      if (!homeBetween) {
        keys[gap] = keys[i];
        values[gap] = v;
        gap = i;
      }
    }
    values[gap] = null;
  }

  private static int slot(int key, int mask) {
    int h = key * 0x9E3779B9; // Fibonacci hashing: consecutive slots spread over the table
    return (h ^ (h >>> 16)) & mask;
  }

  private void rehash(int capacity) {
    int[] oldKeys = keys;
    Object[] oldValues = values;
    allocate(capacity);
    int mask = capacity - 1;
    for (int j = 0; j < oldKeys.length; j++) {
      if (oldValues[j] != null) {
        int i = slot(oldKeys[j], mask);
        while (values[i] != null) {
          i = (i + 1) & mask;
        }
        keys[i] = oldKeys[j];
        values[i] = oldValues[j];
      }
    }
  }

  private void allocate(int capacity) {
    keys = new int[capacity];
    values = new Object[capacity];
  }

  /** Slots allocated: for tests of the shrinking. */
  int capacity() {
    return keys.length;
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("{");
    for (int i = 0; i < keys.length; i++) {
      if (values[i] != null) {
        b.append(b.length() > 1 ? ", " : "").append(keys[i]).append('=').append(values[i]);
      }
    }
    return b.append('}').toString();
  }
}
