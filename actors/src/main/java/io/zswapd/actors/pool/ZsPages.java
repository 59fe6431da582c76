package io.zswapd.actors.pool;

import io.zswapd.actors.arena.Chunk;
import io.zswapd.actors.arena.PageId;
import java.util.Arrays;

/**
 * The zspages of one size class, kept as parallel primitive arrays indexed by zspage id: no
 * object per zspage or per page, so the garbage collector has nothing to chase at rest.
 *
 * <p>A zspage is {@code ppz} arena pages holding {@code objs} objects of {@code size} bytes,
 * laid end to end across the pages:
 *
 * <pre>
 *  page 0                      page 1                      page 2
 *  +------+------+------+---   --+------+------+------+--  ...
 *  | obj0 | obj1 | obj2 | ob|j3   | obj4 | obj5 | obj6 | o
 *  +------+------+------+---   --+------+------+------+--
 *                         ^ obj3 straddles pages 0 and 1
 * </pre>
 *
 * Object {@code i} starts at byte {@code i * size} of the zspage.
 *
 * <p>Per zspage id {@code z} ({@code firstPage} and {@code state} grow a block of 256 ints at
 * a time ({@link IntBlocks}), so their slack is under 2 KiB a class however many zspages it
 * holds; ids of freed zspages are reused first):
 * <pre>
 *  array         entry                         meaning
 *  firstPage[]   z                             &gt;= 0: the zspage's pages are the run of page
 *                                              ids firstPage[z] .. firstPage[z] + ppz - 1
 *                                              &lt; 0: they are listed in lists[] at slot ~firstPage[z]
 *  lists[]       slot * ppz + i                page id ({@link PageId}) of page i of a listed zspage
 *  state[]       z                             three small fields packed in one int, below
 *  members[g][]  bit z of group g's bitmap     set while z is in fullness group g
 *
 *  state:  bits 0..11   objects in use                       (a zspage holds at most 2048)
 *          bits 12..23  first free object + 1, 0 = full      (the free list's head)
 *          bits 24..27  fullness group + 1, 0 = a free id, 13 = isolated for migration
 * </pre>
 * The arena grants the lowest free pages of one chunk at a time, so a zspage's pages are
 * nearly always a run: eight bytes per zspage whatever its page count, and 1.5 bytes of group
 * bitmaps (a bit in each of the twelve): under 2 bytes of heap per stored object when a
 * zspage holds five objects or more. A zspage whose pages are not a run (a grant that crossed a hole,
 * a page moved by migration) costs {@code 4 * ppz} bytes more in {@code lists}, and goes back
 * to a run if migration later moves all its pages to one. Fullness groups are bitmaps rather
 * than zsmalloc's linked lists, whose two ints per zspage would double that; a search starts
 * at the group's lowest word that may hold a member, so finding the fullest zspage stays
 * cheap.
 *
 * <p><b>Free objects hold the free list, off-heap.</b> The first 4 bytes of a free object are
 * the index of the next free object of its zspage (little-endian int, -1 ends the list), as
 * zsmalloc's {@code link_free}. Sizes are multiples of 16, so an object starts at most 4080
 * bytes into a page and the link never straddles. An allocated object's bytes are all data:
 * no per-object header and no per-object array on the heap. The price is that nothing maps an
 * object back to its handle; compaction, the only place that needs it, builds that map from
 * the handle table when it runs ({@link ClassCompaction}).
 *
 * <p>Pages are reached through {@code chunks[]}, this class's cache of the arena's chunks by
 * chunk id, filled from each grant ({@link #addChunks}). A released chunk's id may come back
 * with a new chunk, but only in a grant, which replaces the cache entry before any of its
 * pages is used. Owned by one {@link SizeClass} actor.
 */
final class ZsPages {
  static final int GROUPS = 12;
  static final int FULL = GROUPS - 1;
  static final int NONE = -1;
  /** Group value of a zspage isolated for migration: linked in no list, so never allocated from. */
  static final int ISOLATED = GROUPS;
  /** Blocks of 256 ints: under 2 KiB of slack per class for its page ids and states together. */
  private static final int BLOCK_SHIFT = 8;

