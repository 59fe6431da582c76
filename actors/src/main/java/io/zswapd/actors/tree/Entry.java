package io.zswapd.actors.tree;

/**
 * A tree shard's entry for one page, packed in one {@code long} so a shard's 16,384 entries
 * are a single primitive array with nothing for the garbage collector to chase.
 *
 * <pre>
 *  63   61 60  59           47 46      40 39                              0
 *  +------+---+----------------+----------+--------------------------------+
 *  |state | R | stored length  | (unused) | handle (class 8 | slot 32)     |
 *  +------+---+----------------+----------+--------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>state: {@link #ABSENT}, {@link #SAME_FILLED} (the word lives in the entry: zero words
 *       need nothing more, others sit in the shard's lazily made word array), {@link #STORED}
 *       (a handle into a size class).</li>
 *   <li>R: referenced since the LRU hand last passed (second chance).</li>
 *   <li>stored length: compressed bytes, 4096 for a page kept raw (zram's huge page).</li>
 * </ul>
 * An entry with a store in flight keeps its old value here; the in-flight work lives in the
 * shard's pending table until the size class answers.
 */
final class Entry {
  static final int ABSENT = 0;
  static final int SAME_FILLED = 1;
  static final int STORED = 2;

  private static final int STATE_SHIFT = 61;
  private static final long REFERENCED = 1L << 60;
  private static final int LENGTH_SHIFT = 47;
  private static final long LENGTH_MASK = 0x1FFFL;
  private static final long HANDLE_MASK = (1L << 40) - 1;

  private Entry() {}

  static int state(long e) {
    return (int) (e >>> STATE_SHIFT);
  }

  static long sameFilled() {
    return (long) SAME_FILLED << STATE_SHIFT;
  }

  static long stored(long handle, int length) {
    return ((long) STORED << STATE_SHIFT) | ((long) length << LENGTH_SHIFT) | (handle & HANDLE_MASK);
  }

  static int length(long e) {
    return (int) ((e >>> LENGTH_SHIFT) & LENGTH_MASK);
  }

  static long handle(long e) {
    return e & HANDLE_MASK;
  }

  static boolean referenced(long e) {
    return (e & REFERENCED) != 0;
  }

  static long withReferenced(long e) {
    return e | REFERENCED;
  }

  static long withoutReferenced(long e) {
    return e & ~REFERENCED;
  }
}
