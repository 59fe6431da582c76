package io.zswapd.actors.codec;

import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.config.PoolSettings;
import io.zswapd.protocol.engine.PageImage;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.OptionalInt;

/**
 * Turns a caller's 4 KiB page into an immutable {@link PageImage}, on the caller's thread.
 *
 * <p>This is where a page is compressed, once (DESIGN.md, stable pages). Like zswap, which
 * compresses in the context of the task that swaps the page out using a per-CPU compression
 * context, zswapd compresses on the thread that hands the page over, with that thread's own
 * codec ({@link PageCodecs#forCurrentThread}). The work spreads over every thread that stores,
 * and the actors downstream only move finished bytes.
 *
 * <ol>
 *   <li>the caller's page is copied once into a per-thread buffer; the steps below read only
 *       that copy, so a buffer changed meanwhile is stored as one snapshot of it;</li>
 *   <li>a page of one repeated 8-byte word becomes {@link PageImage.SameFilled} (when
 *       {@code same-filled-pages} is on): nothing is compressed or allocated;</li>
 *   <li>otherwise it is compressed into the thread's scratch buffer, limited to
 *       {@code hugeThreshold - 1} bytes; the result is copied out at its exact length;</li>
 *   <li>a page that does not fit under the huge threshold is kept raw ({@link PageImage.Raw}):
 *       zram's huge page, zswap's {@code reject_compress_poor}.</li>
 * </ol>
 * Immutable and safe to share; all mutable state is per thread.
 */
public final class PageCompressor {
  private final CodecKind kind;
  private final OptionalInt level;
  private final boolean sameFilled;
  private final int hugeThreshold;

  /** The compressor the pool settings describe. */
  public static PageCompressor of(PoolSettings pool) {
    return new PageCompressor(CodecKind.valueOf(pool.compressor().name()), pool.compressionLevel(),
        pool.sameFilledPages(), PoolGeometry.of(pool.maxPagesPerZspage()).hugeThreshold());
  }

  public PageCompressor(CodecKind kind, OptionalInt level, boolean sameFilled, int hugeThreshold) {
    if (hugeThreshold < 2 || hugeThreshold > PageImage.PAGE_SIZE) {
      throw new IllegalArgumentException("huge threshold " + hugeThreshold + " outside 2.." + PageImage.PAGE_SIZE);
    }
    this.kind = kind;
    this.level = level;
    this.sameFilled = sameFilled;
    this.hugeThreshold = hugeThreshold;
  }

  /** Compresses {@code page.remaining()} (exactly 4096) bytes from its position; the buffer is not changed. */
  public PageImage compress(ByteBuffer page) {
    if (page.remaining() != PageImage.PAGE_SIZE) {
      throw new IllegalArgumentException(
          "a page is exactly " + PageImage.PAGE_SIZE + " bytes, got " + page.remaining());
    }
    // One copy of the caller's bytes, read once: everything below looks only at the copy, so a
    // caller (or another thread) changing its buffer meanwhile cannot make the same-filled check,
    // the word, the compressor and the raw page see different pages. Compressing memory that
    // changes under it, the native lz4 wrote blocks its own decoder rejects.
    PageCodecs.ThreadCodecs thread = PageCodecs.thread();
    ByteBuffer stable = thread.input.put(0, page, page.position(), PageImage.PAGE_SIZE);
    if (sameFilled && SameFilledPage.isSameFilled(stable)) {
      return new PageImage.SameFilled(SameFilledPage.word(stable));
    }
    byte[] scratch = thread.scratch;
    int n = thread.codec(kind, level).compress(stable, scratch, hugeThreshold - 1);
    if (n < 0) {
      return new PageImage.Raw(stable.array().clone());
    }
    return new PageImage.Compressed(Arrays.copyOf(scratch, n));
  }

  /** Compresses {@code page[off .. off+4096)}. */
  public PageImage compress(byte[] page, int off) {
    if (off < 0 || page.length - off < PageImage.PAGE_SIZE) {
      throw new IllegalArgumentException("a page is exactly " + PageImage.PAGE_SIZE + " bytes; the array from offset "
          + off + " holds " + Math.max(0, page.length - off));
    }
    return compress(ByteBuffer.wrap(page, off, PageImage.PAGE_SIZE));
  }

  /**
   * The page back from its stored bytes: a copy when they are the raw page (4096 bytes),
   * otherwise decompressed with this thread's decoder for {@code codec}, the codec that wrote
   * them. Throws {@link CorruptPageException}.
   */
  public static byte[] decompress(byte[] stored, CodecKind codec) {
    byte[] page = new byte[PageImage.PAGE_SIZE];
    decompress(stored, 0, stored.length, codec, page, 0);
    return page;
  }

  /**
   * The page stored in {@code src[srcOff .. srcOff+srcLen)} by {@code codec} written to
   * {@code dst[dstOff .. dstOff+4096)}: copied when it is the raw page, otherwise decompressed.
   * Throws {@link CorruptPageException}.
   */
  public static void decompress(byte[] src, int srcOff, int srcLen, CodecKind codec, byte[] dst, int dstOff) {
    if (srcLen == PageImage.PAGE_SIZE) {
      System.arraycopy(src, srcOff, dst, dstOff, PageImage.PAGE_SIZE);
    } else {
      PageCodecs.decompress(codec, src, srcOff, srcLen, dst, dstOff, PageImage.PAGE_SIZE);
    }
  }

  /** The codec this compressor writes pages with (the pool's {@code compressor}). */
  public CodecKind kind() {
    return kind;
  }

  public int hugeThreshold() {
    return hugeThreshold;
  }
}
