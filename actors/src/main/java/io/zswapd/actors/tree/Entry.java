package io.zswapd.actors.tree;

/**
 * A tree shard's entry for one page, packed in one {@code long} so a shard's 16,384 entries
 * are a single primitive array with nothing for the garbage collector to chase.
 *
 * <pre>
 *  63   61 60  59           47 46  44 43                                  0
 *  +------+---+----------------+------+------------------------------------+
 *  |state | R | stored length  |(free)| handle (class 12 | slot 32)        |
 *  +------+---+----------------+------+------------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>state: {@link #ABSENT}, {@link #SAME_FILLED} (the word lives in the entry: zero words
 *       need nothing more, others sit in the shard's lazily made word array), {@link #STORED}
 *       (a handle into a size class), {@link #WRITING_BACK} (still a handle, readable from
 *       memory, while its bytes are on their way to the backing file), {@link #WRITTEN_BACK}
 *       (the low 44 bits are the backing-file offset in 64-byte units: up to 1 PiB).</li>
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
  static final int WRITING_BACK = 3;
  static final int WRITTEN_BACK = 4;
  private static final int BACKING_UNIT_SHIFT = 6;

  private static final int STATE_SHIFT = 61;
  private static final long REFERENCED = 1L << 60;
  private static final int LENGTH_SHIFT = 47;
  private static final long LENGTH_MASK = 0x1FFFL;
  private static final long HANDLE_MASK = (1L << io.zswapd.actors.pool.Handle.BITS) - 1;

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

  /** The same handle and length, now being written back. The referenced bit is dropped. */
  static long writingBack(long stored) {
    return ((long) WRITING_BACK << STATE_SHIFT) | (stored & ((LENGTH_MASK << LENGTH_SHIFT) | HANDLE_MASK));
  }

  /** A page whose compressed bytes live at {@code offset} (a multiple of 64) of the backing file. */
  static long writtenBack(long offset, int length) {
    if ((offset & ((1 << BACKING_UNIT_SHIFT) - 1)) != 0 || (offset >>> BACKING_UNIT_SHIFT) > HANDLE_MASK) {
      throw new IllegalArgumentException("backing offset " + offset + " is not a multiple of 64 below 1 PiB");
    }
    return ((long) WRITTEN_BACK << STATE_SHIFT) | ((long) length << LENGTH_SHIFT) | (offset >>> BACKING_UNIT_SHIFT);
  }

  static long backingOffset(long e) {
    return (e & HANDLE_MASK) << BACKING_UNIT_SHIFT;
  }

  /** A page whose bytes sit in the pool (stored, or stored and being written back). */
  static boolean inPool(long e) {
    int s = state(e);
    return s == STORED || s == WRITING_BACK;
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
