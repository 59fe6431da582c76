package io.zswapd.testkit.nbd;

import java.util.Arrays;
import java.util.BitSet;
import java.util.SplittableRandom;

/**
 * What a region of an export must hold: a byte array the test updates whenever the server
 * acknowledges a write, trim-to-zero or write-zeroes, and compares reads against.
 *
 * <p>Offsets are absolute export offsets; the region is {@code [base, base + size)}. Unwritten
 * bytes are zero, as the server reads never-written pages.
 *
 * <p>A byte can also be <em>unknown</em>: a write that failed (ENOSPC part-way through a
 * multi-page request leaves some pages old and some new) or whose answer never came (the
 * connection was dropped) may or may not have landed. {@link #forget} marks such bytes;
 * {@link #mismatch} skips them until an acknowledged write or zeroing makes them known again.
 *
 * <p>Not thread-safe: one test thread owns a model (or guards it).
 */
public final class ExportModel {
  private final long base;
  private final byte[] bytes;
  private final BitSet unknown = new BitSet();

  public ExportModel(long base, int size) {
    this.base = base;
    this.bytes = new byte[size];
  }

  public long base() {
    return base;
  }

  public int size() {
    return bytes.length;
  }

  /** One past the last offset of the region. */
  public long end() {
    return base + bytes.length;
  }

  /** An acknowledged write of {@code data} at {@code offset}. */
  public void write(long offset, byte[] data) {
    int from = index(offset, data.length);
    System.arraycopy(data, 0, bytes, from, data.length);
    unknown.clear(from, from + data.length);
  }

  /** An acknowledged write-zeroes (or trim) of {@code [offset, offset + length)}. */
  public void zero(long offset, int length) {
    int from = index(offset, length);
    Arrays.fill(bytes, from, from + length, (byte) 0);
    unknown.clear(from, from + length);
  }

  /** A write over {@code [offset, offset + length)} that may or may not have landed. */
  public void forget(long offset, int length) {
    int from = index(offset, length);
    unknown.set(from, from + length);
  }

  /** Bytes whose content is not known (see {@link #forget}). */
  public int unknownBytes() {
    return unknown.cardinality();
  }

  byte[] bytes(long offset, int length) {
    int from = index(offset, length);
    return Arrays.copyOfRange(bytes, from, from + length);
  }

  /** The whole region. */
  byte[] bytes() {
    return bytes.clone();
  }

  /**
   * Null when {@code data}, read at {@code offset}, matches every known byte of the model; else
   * a description of the first byte that differs and how many do.
   */
  public String mismatch(long offset, byte[] data) {
    int from = index(offset, data.length);
    int first = -1;
    int count = 0;
    for (int i = 0; i < data.length; i++) {
      if (data[i] != bytes[from + i] && !unknown.get(from + i)) {
        if (first < 0) {
          first = i;
        }
        count++;
      }
    }
    if (first < 0) {
      return null;
    }
    return String.format("%d of %d bytes differ; first at offset %d (read [%d, %d)): expected 0x%02x, read 0x%02x",
        count, data.length, offset + first, offset, offset + data.length, bytes[from + first] & 0xff,
        data[first] & 0xff);
  }

  private int index(long offset, int length) {
    if (offset < base || offset + length > base + bytes.length) {
      throw new IllegalArgumentException("[" + offset + ", " + (offset + length) + ") is outside the model ["
          + base + ", " + (base + bytes.length) + ")");
    }
    return (int) (offset - base);
  }

  /** {@code n} seeded random bytes (incompressible, so every page is distinct and huge). */
  public static byte[] random(SplittableRandom rnd, int n) {
    byte[] b = new byte[n];
    rnd.nextBytes(b);
    return b;
  }

  /** {@code n} copies of {@code value}. */
  public static byte[] filled(int n, int value) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) value);
    return b;
  }
}
