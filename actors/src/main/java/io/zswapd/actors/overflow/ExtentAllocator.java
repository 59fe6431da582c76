package io.zswapd.actors.overflow;

import java.util.Map;
import java.util.TreeMap;

/**
 * Hands out runs of page indexes in a namespace's page space: first fit from the free runs,
 * else from the end. Freed runs merge with their neighbours, and a free run that reaches the
 * end shrinks the end, so the page space (and with it the tree shards) stays about as large
 * as the live data. Owned by one {@link OverflowDirectory}.
 */
final class ExtentAllocator {
  private final TreeMap<Long, Long> free = new TreeMap<>(); // start -> length
  private long end;

  long allocate(long pages) {
    for (Map.Entry<Long, Long> run : free.entrySet()) {
      long start = run.getKey();
      long length = run.getValue(); // read before remove: TreeMap may reuse the entry's node
      if (length >= pages) {
        free.remove(start);
        if (length > pages) {
          free.put(start + pages, length - pages);
        }
        return start;
      }
    }
    long start = end;
    end += pages;
    return start;
  }

  void free(long start, long pages) {
    if (pages == 0) {
      return;
    }
    long s = start;
    long n = pages;
    Map.Entry<Long, Long> before = free.floorEntry(s);
    if (before != null && before.getKey() + before.getValue() == s) {
      free.remove(before.getKey());
      s = before.getKey();
      n += before.getValue();
    }
    Long afterLength = free.remove(s + n);
    if (afterLength != null) {
      n += afterLength;
    }
    if (s + n == end) {
      end = s;
    } else {
      free.put(s, n);
    }
  }

  /** One past the highest page in use. */
  long end() {
    return end;
  }

  int freeRuns() {
    return free.size();
  }
}