  private final int size;
  private final int objs;
  private final int ppz;
  private final int pagesPerChunk;
  private final int maxIds;

  /**
   * Per zspage: its first page id when its pages are a run of consecutive ids (the usual
   * case: the arena grants the lowest free pages of one chunk), else {@code ~slot} of its
   * page list in {@link #lists}.
   */
  private final IntBlocks firstPage = new IntBlocks(0, BLOCK_SHIFT);
  /** Page lists of zspages whose pages are not a run: {@code ppz} page ids per slot. */
  private final IntBlocks lists = new IntBlocks(0, BLOCK_SHIFT);
  private int nextList;
  private final IntStack freeLists = new IntStack();
  private static final int IN_USE_MASK = 0xFFF;
  private static final int HEAD_SHIFT = 12;
  private static final int GROUP_SHIFT = 24;
  /** Most objects a zspage may hold: the packed fields are 12 bits wide. */
  static final int MAX_OBJS = 4094;

  private final IntBlocks state = new IntBlocks(0, BLOCK_SHIFT); // 0: group NONE, a free id
  /** members[g]: bitmap over zspage ids of fullness group g. */
  private final long[][] members = new long[GROUPS][];
  /** No member of group g lies below word firstWord[g] (a lower bound, moved on each search). */
  private final int[] firstWord = new int[GROUPS];
  private int nextId;
  private final IntStack freeIds = new IntStack();
  private long count;
  private long isolatedCount;

  private final long[] groupCount = new long[GROUPS];

  private Chunk[] chunks = new Chunk[4];

  ZsPages(int size, int objs, int ppz, int pagesPerChunk, int maxIds) {
    if (size % 4 != 0) {
      throw new IllegalArgumentException("object size " + size + " is not a multiple of 4: a free-list link would straddle");
    }
    this.size = size;
    this.objs = objs;
    this.ppz = ppz;
    this.pagesPerChunk = pagesPerChunk;
    this.maxIds = maxIds;
    if (objs > MAX_OBJS) {
      throw new IllegalArgumentException(objs + " objects per zspage; at most " + MAX_OBJS + " fit the packed state");
    }
    for (int g = 0; g < GROUPS; g++) {
      members[g] = new long[1];
    }
  }

  /** Growth by an eighth, for the chunk cache: slack stays under 12.5%. */
  static int grown(int length) {
    return length + (length >> 3) + 8;
  }

  /** Caches the chunks of newly granted pages; a reused chunk id gets its new chunk. */
  void addChunks(Chunk[] granted) {
    for (Chunk c : granted) {
      if (c.pages() != pagesPerChunk) {
        throw new IllegalStateException("granted a chunk of " + c.pages() + " pages; this class was made for "
            + pagesPerChunk);
      }
      if (c.id() >= chunks.length) {
        chunks = Arrays.copyOf(chunks, Math.max(c.id() + 1, grown(chunks.length)));
      }
      chunks[c.id()] = c;
    }
  }

  // ---- zspage life ------------------------------------------------------------------------

  /** Makes a zspage of the {@code ppz} pages {@code src[from..]}: every object free, in group 0. */
  int create(int[] src, int from) {
    int z;
    if (!freeIds.isEmpty()) {
      z = freeIds.pop();
    } else if (nextId < maxIds) {
      z = nextId++;
      if (z == state.capacity()) {
        grow(z + 1);
      }
    } else {
      throw new IllegalStateException("size class " + size + " ran out of zspage ids (" + maxIds + ")");
    }
    if (isRun(src, from, ppz)) {
      firstPage.set(z, src[from]);
    } else {
      int slot = newList();
      for (int k = 0; k < ppz; k++) {
        lists.set(slot * ppz + k, src[from + k]);
      }
      firstPage.set(z, ~slot);
    }
    state.set(z, packed(0, 0, NONE)); // object 0 heads the free list
    for (int obj = 0; obj < objs; obj++) {
      writeLink(z, obj, obj + 1 < objs ? obj + 1 : NONE);
    }
    link(z, 0);
    count++;
    return z;
  }

