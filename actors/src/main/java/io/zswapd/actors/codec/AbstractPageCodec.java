/*
 * What every PageCodec does the same way, whatever the library: argument checks, the closed
 * state, routing a ByteBuffer source to the library's array or direct-memory entry point, and the
 * "does it fit in maxLen" rule.
 *
 * Why compress into scratch: both lz4-java and zstd-jni report "output too small" by throwing, and
 * an exception with a stack trace costs about as much as compressing the page again (measured
 * ~0.4 us on a shallow stack for lz4 on a random page, more from deep inside an actor). Pages that
 * do not compress are common in swap (already-compressed or encrypted data), so when maxLen is
 * below the worst-case bound the codec compresses into its own scratch sized for that bound, which
 * cannot fail, and copies the result out only if it fits. The copy of at most maxLen bytes is ~2%
 * of an LZ4 compression. When maxLen already covers the bound we write straight into dst.
 *
 * Read-only heap ByteBuffers expose neither an array nor an address, so their bytes are copied
 * into a scratch array first; the engine does not hand those in on the hot path.
 */
package io.zswapd.actors.codec;

import java.nio.ByteBuffer;
import java.util.Objects;

abstract class AbstractPageCodec implements PageCodec {

  /** Initial scratch size; buffers grow only if a caller compresses something larger than a page. */
  static final int PAGE_SIZE = 4096;

  private final CodecKind kind;
  private final int level;
  private boolean closed;
  private byte[] compressedScratch = new byte[0];
  private byte[] readOnlyCopy = new byte[0];

  AbstractPageCodec(CodecKind kind, int level) {
    this.kind = kind;
    this.level = level;
  }

  /** Compresses into dst, which has room for {@code maxCompressedLength(srcLen)} bytes. */
  abstract int compressArray(byte[] src, int srcOff, int srcLen, byte[] dst);

  /** As {@link #compressArray} from direct memory; returns -1 if the result exceeds maxLen. */
  abstract int compressDirect(ByteBuffer src, int srcOff, int srcLen, byte[] dst, int maxLen);

  /** Returns the number of bytes produced (at most dstLen); throws CorruptPageException. */
  abstract int decompressArray(byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen);

  abstract int decompressDirect(
      ByteBuffer src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen);

  abstract void freeNative();

  @Override
  public final CodecKind kind() {
    return kind;
  }

  @Override
  public final int level() {
    return level;
  }

  @Override
  public final int compress(ByteBuffer src, byte[] dst, int maxLen) {
    ensureOpen();
    checkOutput(dst, maxLen);
    int off = src.position();
    int len = src.remaining();
    if (src.hasArray()) {
      return compressFitting(src.array(), src.arrayOffset() + off, len, dst, maxLen);
    }
    if (src.isDirect()) {
      return compressDirect(src, off, len, dst, maxLen);
    }
    return compressFitting(copyReadOnly(src, off, len), 0, len, dst, maxLen);
  }

  @Override
  public final int compress(byte[] src, int srcOff, int srcLen, byte[] dst, int maxLen) {
    ensureOpen();
    Objects.checkFromIndexSize(srcOff, srcLen, src.length);
    checkOutput(dst, maxLen);
    return compressFitting(src, srcOff, srcLen, dst, maxLen);
  }

  @Override
  public final void decompress(
      ByteBuffer src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen) {
    ensureOpen();
    Objects.checkFromIndexSize(srcOff, srcLen, src.limit());
    Objects.checkFromIndexSize(dstOff, dstLen, dst.length);
    int produced;
    if (src.hasArray()) {
      produced = decompressArray(src.array(), src.arrayOffset() + srcOff, srcLen, dst, dstOff, dstLen);
    } else if (src.isDirect()) {
      produced = decompressDirect(src, srcOff, srcLen, dst, dstOff, dstLen);
    } else {
      produced = decompressArray(copyReadOnly(src, srcOff, srcLen), 0, srcLen, dst, dstOff, dstLen);
    }
    checkProduced(produced, srcLen, dstLen);
  }

  @Override
  public final void decompress(byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen) {
    ensureOpen();
    Objects.checkFromIndexSize(srcOff, srcLen, src.length);
    Objects.checkFromIndexSize(dstOff, dstLen, dst.length);
    checkProduced(decompressArray(src, srcOff, srcLen, dst, dstOff, dstLen), srcLen, dstLen);
  }

  @Override
  public final void close() {
    if (!closed) {
      closed = true;
      freeNative();
    }
  }

  final boolean isClosed() {
    return closed;
  }

  final CorruptPageException corrupt(int srcLen, int dstLen, String reason, Throwable cause) {
    return new CorruptPageException(kind, level, srcLen, dstLen, reason, cause);
  }

  /** Codec-owned array of at least {@code size} bytes; contents are garbage. */
  final byte[] compressedScratch(int size) {
    if (compressedScratch.length < size) {
      compressedScratch = new byte[Math.max(size, maxCompressedLength(PAGE_SIZE))];
    }
    return compressedScratch;
  }

  private int compressFitting(byte[] src, int srcOff, int srcLen, byte[] dst, int maxLen) {
    int bound = maxCompressedLength(srcLen);
    if (maxLen >= bound) {
      return compressArray(src, srcOff, srcLen, dst);
    }
    byte[] scratch = compressedScratch(bound);
    int n = compressArray(src, srcOff, srcLen, scratch);
    if (n > maxLen) {
      return -1;
    }
    System.arraycopy(scratch, 0, dst, 0, n);
    return n;
  }

  private byte[] copyReadOnly(ByteBuffer src, int off, int len) {
    if (readOnlyCopy.length < len) {
      readOnlyCopy = new byte[Math.max(len, PAGE_SIZE)];
    }
    src.get(off, readOnlyCopy, 0, len);
    return readOnlyCopy;
  }

  private void checkProduced(int produced, int srcLen, int dstLen) {
    if (produced != dstLen) {
      throw corrupt(srcLen, dstLen, "decoded to " + produced + " bytes", null);
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException(kind + " codec (level " + level + ") is closed");
    }
  }

  private static void checkOutput(byte[] dst, int maxLen) {
    if (maxLen < 0 || maxLen > dst.length) {
      throw new IndexOutOfBoundsException(
          "maxLen " + maxLen + " outside destination of " + dst.length + " bytes");
    }
  }
}
