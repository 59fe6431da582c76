package io.zswapd.actors.arena;

/**
 * The arena's figures at one moment. All page counts are 4 KiB pages.
 *
 * @param bytesResident  off-heap bytes the OS holds memory for: pages in use and free pages not
 *                       yet discarded (all of every chunk with direct buffers)
 * @param pagesDiscarded free pages given back inside chunks since start (mmap chunks only)
 * @param memoryKind     "mmap" or "direct" ({@link ChunkMemory#kind()})
 * @param acceptBelowBytes once the limit was hit, stores are accepted again below this
 *                       ({@code pool.accept-threshold} of the limit, as set now)
 */
public record ArenaStats(
    long pagesInUse,
    long maxPagesInUse,
    long chunksHeld,
    long bytesHeld,
    long chunksAllocated,
    long chunksReleased,
    long poolLimitHit,
    long limitBytes,
    boolean limitHit,
    long rejectReclaimFail,
    long bytesResident,
    long pagesDiscarded,
    String memoryKind,
    long acceptBelowBytes) {}