  /** Whether {@code ids[from..from+count)} are consecutive page ids, ascending. */
  static boolean isRun(int[] ids, int from, int count) {
    for (int k = 1; k < count; k++) {
      if (ids[from + k] != ids[from] + k) {
        return false;
      }
    }
    return true;
  }

  private int newList() {
    if (!freeLists.isEmpty()) {
      return freeLists.pop();
    }
    int slot = nextList++;
    lists.ensure(nextList * ppz);
    return slot;
  }

  private void grow(int ids) {
    state.ensure(ids);
    firstPage.ensure(state.capacity());
    int words = (state.capacity() + 63) >>> 6;
    if (words > members[0].length) {
      for (int g = 0; g < GROUPS; g++) {
        members[g] = Arrays.copyOf(members[g], words);
      }
    }
  }

  /** Unlinks zspage {@code z} and frees its id; its pages are the caller's to pass on ({@link #pagesOf}). */
  void free(int z) {
    int f = firstPage.get(z);
    if (f < 0) {
      freeLists.push(~f);
    }
    unlink(z);
    freeIds.push(z);
    count--;
  }

  /** Copies the page ids of zspage {@code z} to {@code dst[off..off+ppz)}. */
  void pagesOf(int z, int[] dst, int off) {
    for (int k = 0; k < ppz; k++) {
      dst[off + k] = pageAt(z, k);
    }
  }

  /** True when {@code z} names a zspage (not a freed id). */
  boolean live(int z) {
    return group(z) != NONE;
  }

  // ---- isolation and page migration ------------------------------------------------------
  // An isolated zspage is in no fullness list: allocation and compaction cannot pick it, and
  // a free that empties it leaves it alive until migration hands it back (putBack or free).

  void isolate(int z) {
    unlink(z);
    state.set(z, packed(inUse(z), freeHead(z), ISOLATED));
    isolatedCount++;
  }

  boolean isolated(int z) {
    return group(z) == ISOLATED;
  }

  /** Links an isolated zspage into the group its objects put it in again. */
  void putBack(int z) {
    unlink(z);
    link(z, groupOf(z));
  }

  long isolatedCount() {
    return isolatedCount;
  }

  /** Page id of page {@code k} of zspage {@code z}. */
  int pageAt(int z, int k) {
    int f = firstPage.get(z);
    return f >= 0 ? f + k : lists.get(~f * ppz + k);
  }

  /** Whether zspage {@code z}'s pages are a run (one int of heap) rather than a list ({@code 4 + 4 * ppz}). */
  boolean pagesAreRun(int z) {
    return firstPage.get(z) >= 0;
  }

  /** The id of the chunk holding page {@code pageId}. */
  int chunkIdOf(int pageId) {
    return PageId.chunkId(pageId, pagesPerChunk);
  }

  /**
   * Copies page {@code k} of zspage {@code z} to page {@code newPageId} (whose chunk is cached)
   * and makes the new page the zspage's page {@code k}. Handles are untouched: a location names
   * a zspage and an object index, never a page.
   */
  void migratePage(int z, int k, int newPageId) {
    int oldPageId = pageAt(z, k);
    Chunk from = chunkOf(oldPageId);
    Chunk to = chunkOf(newPageId);
    to.memory().put(to.byteOffset(newPageId), from.memory(), from.byteOffset(oldPageId), PageId.PAGE_SIZE);
    setPage(z, k, newPageId);
  }

