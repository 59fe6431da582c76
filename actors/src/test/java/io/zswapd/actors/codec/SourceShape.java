/*
 * The shapes the engine hands bytes to a codec in, each placed at an awkward offset so that
 * offset arithmetic (array offsets of sliced heap buffers, odd addresses in direct memory, tight
 * limits) is exercised on every call. Each shape also checks that the codec left the buffer's
 * position and limit alone.
 */
package io.zswapd.actors.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;

enum SourceShape {
  BYTE_ARRAY,
  /** A slice of a heap buffer, so arrayOffset() is not 0. */
  HEAP_BUFFER,
  /** A slice of direct memory starting 3 bytes in, data at index 37 of the slice. */
  DIRECT_BUFFER,
  /** Neither an array nor an address is exposed; the codec must copy. */
  READ_ONLY_HEAP_BUFFER;

  private static final int ARRAY_OFFSET = 11;
  private static final int BUFFER_INDEX = 37;

  int compress(PageCodec codec, byte[] src, byte[] dst, int maxLen) {
    if (this == BYTE_ARRAY) {
      byte[] holder = new byte[src.length + 2 * ARRAY_OFFSET];
      System.arraycopy(src, 0, holder, ARRAY_OFFSET, src.length);
      return codec.compress(holder, ARRAY_OFFSET, src.length, dst, maxLen);
    }
    ByteBuffer holder = holding(src, src.length);
    holder.position(BUFFER_INDEX).limit(BUFFER_INDEX + src.length);
    int n = codec.compress(holder, dst, maxLen);
    assertThat(holder.position()).as("%s position after compress", this).isEqualTo(BUFFER_INDEX);
    assertThat(holder.limit()).as("%s limit after compress", this)
        .isEqualTo(BUFFER_INDEX + src.length);
    return n;
  }

  void decompress(PageCodec codec, byte[] src, int srcLen, byte[] dst, int dstOff, int dstLen) {
    if (this == BYTE_ARRAY) {
      byte[] holder = new byte[srcLen + 2 * ARRAY_OFFSET];
      System.arraycopy(src, 0, holder, ARRAY_OFFSET, srcLen);
      codec.decompress(holder, ARRAY_OFFSET, srcLen, dst, dstOff, dstLen);
      return;
    }
    ByteBuffer holder = holding(src, srcLen);
    // Limit exactly at the end of the object: the codec must not need to look past it.
    holder.position(1).limit(BUFFER_INDEX + srcLen);
    codec.decompress(holder, BUFFER_INDEX, srcLen, dst, dstOff, dstLen);
    assertThat(holder.position()).as("%s position after decompress", this).isEqualTo(1);
    assertThat(holder.limit()).as("%s limit after decompress", this)
        .isEqualTo(BUFFER_INDEX + srcLen);
  }

  /** A buffer of this shape with src[0 .. len) at index BUFFER_INDEX. */
  private ByteBuffer holding(byte[] src, int len) {
    int capacity = BUFFER_INDEX + len + 64;
    ByteBuffer buffer = switch (this) {
      case HEAP_BUFFER, READ_ONLY_HEAP_BUFFER -> ByteBuffer.allocate(capacity + 5).position(5).slice();
      case DIRECT_BUFFER -> ByteBuffer.allocateDirect(capacity + 3).position(3).slice();
      case BYTE_ARRAY -> throw new AssertionError("arrays are not buffers");
    };
    buffer.put(BUFFER_INDEX, src, 0, len);
    return this == READ_ONLY_HEAP_BUFFER ? buffer.asReadOnlyBuffer() : buffer;
  }
}
