package io.zswapd.actors.tree;

/**
 * Where a run of consecutive pages must be cut so that every part is one tree shard's
 * ({@link TreeShard#PAGES} pages, aligned): a range store or load names one shard.
 *
 * <pre>{@code
 * for (int done = 0; done < count; ) {
 *   int n = ShardRanges.partLength(first + done, count - done);
 *   ... pages [first + done, first + done + n) ...
 *   done += n;
 * }
 * }</pre>
 */
public final class ShardRanges {
  private ShardRanges() {}

  /** How many parts pages [first, first + count) fall into (1 for a negative first: it is refused whole). */
  public static int partCount(long first, int count) {
    if (first < 0 || count <= 0) {
      return 1;
    }
    return (int) (((first + count - 1) >>> TreeShard.PAGES_SHIFT) - (first >>> TreeShard.PAGES_SHIFT) + 1);
  }

  /** Pages of the part that starts at {@code first}: up to the next shard boundary, at most {@code remaining}. */
  public static int partLength(long first, int remaining) {
    if (first < 0) {
      return remaining;
    }
    return (int) Math.min(remaining, TreeShard.PAGES - (first & (TreeShard.PAGES - 1)));
  }
}
