package io.zswapd.actors.arena;

/**
 * A page of the arena is named by an {@code int}, not by an object, so that nothing on the
 * heap exists per page at rest (DESIGN.md, Memory).
 *
 * <pre>
 *  page id = chunk id * pagesPerChunk + index        index = page's position in its chunk
 *
 *  chunk 0                 chunk 1                 chunk 2
 *  +---+---+-- ... --+     +---+---+-- ... --+     +---+-- ...
 *  | 0 | 1 |         |     |512|513|         |     |1024|        (2 MiB chunks: 512 pages)
 *  +---+---+-- ... --+     +---+---+-- ... --+     +---+-- ...
 * </pre>
 *
 * <p>Ids are dense whatever the chunk size, so the limit is on pages, not on chunks: page ids
 * are non-negative ints, at most 2^31 pages = 8 TiB of pool. The arena refuses a chunk whose
 * ids would pass that ({@link PageArena}), as it refuses one the JVM has no memory for.
 *
 * <p>Chunk ids are reused after a chunk is released, so a page id says nothing about which
 * {@link Chunk} object holds it unless the holder got the id in a grant from the arena
 * ({@link PageArena.Granted} carries the chunks of the pages it grants, and a page's chunk
 * cannot be released while the page is granted).
 */
public final class PageId {
  public static final int PAGE_SIZE = 4096;
  public static final int PAGE_SHIFT = 12;
  /** Page ids are 0 .. MAX_PAGES - 1: 2^31 pages of 4 KiB, 8 TiB. */
  public static final long MAX_PAGES = 1L << 31;

  private PageId() {}

  static int of(int chunkId, int index, int pagesPerChunk) {
    return chunkId * pagesPerChunk + index;
  }

  /** The id of the chunk that holds page {@code pageId}. */
  public static int chunkId(int pageId, int pagesPerChunk) {
    return pageId / pagesPerChunk;
  }

  /** The page's position inside its chunk. */
  public static int index(int pageId, int pagesPerChunk) {
    return pageId % pagesPerChunk;
  }

  /** How many chunks of {@code pagesPerChunk} pages fit in the id space. */
  static int maxChunks(int pagesPerChunk) {
    return (int) (MAX_PAGES / pagesPerChunk);
  }
}