  /**
   * Makes {@code pageId} page {@code k} of zspage {@code z}: a run that it breaks becomes a
   * list, and a list that it completes into a run (migration moved every page to a run of new
   * pages) becomes a run again.
   */
  private void setPage(int z, int k, int pageId) {
    int f = firstPage.get(z);
    if (f >= 0) {
      if (pageId == f + k) {
        return;
      }
      int slot = newList();
      for (int i = 0; i < ppz; i++) {
        lists.set(slot * ppz + i, f + i);
      }
      f = ~slot;
      firstPage.set(z, f);
    }
    int base = ~f * ppz;
    lists.set(base + k, pageId);
    for (int i = 1; i < ppz; i++) {
      if (lists.get(base + i) != lists.get(base) + i) {
        return;
      }
    }
    firstPage.set(z, lists.get(base));
    freeLists.push(~f);
  }

  /** Zspages whose pages are listed, not a run. */
  long listedCount() {
    return nextList - freeLists.size();
  }

  /** Ids in use are below this. */
  int idLimit() {
    return nextId;
  }

  long count() {
    return count;
  }

  // ---- objects ----------------------------------------------------------------------------

  int inUse(int z) {
    return state.get(z) & IN_USE_MASK;
  }

  boolean full(int z) {
    return freeHead(z) == NONE;
  }

  private int freeHead(int z) {
    return ((state.get(z) >>> HEAD_SHIFT) & 0xFFF) - 1;
  }

  private int group(int z) {
    return (state.get(z) >>> GROUP_SHIFT) - 1;
  }

  private static int packed(int inUse, int freeHead, int group) {
    return inUse | (freeHead + 1) << HEAD_SHIFT | (group + 1) << GROUP_SHIFT;
  }

  /** Takes the first free object of zspage {@code z} (which is not full); returns its index. */
  int take(int z) {
    int obj = freeHead(z);
    int link = readLink(z, obj);
    if (link < NONE || link >= objs) {
      throw new IllegalStateException("size class " + size + ", zspage " + z + ": free list link " + link
          + " in object " + obj + " is out of 0.." + (objs - 1) + " (object bytes overwritten)");
    }
    state.set(z, packed(inUse(z) + 1, link, group(z)));
    return obj;
  }

  /** Puts object {@code obj} of zspage {@code z} back on its free list. Regroup afterwards. */
  void release(int z, int obj) {
    writeLink(z, obj, freeHead(z));
    state.set(z, packed(inUse(z) - 1, obj, group(z)));
  }

  /** Writes {@code data[0..len)} as object {@code obj}, split across two pages if it straddles. */
  void write(int z, int obj, byte[] data, int len) {
    int off = obj * size;
    int p = off >>> PageId.PAGE_SHIFT;
    int inPage = off & (PageId.PAGE_SIZE - 1);
    int first = Math.min(len, PageId.PAGE_SIZE - inPage);
    int page = pageAt(z, p);
    Chunk c = chunkOf(page);
    c.memory().put(c.byteOffset(page) + inPage, data, 0, first);
    if (first < len) {
      page = pageAt(z, p + 1);
      c = chunkOf(page);
      c.memory().put(c.byteOffset(page), data, first, len - first);
    }
  }

  /** Reads {@code len} bytes of object {@code obj} into {@code dst}, joining straddling parts. */
  void read(int z, int obj, byte[] dst, int len) {
    read(z, obj, dst, 0, len);
  }

  /** As {@link #read(int, int, byte[], int)}, into {@code dst} from {@code dstOffset}. */
  void read(int z, int obj, byte[] dst, int dstOffset, int len) {
    int off = obj * size;
    int p = off >>> PageId.PAGE_SHIFT;
    int inPage = off & (PageId.PAGE_SIZE - 1);
    int first = Math.min(len, PageId.PAGE_SIZE - inPage);
    int page = pageAt(z, p);
    Chunk c = chunkOf(page);
    c.memory().get(c.byteOffset(page) + inPage, dst, dstOffset, first);
    if (first < len) {
      page = pageAt(z, p + 1);
      c = chunkOf(page);
      c.memory().get(c.byteOffset(page), dst, dstOffset + first, len - first);
    }
  }

