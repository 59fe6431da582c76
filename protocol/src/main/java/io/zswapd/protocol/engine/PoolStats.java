package io.zswapd.protocol.engine;

/**
 * Pool-wide counters: the memory side of zram's {@code mm_stat} and zswap's pool figures.
 *
 * @param memUsedTotal     bytes of pages the pool holds for compressed data: zram {@code mem_used_total}
 * @param memLimit         the configured limit in bytes: zram {@code mem_limit}, zswap max_pool_percent
 * @param memUsedMax       the highest {@code memUsedTotal} seen: zram {@code mem_used_max}
 * @param pagesCompacted   pages given back by compaction (cumulative): zram {@code pages_compacted}
 * @param poolLimitHit     times the limit refused an allocation: zswap {@code pool_limit_hit}
 * @param arenaPagesInUse  arena pages handed to size classes (in zspages or in class reserves)
 * @param arenaChunksHeld  off-heap chunks currently allocated
 * @param arenaBytesHeld   bytes of off-heap memory currently allocated (chunks x chunk size)
 * @param chunksReleased   chunks returned to the OS (cumulative)
 * @param handlesInUse     live object handles across all size classes
 * @param rejectReclaimFail stores the full pool refused because writeback could not make room in
 *                         time (with a backing file they went to the file): zswap {@code reject_reclaim_fail}
 * @param pagesMigrated    zspage pages copied out of sparse chunks by page migration (cumulative), so
 *                         that those chunks could go back to the OS; as the kernel's {@code pgmigrate_success}
 * @param zspagesIsolated  zspages isolated for migration right now (0 at rest): zsmalloc's {@code isolated}
 * @param chunksAllocated  off-heap chunks taken from the OS (cumulative); held = allocated - released
 * @param arenaBytesResident off-heap bytes the OS holds memory for: pages in use plus free pages not
 *                         yet given back (with direct buffers, every chunk in full); the pool's share of RSS
 * @param pagesDiscarded   free pages inside chunks given back to the OS (cumulative; mmap chunks only):
 *                         as the kernel's {@code pgfree} for zsmalloc's pages
 * @param offHeap          where chunks come from: "mmap" or "direct" ({@code zswapd.pool.off-heap})
 * @param acceptBelow      bytes below which a pool that hit its limit accepts stores again:
 *                         {@code pool.accept-threshold} of {@code memLimit}, as set now
 */
public record PoolStats(
    long memUsedTotal,
    long memLimit,
    long memUsedMax,
    long pagesCompacted,
    long poolLimitHit,
    long arenaPagesInUse,
    long arenaChunksHeld,
    long arenaBytesHeld,
    long chunksReleased,
    long handlesInUse,
    long rejectReclaimFail,
    long pagesMigrated,
    long zspagesIsolated,
    long chunksAllocated,
    long arenaBytesResident,
    long pagesDiscarded,
    String offHeap,
    long acceptBelow) {}
