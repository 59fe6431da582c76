package io.zswapd.actors.pool;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * zsmalloc's size-class geometry.
 *
 * <p>Objects are rounded up to a class size: 32 bytes, then every 16 bytes ({@link #DELTA})
 * up to the page size, 255 sizes in all. The delta is the trade-off zsmalloc names: more
 * classes waste more partly-used zspages, fewer classes waste more bytes inside each object
 * (on average delta/2 per object).
 *
 * <p>A zspage is 1..{@code maxPagesPerZspage} pages. For each size the page count with the
 * highest usage (least waste at the zspage's end) is chosen, as in zsmalloc's
 * {@code get_pages_per_zspage}. A 3,000-byte object wastes 1,096 bytes of a single page, but
 * four pages hold five objects with only 1,384 bytes left over. On a tie zsmalloc takes the
 * fewest pages; here the fewest that hold at least {@link #TIE_MIN_OBJECTS} objects, because
 * each zspage costs heap (about 10 bytes whatever its page count, see {@code ZsPages}) that
 * its objects share: a 2,048-byte class in one-page zspages spends 5 bytes of heap per object,
 * in four-page zspages 1.2, and wastes no more off-heap memory.
 *
 * <p>Objects may straddle the boundary between two pages of a zspage; readers and writers
 * copy the two parts.
 *
 * <p>Sizes whose geometry is identical (same pages per zspage and objects per zspage) are
 * merged into the larger one, as zsmalloc merges classes: two such classes would waste the
 * same memory while fragmenting it over twice the zspages.
 *
 * <p>A class with one object per zspage is "huge": from {@link #hugeThreshold()} up,
 * compression saves nothing in the pool, so such pages are stored raw (zram stores the
 * uncompressed page when the compressed length reaches {@code huge_class_size}).
 */
public final class PoolGeometry {
  public static final int PAGE_SIZE = 4096;
  public static final int MIN_SIZE = 32;
  public static final int DELTA = 16;
  private static final int SIZES = (PAGE_SIZE - MIN_SIZE) / DELTA + 1;

  private final int maxPagesPerZspage;
  private final List<ClassGeometry> classes;
  private final int[] classBySizeIndex;
  private final int hugeThreshold;

  private PoolGeometry(int maxPagesPerZspage) {
    this.maxPagesPerZspage = maxPagesPerZspage;
    int[] pages = new int[SIZES];
    int[] objs = new int[SIZES];
    for (int i = 0; i < SIZES; i++) {
      int size = sizeOf(i);
      pages[i] = bestPagesPerZspage(size, maxPagesPerZspage);
      objs[i] = pages[i] * PAGE_SIZE / size;
    }
    // Merge from the top: a size joins the class above it when the geometry is the same.
    int[] mergedInto = new int[SIZES];
    List<Integer> representatives = new ArrayList<>();
    int huge = PAGE_SIZE;
    for (int i = SIZES - 1; i >= 0; i--) {
      int last = representatives.isEmpty() ? -1 : representatives.get(representatives.size() - 1);
      if (last >= 0 && pages[last] == pages[i] && objs[last] == objs[i]) {
        mergedInto[i] = last;
      } else {
        representatives.add(i);
        mergedInto[i] = i;
      }
      if (objs[i] == 1) {
        huge = sizeOf(i) - DELTA + 1; // lengths from here up round to a huge class
      }
    }
    Collections.reverse(representatives);
    List<ClassGeometry> list = new ArrayList<>();
    int[] classOfRep = new int[SIZES];
    for (int rep : representatives) {
      classOfRep[rep] = list.size();
      list.add(new ClassGeometry(list.size(), sizeOf(rep), pages[rep], objs[rep]));
    }
    this.classes = List.copyOf(list);
    this.classBySizeIndex = new int[SIZES];
    for (int i = 0; i < SIZES; i++) {
      classBySizeIndex[i] = classOfRep[mergedInto[i]];
    }
    this.hugeThreshold = huge;
  }

  public static PoolGeometry of(int maxPagesPerZspage) {
    if (maxPagesPerZspage < 1 || maxPagesPerZspage > 16) {
      throw new IllegalArgumentException("max-pages-per-zspage must be 1..16, got " + maxPagesPerZspage);
    }
    return new PoolGeometry(maxPagesPerZspage);
  }

  static int sizeOf(int sizeIndex) {
    return MIN_SIZE + sizeIndex * DELTA;
  }

  /** On a tie of usage, a zspage should hold at least this many objects to share its heap metadata. */
  static final int TIE_MIN_OBJECTS = 8;

  /**
   * The page count with the highest usage (objects' bytes / zspage bytes); on a tie the first
   * that holds {@link #TIE_MIN_OBJECTS} objects, else the first (and always the first for
   * sizes over half a page, which stay huge).
   */
  static int bestPagesPerZspage(int size, int maxPages) {
    int best = 1;
    long bestUsed = PAGE_SIZE / size * (long) size;
    for (int p = 2; p <= maxPages; p++) {
      long bytes = (long) p * PAGE_SIZE;
      long used = bytes / size * size;
      boolean better = used * best > bestUsed * p; // used/p > bestUsed/best, in integers
      // Never for sizes above half a page: one object per page is what makes a class huge.
      boolean tieWithFewObjects = used * best == bestUsed * p && bestUsed / size < TIE_MIN_OBJECTS
          && PAGE_SIZE / size >= 2;
      if (better || tieWithFewObjects) {
        best = p;
        bestUsed = used;
      }
    }
    return best;
  }

  public List<ClassGeometry> classes() {
    return classes;
  }

  public int maxPagesPerZspage() {
    return maxPagesPerZspage;
  }

  /** The class that holds an object of {@code length} bytes (1..4096). */
  public ClassGeometry classFor(int length) {
    if (length < 1 || length > PAGE_SIZE) {
      throw new IllegalArgumentException("object length " + length + " outside 1.." + PAGE_SIZE);
    }
    int sizeIndex = length <= MIN_SIZE ? 0 : (length - MIN_SIZE + DELTA - 1) / DELTA;
    return classes.get(classBySizeIndex[sizeIndex]);
  }

  /**
   * Compressed lengths from this one up would land in a one-object-per-page class, so they are
   * stored raw instead (zram compares with zsmalloc's {@code huge_class_size}); 3265 with
   * 4-page zspages, as in the kernel.
   */
  public int hugeThreshold() {
    return hugeThreshold;
  }
}
