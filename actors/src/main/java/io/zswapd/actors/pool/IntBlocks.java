package io.zswapd.actors.pool;

import java.util.Arrays;

/**
 * A growable int array kept as blocks of {@value #BLOCK} ints: growing adds a block and
 * copies nothing, and at most one block is slack. A size class's handle table is one: at
 * 4 bytes per stored object, a table grown by copying carries up to a quarter of it as slack
 * (1.5x growth), or an eighth (1.125x), and copies it each time.
 *
 * <pre>
 *  index i  ->  blocks[i >>> 10][i & 1023]
 * </pre>
 * Owned by one actor.
 */
final class IntBlocks {
  static final int BLOCK = 1024;
  private static final int SHIFT = 10;
  private static final int MASK = BLOCK - 1;

  private int[][] blocks = new int[0][];
  private int capacity;
  private final int fill;

  /** Every slot of a new block starts as {@code fill}. */
  IntBlocks(int fill) {
    this.fill = fill;
  }

  int get(int i) {
    return blocks[i >>> SHIFT][i & MASK];
  }

  void set(int i, int value) {
    blocks[i >>> SHIFT][i & MASK] = value;
  }

  int capacity() {
    return capacity;
  }

  /** Makes indexes {@code 0..n-1} valid. */
  void ensure(int n) {
    while (capacity < n) {
      int b = capacity >>> SHIFT;
      if (b == blocks.length) {
        blocks = Arrays.copyOf(blocks, Math.max(4, b * 2));
      }
      int[] block = new int[BLOCK];
      if (fill != 0) {
        Arrays.fill(block, fill);
      }
      blocks[b] = block;
      capacity += BLOCK;
    }
  }
}
