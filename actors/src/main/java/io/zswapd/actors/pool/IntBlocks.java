package io.zswapd.actors.pool;

import java.util.Arrays;

/**
 * A growable int array kept as blocks of {@code 1 << shift} ints: growing adds a block and
 * copies nothing, and at most one block is slack. A size class's handle table and its
 * zspages' page ids and states are such arrays: at a few bytes per stored object, an array
 * grown by copying carries up to a quarter of it as slack (1.5x growth), or an eighth
 * (1.125x), and copies it each time.
 *
 * <pre>
 *  index i  ->  blocks[i >>> shift][i & ((1 << shift) - 1)]
 * </pre>
 * Owned by one actor.
 */
final class IntBlocks {
  private final int shift;
  private final int mask;
  private int[][] blocks = new int[0][];
  private int capacity;
  private final int fill;

  /** Every slot of a new block of {@code 1 << shift} ints starts as {@code fill}. */
  IntBlocks(int fill, int shift) {
    this.fill = fill;
    this.shift = shift;
    this.mask = (1 << shift) - 1;
  }

  int get(int i) {
    return blocks[i >>> shift][i & mask];
  }

  void set(int i, int value) {
    blocks[i >>> shift][i & mask] = value;
  }

  int capacity() {
    return capacity;
  }

  /** Makes indexes {@code 0..n-1} valid. */
  void ensure(int n) {
    while (capacity < n) {
      int b = capacity >>> shift;
      if (b == blocks.length) {
        blocks = Arrays.copyOf(blocks, Math.max(4, b * 2));
      }
      int[] block = new int[mask + 1];
      if (fill != 0) {
        Arrays.fill(block, fill);
      }
      blocks[b] = block;
      capacity += mask + 1;
    }
  }
}
