package io.zswapd.actors.arena;

import java.nio.ByteBuffer;

/**
 * One 4 KiB page of an arena chunk. Created once per page when the chunk is allocated and
 * handed around by reference in grant and return messages, so granting pages allocates
 * nothing per page.
 */
public final class PageRef {
  public static final int PAGE_SIZE = 4096;
  public static final int PAGE_SHIFT = 12;

  private final Chunk chunk;
  private final int index;

  PageRef(Chunk chunk, int index) {
    this.chunk = chunk;
    this.index = index;
  }

  /** The chunk's memory (throws if the chunk was released). */
  public ByteBuffer memory() {
    return chunk.memory();
  }

  /** Byte offset of this page inside {@link #memory()}. */
  public int offset() {
    return index << PAGE_SHIFT;
  }

  public Chunk chunk() {
    return chunk;
  }

  public int index() {
    return index;
  }

  /** Copies {@code len} bytes from {@code src[srcOff..]} to this page at {@code pageOff}. */
  public void put(int pageOff, byte[] src, int srcOff, int len) {
    chunk.memory().put(offset() + pageOff, src, srcOff, len);
  }

  /** Copies {@code len} bytes of this page from {@code pageOff} into {@code dst[dstOff..]}. */
  public void get(int pageOff, byte[] dst, int dstOff, int len) {
    chunk.memory().get(offset() + pageOff, dst, dstOff, len);
  }

  @Override
  public String toString() {
    return "page " + index + " of chunk " + chunk.id;
  }
}
