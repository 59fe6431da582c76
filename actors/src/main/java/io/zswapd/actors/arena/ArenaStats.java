package io.zswapd.actors.arena;

/** The arena's figures at one moment. All page counts are 4 KiB pages. */
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
    long rejectReclaimFail) {}
