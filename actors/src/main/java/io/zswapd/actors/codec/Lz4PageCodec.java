/*
 * LZ4 and LZ4HC through lz4-java (the maintained at.yawk.lz4 fork). Both write the same LZ4 block
 * format and share the safe decompressor, which validates every offset and length against the
 * input and output bounds, so a damaged object yields an error instead of reading or writing
 * outside its buffers (the "fast" decompressor trusts the input and is not used).
 *
 * The JNI compressors keep no state between calls, so the per-thread part here is the scratch
 * array and the ByteBuffer views: lz4-java's direct-memory entry point wants a ByteBuffer on both
 * sides, and wrapping the caller's byte[] on every call would allocate. The engine reuses one
 * destination array per thread, so a one-entry cache of "last array wrapped" hits every time.
 */
package io.zswapd.actors.codec;

import java.nio.ByteBuffer;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

final class Lz4PageCodec extends AbstractPageCodec {

  /** JNI when the native library loads for this platform, otherwise lz4-java's pure-Java port. */
  private static final LZ4Factory FACTORY = LZ4Factory.fastestInstance();

  private final LZ4Compressor compressor;
  private final LZ4SafeDecompressor decompressor = FACTORY.safeDecompressor();
  private final ArrayView callerArray = new ArrayView();
  private final ArrayView scratchArray = new ArrayView();

  private Lz4PageCodec(CodecKind kind, int level, LZ4Compressor compressor) {
    super(kind, level);
    this.compressor = compressor;
  }

  static Lz4PageCodec fast() {
    return new Lz4PageCodec(CodecKind.LZ4, 0, FACTORY.fastCompressor());
  }

  static Lz4PageCodec high(int level) {
    return new Lz4PageCodec(CodecKind.LZ4HC, level, FACTORY.highCompressor(level));
  }

  @Override
  public int maxCompressedLength(int srcLen) {
    return compressor.maxCompressedLength(srcLen);
  }

  @Override
  int compressArray(byte[] src, int srcOff, int srcLen, byte[] dst) {
    return compressor.compress(src, srcOff, srcLen, dst, 0, maxCompressedLength(srcLen));
  }

  @Override
  int compressDirect(ByteBuffer src, int srcOff, int srcLen, byte[] dst, int maxLen) {
    int bound = maxCompressedLength(srcLen);
    if (maxLen >= bound) {
      return compressor.compress(src, srcOff, srcLen, callerArray.of(dst), 0, bound);
    }
    byte[] scratch = compressedScratch(bound);
    int n = compressor.compress(src, srcOff, srcLen, scratchArray.of(scratch), 0, bound);
    if (n > maxLen) {
      return -1;
    }
    System.arraycopy(scratch, 0, dst, 0, n);
    return n;
  }

  @Override
  int decompressArray(byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen) {
    try {
      return decompressor.decompress(src, srcOff, srcLen, dst, dstOff, dstLen);
    } catch (LZ4Exception e) {
      throw corrupt(srcLen, dstLen, e.getMessage(), e);
    }
  }

  @Override
  int decompressDirect(ByteBuffer src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen) {
    try {
      return decompressor.decompress(src, srcOff, srcLen, callerArray.of(dst), dstOff, dstLen);
    } catch (LZ4Exception e) {
      throw corrupt(srcLen, dstLen, e.getMessage(), e);
    }
  }

  @Override
  void freeNative() {
    // lz4-java's JNI compressors hold no native state; drop the cached views so the caller's
    // last destination array is not kept reachable by a closed codec.
    callerArray.clear();
    scratchArray.clear();
  }

  /** A heap ByteBuffer over the most recently seen array, re-wrapped only when the array changes. */
  private static final class ArrayView {
    private byte[] array;
    private ByteBuffer view;

    ByteBuffer of(byte[] a) {
      if (a != array) {
        array = a;
        view = ByteBuffer.wrap(a);
      }
      return view;
    }

    void clear() {
      array = null;
      view = null;
    }
  }
}
