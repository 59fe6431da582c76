package io.zswapd.actors.arena;

import java.nio.ByteBuffer;

/**
 * One off-heap chunk of the arena: {@code pages} contiguous 4 KiB pages of direct memory.
 *
 * <pre>
 *  chunk id c (arena-chunk-size, 2 MiB by default = 512 pages)
 *  +--------+--------+--------+-- ... --+--------+
 *  | page 0 | page 1 | page 2 |         | page N |    page i at byte offset i * 4096,
 *  +--------+--------+--------+-- ... --+--------+    page id c * pages + i ({@link PageId})
 *
 *  inUseBits (long[(pages + 63) / 64], the arena's): bit i set = page i granted;
 *  bits past the last page are set for good, so a scan never picks them.
 * </pre>
 *
 * <p>Ownership: the {@link PageArena} owns the chunk and its free pages; a page it grants is
 * owned by the size class it went to until that class returns it. Pages are only ever
 * accessed through absolute get/put on {@link #memory()}, which never changes the buffer's
 * position or limit, so owners of different pages never interfere.
 *
 * <p>The bitmap is the only record of free pages (no free-page stack: that would be 4 bytes
 * of heap per page). Free pages are handed out lowest index first, which keeps the pages a
 * size class takes in one batch next to each other; {@code firstFreeWord} makes the search
 * start at the lowest word that can have a free page.
 *
 * <p>After {@link #release()} the memory is gone and {@link #memory()} throws
 * {@link ReleasedMemoryException} instead of touching freed memory. The field is volatile so
 * that a holder on another thread sees the release at its next access. With checked memory
 * ({@code pool.migration.checked-memory}) the buffer is only dropped, not freed: the garbage
 * collector frees it once no thread can still hold it, so even an access racing the release
 * reads valid memory instead of crashing the JVM. Without it the memory goes back to the OS at
 * once through the buffer's cleaner.
 */
public final class Chunk {
  final int id;
  private final int pages;
  private final int firstPageId;
  private final boolean checked;
  private volatile ByteBuffer memory;

  /* The arena's bookkeeping, touched only by the arena actor. */
  int freeCount;
  final long[] inUseBits;
  private int firstFreeWord;
  /** The arena is emptying this chunk by migration: no grant takes a page from it. */
  boolean evacuating;

  Chunk(int id, int pages, boolean checked) {
    this.id = id;
    this.checked = checked;
    this.pages = pages;
    this.firstPageId = PageId.of(id, 0, pages);
    this.memory = OffHeap.allocate(pages * PageId.PAGE_SIZE);
    this.inUseBits = new long[(pages + 63) >>> 6];
    if ((pages & 63) != 0) {
      inUseBits[inUseBits.length - 1] = -1L << (pages & 63); // the padding past the last page
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
    return pages;
  }

  /** Byte offset in {@link #memory()} of page {@code pageId}, which must be one of this chunk's. */
  public int byteOffset(int pageId) {
    return (pageId - firstPageId) << PageId.PAGE_SHIFT;
  }

  /** Marks the lowest free page in use and returns its id; the caller checked {@code freeCount > 0}. */
  int take() {
    int w = firstFreeWord;
    while (inUseBits[w] == -1L) {
      w++;
    }
    firstFreeWord = w;
    int bit = Long.numberOfTrailingZeros(~inUseBits[w]);
    inUseBits[w] |= 1L << bit;
    freeCount--;
    return firstPageId + (w << 6) + bit;
  }

  /** Marks page {@code pageId} free; false if it was not in use (a double return). */
  boolean give(int pageId) {
    int index = pageId - firstPageId;
    int w = index >>> 6;
    long bit = 1L << index;
    if ((inUseBits[w] & bit) == 0) {
      return false;
    }
    inUseBits[w] &= ~bit;
    freeCount++;
    firstFreeWord = Math.min(firstFreeWord, w);
    return true;
  }

  int inUse() {
    return pages - freeCount;
  }

  boolean released() {
    return memory == null;
  }

  void release() {
    ByteBuffer m = memory;
    memory = null;
    if (m != null && !checked) {
      OffHeap.free(m);
    }
  }
}
