package io.zswapd.testkit.nbd;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * What a region of an export must hold: a byte array the test updates whenever the server
 * acknowledges a write, trim-to-zero or write-zeroes, and compares reads against.
 *
 * <p>Offsets are absolute export offsets; the region is {@code [base, base + size)}. Unwritten
 * bytes are zero, as the server reads never-written pages.
 */
final class ExportModel {
  private final long base;
  private final byte[] bytes;

  ExportModel(long base, int size) {
    this.base = base;
    this.bytes = new byte[size];
  }

  long base() {
    return base;
  }

  int size() {
    return bytes.length;
  }

  void write(long offset, byte[] data) {
    System.arraycopy(data, 0, bytes, index(offset, data.length), data.length);
  }

  void zero(long offset, int length) {
    int from = index(offset, length);
    Arrays.fill(bytes, from, from + length, (byte) 0);
  }

  byte[] bytes(long offset, int length) {
    int from = index(offset, length);
    return Arrays.copyOfRange(bytes, from, from + length);
  }

  /** The whole region. */
  byte[] bytes() {
    return bytes.clone();
  }

  private int index(long offset, int length) {
    if (offset < base || offset + length > base + bytes.length) {
      throw new IllegalArgumentException("[" + offset + ", " + (offset + length) + ") is outside the model ["
          + base + ", " + (base + bytes.length) + ")");
    }
    return (int) (offset - base);
  }

  /** {@code n} seeded random bytes (incompressible, so every page is distinct and huge). */
  static byte[] random(SplittableRandom rnd, int n) {
    byte[] b = new byte[n];
    rnd.nextBytes(b);
    return b;
  }

  /** {@code n} copies of {@code value}. */
  static byte[] filled(int n, int value) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) value);
    return b;
  }
}