  /** True when {@code len} bytes of object {@code obj} lie inside one page. */
  boolean contiguous(int obj, int len) {
    return ((obj * size) & (PageId.PAGE_SIZE - 1)) + len <= PageId.PAGE_SIZE;
  }

  /** The id of the page where object {@code obj} of zspage {@code z} starts. */
  int pageOf(int z, int obj) {
    return pageAt(z, (obj * size) >>> PageId.PAGE_SHIFT);
  }

  /** Where object {@code obj} starts inside its first page. */
  int offsetInPage(int obj) {
    return (obj * size) & (PageId.PAGE_SIZE - 1);
  }

  Chunk chunkOf(int pageId) {
    return chunks[PageId.chunkId(pageId, pagesPerChunk)];
  }

  private int readLink(int z, int obj) {
    int pageId = pageOf(z, obj);
    Chunk c = chunkOf(pageId);
    return c.memory().getInt(c.byteOffset(pageId) + offsetInPage(obj));
  }

  private void writeLink(int z, int obj, int link) {
    int pageId = pageOf(z, obj);
    Chunk c = chunkOf(pageId);
    c.memory().putInt(c.byteOffset(pageId) + offsetInPage(obj), link);
  }

  // ---- fullness groups --------------------------------------------------------------------
  // Group 0: no object in use (only between create and the first take); 1..10: the tenth of
  // the objects in use, rounded up; 11 (FULL): every object in use.

  private int groupOf(int z) {
    int n = inUse(z);
    if (n == 0) {
      return 0;
    }
    if (n == objs) {
      return FULL;
    }
    return 1 + (n * 10 - 1) / objs;
  }

  /** Moves zspage {@code z} to the group its objects in use now put it in. */
  void regroup(int z) {
    if (group(z) == ISOLATED) {
      return; // linked again when migration hands it back
    }
    int g = groupOf(z);
    if (g != group(z)) {
      unlink(z);
      link(z, g);
    }
  }

  private void link(int z, int g) {
    state.set(z, packed(inUse(z), freeHead(z), g));
    members[g][z >>> 6] |= 1L << z;
    firstWord[g] = Math.min(firstWord[g], z >>> 6);
    groupCount[g]++;
  }

  private void unlink(int z) {
    int g = group(z);
    if (g == NONE) {
      return;
    }
    if (g == ISOLATED) {
      isolatedCount--;
      state.set(z, packed(inUse(z), freeHead(z), NONE));
      return;
    }
    members[g][z >>> 6] &= ~(1L << z);
    groupCount[g]--;
    state.set(z, packed(inUse(z), freeHead(z), NONE));
  }

  /** The lowest member of group {@code g} other than {@code except}; NONE if there is none. */
  private int firstMember(int g, int except) {
    if (groupCount[g] == 0 || (groupCount[g] == 1 && except != NONE && group(except) == g)) {
      return NONE;
    }
    long[] bits = members[g];
    for (int w = firstWord[g]; w < bits.length; w++) {
      long word = bits[w];
      if (word == 0) {
        firstWord[g] = w + 1; // nothing below the next word: searches start there from now on
        continue;
      }
      if (except != NONE && (except >>> 6) == w) {
        word &= ~(1L << except);
        if (word == 0) {
          continue;
        }
      }
      return (w << 6) + Long.numberOfTrailingZeros(word);
    }
    return NONE;
  }

  /** A zspage of the fullest group short of full, other than {@code except}; NONE if there is none. */
  int fullestPartial(int except) {
    for (int g = FULL - 1; g >= 1; g--) {
      int z = firstMember(g, except);
      if (z != NONE) {
        return z;
      }
    }
    return NONE;
  }

  /** A zspage of the emptiest group that has objects in use, short of full; NONE if there is none. */
  int emptiestPartial() {
    for (int g = 1; g < FULL; g++) {
      int z = firstMember(g, NONE);
      if (z != NONE) {
        return z;
      }
    }
    return NONE;
  }

  long groupCount(int g) {
    return groupCount[g];
  }
}
