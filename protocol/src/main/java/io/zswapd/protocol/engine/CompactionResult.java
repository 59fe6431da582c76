package io.zswapd.protocol.engine;

/** What one compaction run achieved: pages handed back to the arena and objects moved. */
public record CompactionResult(long pagesFreed, long objectsMoved) {}
