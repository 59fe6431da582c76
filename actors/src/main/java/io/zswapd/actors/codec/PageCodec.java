/*
 * The contract between the engine and a compression library for one thread. Like the kernel's
 * zswap acomp_ctx, which is allocated per CPU, a PageCodec belongs to one thread at a time: it owns
 * reusable native contexts and scratch buffers so the hot path neither allocates nor synchronises.
 * Get one per thread from PageCodecs.forCurrentThread, or create one and confine it yourself.
 *
 * Sources come in the three shapes the engine holds pages in: a heap or direct ByteBuffer (a page
 * being swapped out, or an object inside an off-heap zspage at any offset), and a byte[] (an object
 * that straddled two zspage pages and was copied into scratch). Output always goes to a byte[]
 * because the engine copies the result into its arena itself.
 */
package io.zswapd.actors.codec;

import java.nio.ByteBuffer;

/**
 * One thread's compressor and decompressor with reusable contexts. <b>Not thread-safe.</b>
 *
 * <pre>{@code
 * PageCodec codec = PageCodecs.forCurrentThread(CodecKind.LZ4, OptionalInt.empty());
 * int n = codec.compress(page, scratch, 3072);          // -1: does not fit, store the page raw
 * ...
 * codec.decompress(arena, objectOffset, n, out, 0, 4096); // throws CorruptPageException if damaged
 * }</pre>
 */
public interface PageCodec extends AutoCloseable {

  CodecKind kind();

  /** The effective level: 0 for LZ4, the requested or default level (LZ4HC 9, ZSTD 3) otherwise. */
  int level();

  /**
   * Compresses {@code src.remaining()} bytes starting at {@code src.position()} (heap or direct;
   * the position is not changed) into {@code dst[0 .. maxLen)}.
   *
   * @return the compressed length, or -1 when the result would not fit in {@code maxLen} bytes
   *     (the content of {@code dst} is then unspecified)
   */
  int compress(ByteBuffer src, byte[] dst, int maxLen);

  /** As {@link #compress(ByteBuffer, byte[], int)} from {@code src[srcOff .. srcOff+srcLen)}. */
  int compress(byte[] src, int srcOff, int srcLen, byte[] dst, int maxLen);

  /**
   * Decompresses exactly {@code srcLen} compressed bytes found at absolute index {@code srcOff} of
   * {@code src} (heap or direct; position and limit untouched; the region must lie below the
   * limit, as for {@link ByteBuffer#get(int)}) into {@code dst[dstOff .. dstOff+dstLen)}. Nothing
   * outside that range of {@code dst} is written.
   *
   * @throws CorruptPageException when the input is malformed or does not decode to exactly
   *     {@code dstLen} bytes
   */
  void decompress(ByteBuffer src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen);

  /** As {@link #decompress(ByteBuffer, int, int, byte[], int, int)} from a byte array. */
  void decompress(byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen);

  /** The largest compressed length {@code srcLen} bytes can produce (incompressible input grows). */
  int maxCompressedLength(int srcLen);

  /** Frees native contexts; further use throws IllegalStateException. Idempotent. */
  @Override
  void close();
}
