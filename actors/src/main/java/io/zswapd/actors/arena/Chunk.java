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
 * <p>With {@code mmap} memory ({@link ChunkMemory}) the chunk also knows which of its free pages
 * are resident: {@code notResident} has a bit set for each free page the OS holds no memory
 * for (never written since the chunk was mapped, or discarded since). The arena discards the
 * resident free pages a while after they come back ({@link #discardFree}); a page granted again
 * costs memory again when written.
 *
 * <pre>
 *  page:        in use   free, resident   free, not resident
 *  inUseBits       1           0                  0
 *  notResident     0           0                  1
 * </pre>
 *
 * <p>After {@link #release()} the memory is gone and {@link #memory()} throws
 * {@link ReleasedMemoryException} instead of touching freed memory. The field is volatile so
 * that a holder on another thread sees the release at its next access. With checked memory
 * ({@code pool.migration.checked-memory}) the buffer is only dropped, not freed: the garbage
 * collector frees it once no thread can still hold it, so even an access racing the release
 * reads valid memory instead of crashing the JVM. Without it the memory goes back to the OS at
 * once.
 */
public final class Chunk {
  final int id;
  private final int pages;
  private final int firstPageId;
  private final ChunkMemory source;
  private volatile ByteBuffer memory;

  /* The arena's bookkeeping, touched only by the arena actor. */
  int freeCount;
  final long[] inUseBits;
  private int firstFreeWord;
  /** The arena is emptying this chunk by migration: no grant takes a page from it. */
  boolean evacuating;
  /** Free pages the OS holds no memory for (see the class comment); null when the memory cannot discard. */
  private final long[] notResident;
  /** Free pages that are resident: discarded by {@link #discardFree}. */
  int residentFree;
  /** The arena has this chunk in its list of chunks to discard free pages of. */
  boolean discardListed;

  Chunk(int id, int pages, ChunkMemory source) {
    this.id = id;
    this.source = source;
    this.pages = pages;
    this.firstPageId = PageId.of(id, 0, pages);
    this.memory = source.allocate(pages * PageId.PAGE_SIZE);
    this.inUseBits = new long[(pages + 63) >>> 6];
    if ((pages & 63) != 0) {
      inUseBits[inUseBits.length - 1] = -1L << (pages & 63); // the padding past the last page
    }
    this.freeCount = pages;
    if (source.canDiscard()) {
      notResident = new long[inUseBits.length];
      java.util.Arrays.fill(notResident, -1L); // a new mapping: nothing written yet
    } else {
      notResident = null;
      residentFree = pages; // direct buffers are zeroed, so resident, in full
    }
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
    if (notResident != null && (notResident[w] & (1L << bit)) != 0) {
      notResident[w] &= ~(1L << bit); // memory again once written
    } else {
      residentFree--;
    }
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
    residentFree++;
    firstFreeWord = Math.min(firstFreeWord, w);
    return true;
  }

  /** Pages that cost memory now: those in use and the resident free ones. */
  int residentPages() {
    return pages - freeCount + residentFree;
  }

  /**
   * Gives the resident free pages back to the OS, a run of consecutive pages per call; returns
   * how many went back, or -1 when the OS refused (the pages stay resident; the arena stops
   * discarding).
   */
  int discardFree() {
    if (notResident == null || residentFree == 0 || released()) {
      return 0;
    }
    ByteBuffer m = memory();
    int discarded = 0;
    int i = 0;
    while (i < pages) {
      if (!residentFreePage(i)) {
        i++;
        continue;
      }
      int start = i;
      while (i < pages && residentFreePage(i)) {
        i++;
      }
      if (!source.discard(m, start << PageId.PAGE_SHIFT, (i - start) << PageId.PAGE_SHIFT)) {
        return -1;
      }
      for (int p = start; p < i; p++) {
        notResident[p >>> 6] |= 1L << p;
      }
      discarded += i - start;
    }
    residentFree -= discarded;
    return discarded;
  }

  private boolean residentFreePage(int index) {
    long bit = 1L << index;
    return ((inUseBits[index >>> 6] | notResident[index >>> 6]) & bit) == 0;
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
    if (m != null) {
      source.free(m);
    }
  }
}
