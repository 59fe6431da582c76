package io.zswapd.actors.migration;

import java.util.Arrays;

/**
 * The destination pages of one migration round, handed out a zspage's worth at a time: a run
 * of consecutive page ids when one is left, so that a zspage moved whole stays on a run and
 * keeps one page id on the heap, not one per page ({@code ZsPages}). Used by the
 * {@link MigrationWorker} only, on its thread.
 */
final class DestinationPages {
  private final int[] pages;
  private final boolean[] taken;
  private int left;
  /** No page below this index is left. */
  private int lowestLeft;

  DestinationPages(int[] granted) {
    this.pages = granted.clone();
    Arrays.sort(pages);
    this.taken = new boolean[pages.length];
    this.left = pages.length;
  }

  /** {@code n} pages: the lowest run of {@code n} consecutive ids left, else the lowest n left; null if fewer are left. */
  int[] take(int n) {
    if (n > left) {
      return null;
    }
    int[] out = new int[n];
    int start = lowestRun(n);
    if (start >= 0) {
      for (int k = 0; k < n; k++) {
        out[k] = pages[start + k];
        taken[start + k] = true;
      }
    } else {
      for (int i = lowestLeft, k = 0; k < n; i++) {
        if (!taken[i]) {
          out[k++] = pages[i];
          taken[i] = true;
        }
      }
    }
    left -= n;
    while (lowestLeft < pages.length && taken[lowestLeft]) {
      lowestLeft++;
    }
    return out;
  }

  /** Where the lowest run of {@code n} consecutive ids not yet taken starts in the sorted pages, or -1. */
  private int lowestRun(int n) {
    int runStart = -1;
    for (int i = lowestLeft; i < pages.length; i++) {
      if (taken[i]) {
        runStart = -1;
        continue;
      }
      if (runStart < 0 || pages[i] != pages[i - 1] + 1) {
        runStart = i;
      }
      if (i - runStart + 1 == n) {
        return runStart;
      }
    }
    return -1;
  }

  /** The pages no zspage took. */
  int[] rest() {
    int[] out = new int[left];
    for (int i = 0, k = 0; i < pages.length; i++) {
      if (!taken[i]) {
        out[k++] = pages[i];
      }
    }
    return out;
  }
}
