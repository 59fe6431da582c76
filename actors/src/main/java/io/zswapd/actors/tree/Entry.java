package io.zswapd.actors.tree;

import io.zswapd.actors.codec.CodecKind;

/**
 * A tree shard's entry for one page, packed in one {@code long} so a shard's 16,384 entries
 * are a single primitive array with nothing for the garbage collector to chase.
 *
 * <pre>
 *  63   61 60  59           47 46  45 44 43                                  0
 *  +------+---+----------------+---+-----+------------------------------------+
 *  |state | R | stored length  | K |codec| handle (class 12 | slot 32)        |
 *  +------+---+----------------+---+-----+------------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>state: {@link #ABSENT}, {@link #SAME_FILLED} (the word lives in the entry: zero words
 *       need nothing more, others sit in the shard's lazily made word array), {@link #STORED}
 *       (a handle into a size class), {@link #WRITING_BACK} (still a handle, readable from
 *       memory, while its bytes are on their way to the backing file), {@link #WRITTEN_BACK}
 *       (the low 44 bits are the backing-file offset in 64-byte units: up to 1 PiB),
 *       {@link #RECOMPRESSING} (still a handle, readable from memory, while a copy of its bytes
 *       is being recompressed with the export's second codec).</li>
 *   <li>R: referenced since the LRU hand last passed (second chance), or since the last idle
 *       mark: a page without it is idle.</li>
 *   <li>stored length: compressed bytes, 4096 for a page kept raw (zram's huge page).</li>
 *   <li>K: kept: recompressing this page did not pay (zram's {@code ZRAM_INCOMPRESSIBLE}), so
 *       no pass tries it again; a new store of the page clears it with the rest of the entry.</li>
 *   <li>codec: which codec wrote the stored bytes, the {@link CodecKind} ordinal: the pool's
 *       compressor, or the export's recompressor after a recompression. Loads decompress with
 *       it; any level of a codec decodes with that codec. Meaningless for a raw page.</li>
 * </ul>
 * An entry with a store in flight keeps its old value here; the in-flight work lives in the
 * shard's pending table until the size class answers.
 */
final class Entry {
  private static final CodecKind[] CODECS = CodecKind.values();
  static final int ABSENT = 0;
  static final int SAME_FILLED = 1;
  static final int STORED = 2;
  static final int WRITING_BACK = 3;
  static final int WRITTEN_BACK = 4;
  static final int RECOMPRESSING = 5;
  private static final int BACKING_UNIT_SHIFT = 6;

  private static final int STATE_SHIFT = 61;
  private static final long REFERENCED = 1L << 60;
  private static final int LENGTH_SHIFT = 47;
  private static final long LENGTH_MASK = 0x1FFFL;
  private static final long HANDLE_MASK = (1L << io.zswapd.actors.pool.Handle.BITS) - 1;
  private static final long KEPT = 1L << 46;
  private static final int CODEC_SHIFT = 44;
  private static final long CODEC_MASK = 0x3L;
  /** What writeback and recompression carry over from an entry: length, kept, codec, handle. */
  private static final long BODY = (LENGTH_MASK << LENGTH_SHIFT) | KEPT | (CODEC_MASK << CODEC_SHIFT) | HANDLE_MASK;

  private Entry() {}

  static int state(long e) {
    return (int) (e >>> STATE_SHIFT);
  }

  static long sameFilled() {
    return (long) SAME_FILLED << STATE_SHIFT;
  }

  /** A page in the pool: {@code length} bytes written by {@code codec} in object {@code handle}. */
  static long stored(long handle, int length, CodecKind codec) {
    return ((long) STORED << STATE_SHIFT) | ((long) length << LENGTH_SHIFT)
        | ((long) codec.ordinal() << CODEC_SHIFT) | (handle & HANDLE_MASK);
  }

  /** The same page, now being written back. The referenced bit is dropped. */
  static long writingBack(long stored) {
    return ((long) WRITING_BACK << STATE_SHIFT) | (stored & BODY);
  }

  /** The same page, now being recompressed; the referenced bit is kept (a load sets it meanwhile). */
  static long recompressing(long stored) {
    return ((long) RECOMPRESSING << STATE_SHIFT) | (stored & (BODY | REFERENCED));
  }

  /** The same page at rest in the pool again (a writeback failed, a recompression was undone). */
  static long storedAgain(long e) {
    return ((long) STORED << STATE_SHIFT) | (e & (BODY | REFERENCED));
  }

  /**
   * A page whose compressed bytes ({@code length} of them, written by {@code codec}) live at
   * {@code offset} (a multiple of 64) of the backing file.
   */
  static long writtenBack(long offset, int length, CodecKind codec) {
    if ((offset & ((1 << BACKING_UNIT_SHIFT) - 1)) != 0 || (offset >>> BACKING_UNIT_SHIFT) > HANDLE_MASK) {
      throw new IllegalArgumentException("backing offset " + offset + " is not a multiple of 64 below 1 PiB");
    }
    return ((long) WRITTEN_BACK << STATE_SHIFT) | ((long) length << LENGTH_SHIFT)
        | ((long) codec.ordinal() << CODEC_SHIFT) | (offset >>> BACKING_UNIT_SHIFT);
  }

  /** The codec that wrote the page's stored bytes. */
  static CodecKind codec(long e) {
    return CODECS[(int) ((e >>> CODEC_SHIFT) & CODEC_MASK)];
  }

  /** True when a recompression of this page was tried and did not pay. */
  static boolean kept(long e) {
    return (e & KEPT) != 0;
  }

  static long withKept(long e) {
    return e | KEPT;
  }

  static long backingOffset(long e) {
    return (e & HANDLE_MASK) << BACKING_UNIT_SHIFT;
  }

  /** A page whose bytes sit in the pool (stored, or stored and being written back or recompressed). */
  static boolean inPool(long e) {
    int s = state(e);
    return s == STORED || s == WRITING_BACK || s == RECOMPRESSING;
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
