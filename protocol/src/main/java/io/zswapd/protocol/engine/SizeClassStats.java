package io.zswapd.protocol.engine;

import java.util.List;

/**
 * One size class, as zsmalloc's debugfs {@code classes} file shows it.
 *
 * @param size             object size in bytes (the largest size the class serves)
 * @param pagesPerZspage   pages making up one zspage
 * @param objsPerZspage    objects that fit in one zspage
 * @param objsAllocated    object slots in all of the class's zspages
 * @param objsUsed         slots holding a live object
 * @param zspages          zspages held
 * @param pagesUsed        pages held in zspages
 * @param zspagesByFullness zspages per fullness group: index 0 empty, 1..10 the tenths, 11 full
 * @param pagesCompacted   pages this class gave back through compaction (cumulative)
 * @param pagesMigrated    pages of its zspages moved to another chunk by page migration (cumulative)
 * @param zspagesIsolated  zspages isolated for migration right now: zsmalloc's {@code class->isolated}
 * @param zspagesListed    zspages whose pages are not one run of consecutive arena pages, so
 *                         their page ids are listed on the heap (4 bytes a page more than a run)
 */
public record SizeClassStats(
    int size,
    int pagesPerZspage,
    int objsPerZspage,
    long objsAllocated,
    long objsUsed,
    long zspages,
    long pagesUsed,
    List<Long> zspagesByFullness,
    long pagesCompacted,
    long pagesMigrated,
    long zspagesIsolated,
    long zspagesListed) {
  public SizeClassStats {
    zspagesByFullness = List.copyOf(zspagesByFullness);
  }
}
