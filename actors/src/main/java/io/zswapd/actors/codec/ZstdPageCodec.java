/*
 * Zstandard through zstd-jni, with one compression and one decompression context reused for
 * every page: creating a zstd context allocates and initialises several hundred KiB of tables,
 * far more than compressing a 4 KiB page costs. That reuse is what makes this the engine's
 * per-CPU context, as the kernel keeps one acomp_ctx per CPU.
 *
 * Frames carry the content size (one byte more than without, and the decoder then rejects a frame
 * whose size disagrees with the page) and no checksum: integrity of stored objects is the arena's
 * concern, and a checksum would cost 4 bytes and a hash per page.
 *
 * zstd-jni's direct-memory compression needs direct buffers on both sides, so a direct source is
 * compressed into a codec-owned direct scratch and the fitting result copied out. Decompression
 * from direct memory has a direct-to-array entry point (measured as fast as array-to-array and
 * faster than staging through scratch), so it needs no scratch at all.
 *
 * zstd-jni 1.5.7 contexts have no finalizer, so a codec that is never closed (for example the one
 * cached for a thread that has since died) would leak its native memory; a Cleaner closes the
 * contexts once the codec becomes unreachable.
 */
package io.zswapd.actors.codec;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;

final class ZstdPageCodec extends AbstractPageCodec {

  static final int DEFAULT_LEVEL = Zstd.defaultCompressionLevel();
  static final int MIN_LEVEL = Zstd.minCompressionLevel();
  static final int MAX_LEVEL = Zstd.maxCompressionLevel();

  private static final int PAGE_BOUND = (int) Zstd.compressBound(PAGE_SIZE);
  private static final Cleaner CONTEXT_CLEANER = Cleaner.create();

  private final ZstdCompressCtx compressor;
  private final ZstdDecompressCtx decompressor;
  private final Cleaner.Cleanable contexts;
  private ByteBuffer directScratch;

  ZstdPageCodec(int level) {
    super(CodecKind.ZSTD, level);
    compressor = new ZstdCompressCtx().setLevel(level).setChecksum(false);
    decompressor = new ZstdDecompressCtx();
    contexts = CONTEXT_CLEANER.register(this, new ContextCloser(compressor, decompressor));
  }

  @Override
  public int maxCompressedLength(int srcLen) {
    return srcLen == PAGE_SIZE ? PAGE_BOUND : Math.toIntExact(Zstd.compressBound(srcLen));
  }

  @Override
  int compressArray(byte[] src, int srcOff, int srcLen, byte[] dst) {
    return compressor.compressByteArray(dst, 0, maxCompressedLength(srcLen), src, srcOff, srcLen);
  }

  @Override
  int compressDirect(ByteBuffer src, int srcOff, int srcLen, byte[] dst, int maxLen) {
    int bound = maxCompressedLength(srcLen);
    if (directScratch == null || directScratch.capacity() < bound) {
      directScratch = ByteBuffer.allocateDirect(Math.max(bound, PAGE_BOUND));
    }
    int n = compressor.compressDirectByteBuffer(directScratch, 0, bound, src, srcOff, srcLen);
    if (n > maxLen) {
      return -1;
    }
    directScratch.get(0, dst, 0, n);
    return n;
  }

  @Override
  int decompressArray(byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen) {
    try {
      return decompressor.decompressByteArray(dst, dstOff, dstLen, src, srcOff, srcLen);
    } catch (ZstdException e) {
      throw corrupt(srcLen, dstLen, e.getMessage(), e);
    }
  }

  @Override
  int decompressDirect(ByteBuffer src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen) {
    try {
      return decompressor.decompressDirectByteBufferToByteArray(
          dst, dstOff, dstLen, src, srcOff, srcLen);
    } catch (ZstdException e) {
      throw corrupt(srcLen, dstLen, e.getMessage(), e);
    }
  }

  @Override
  void freeNative() {
    contexts.clean();
    directScratch = null;
  }

  /** Holds the contexts, never the codec, so the codec can become unreachable. */
  private record ContextCloser(ZstdCompressCtx compressor, ZstdDecompressCtx decompressor)
      implements Runnable {
    @Override
    public void run() {
      compressor.close();
      decompressor.close();
    }
  }
}
