/*
 * zram's same_filled detection: a page that is one 8-byte word repeated (most often all zeros:
 * freshly allocated or freed-and-cleared memory) is stored as just that word, with no compression
 * and no arena space, and is rebuilt by filling. Checking costs one pass of 8-byte compares that
 * stops at the first difference, so a normal page is rejected after a word or two and the check is
 * worth running before every compression.
 *
 * Words are read little-endian for arrays. Equality does not depend on byte order, so a ByteBuffer
 * is compared in whatever order it is set to (changing it would mutate the caller's buffer and a
 * duplicate would allocate); only word() converts to little-endian. fill(word(p)) therefore
 * reproduces p byte for byte whatever the buffer's order.
 */
package io.zswapd.actors.codec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Detects and rebuilds pages made of one repeated 8-byte word.
 *
 * <pre>{@code
 * if (SameFilledPage.isSameFilled(page)) { long w = SameFilledPage.word(page); ... }
 * SameFilledPage.fill(w, out, 0, 4096);
 * }</pre>
 */
public final class SameFilledPage {

  private static final VarHandle LONGS_LE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private SameFilledPage() {}

  /**
   * True when every 8-byte word of {@code page[position .. limit)} (heap or direct; position not
   * changed) equals the first. The length must be a positive multiple of 8 (a page is 4096).
   */
  public static boolean isSameFilled(ByteBuffer page) {
    int start = page.position();
    int end = page.limit();
    checkLength(end - start);
    long first = page.getLong(start);
    for (int i = start + Long.BYTES; i < end; i += Long.BYTES) {
      if (page.getLong(i) != first) {
        return false;
      }
    }
    return true;
  }

  /** As {@link #isSameFilled(ByteBuffer)} for {@code page[off .. off+len)}. */
  public static boolean isSameFilled(byte[] page, int off, int len) {
    Objects.checkFromIndexSize(off, len, page.length);
    checkLength(len);
    long first = (long) LONGS_LE.get(page, off);
    int end = off + len;
    for (int i = off + Long.BYTES; i < end; i += Long.BYTES) {
      if ((long) LONGS_LE.get(page, i) != first) {
        return false;
      }
    }
    return true;
  }

  /** The first word of the page, little-endian, whatever the buffer's byte order. */
  public static long word(ByteBuffer page) {
    long w = page.getLong(page.position());
    return page.order() == ByteOrder.LITTLE_ENDIAN ? w : Long.reverseBytes(w);
  }

  /** The little-endian word at {@code page[off .. off+8)}. */
  public static long word(byte[] page, int off) {
    return (long) LONGS_LE.get(page, off);
  }

  /** Writes {@code word} little-endian into every 8-byte slot of {@code dst[off .. off+len)}. */
  public static void fill(long word, byte[] dst, int off, int len) {
    Objects.checkFromIndexSize(off, len, dst.length);
    if ((len & (Long.BYTES - 1)) != 0) {
      throw new IllegalArgumentException("fill length " + len + " is not a multiple of 8");
    }
    int end = off + len;
    for (int i = off; i < end; i += Long.BYTES) {
      LONGS_LE.set(dst, i, word);
    }
  }

  private static void checkLength(int len) {
    if (len <= 0 || (len & (Long.BYTES - 1)) != 0) {
      throw new IllegalArgumentException(
          "page length " + len + " is not a positive multiple of 8");
    }
  }
}
