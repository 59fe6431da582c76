package io.zswapd.actors.pool;

import java.util.Arrays;

/** A growable stack of ints (grown by 1.5x): free handle slots and free zspage ids, without boxing. */
final class IntStack {
  private int[] items = new int[16];
  private int size;

  void push(int v) {
    if (size == items.length) {
      items = Arrays.copyOf(items, size + (size >> 1));
    }
    items[size++] = v;
  }

  int pop() {
    return items[--size];
  }

  boolean isEmpty() {
    return size == 0;
  }

  int size() {
    return size;
  }
}
