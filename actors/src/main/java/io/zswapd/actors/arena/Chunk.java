package io.zswapd.actors.arena;

import java.nio.ByteBuffer;

/**
 * One off-heap chunk of the arena: {@code pages} contiguous 4 KiB pages of direct memory.
 *
 * <pre>
 *  chunk (arena-chunk-size, 2 MiB by default = 512 pages)
 *  +--------+--------+--------+-- ... --+--------+
 *  | page 0 | page 1 | page 2 |         | page N |    page i at byte offset i * 4096
 *  +--------+--------+--------+-- ... --+--------+
 * </pre>
 *
 * <p>Ownership: the {@link PageArena} owns the chunk and its free pages; a page it grants is
 * owned by the size class it went to until that class returns it. Pages are only ever
 * accessed through absolute get/put on {@link #memory()}, which never changes the buffer's
 * position or limit, so owners of different pages never interfere.
 *
 * <p>After {@link #release()} the memory is gone and {@link #memory()} throws
 * {@link ReleasedMemoryException} instead of touching freed memory (checked memory).
 */
public final class Chunk {
  final int id;
  final PageRef[] pageRefs;
  private ByteBuffer memory;

  /* The arena's bookkeeping, touched only by the arena actor. */
  final int[] freeStack;
  int freeCount;
  final long[] inUseBits;

  Chunk(int id, int pages) {
    this.id = id;
    this.memory = OffHeap.allocate(pages * PageRef.PAGE_SIZE);
    this.pageRefs = new PageRef[pages];
    this.freeStack = new int[pages];
    this.inUseBits = new long[(pages + 63) >>> 6];
    for (int i = 0; i < pages; i++) {
      pageRefs[i] = new PageRef(this, i);
      freeStack[i] = pages - 1 - i; // pop order 0, 1, 2 ... keeps zspages contiguous when possible
    }
    this.freeCount = pages;
  }

  /** The chunk's memory; throws when the chunk was already given back to the OS. */
  public ByteBuffer memory() {
    ByteBuffer m = memory;
    if (m == null) {
      throw new ReleasedMemoryException(id);
    }
    return m;
  }

  public int id() {
    return id;
  }

  public int pages() {
    return pageRefs.length;
  }

  boolean released() {
    return memory == null;
  }

  void release() {
    ByteBuffer m = memory;
    memory = null;
    if (m != null) {
      OffHeap.free(m);
    }
  }
}
