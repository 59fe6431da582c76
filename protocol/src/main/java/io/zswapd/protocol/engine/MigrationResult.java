package io.zswapd.protocol.engine;

/**
 * What one on-demand run of the migration worker achieved ({@link EngineCommand.Migrate}).
 *
 * @param pagesCompacted pages compaction gave back to the arena
 * @param pagesMigrated  zspage pages copied out of sparse chunks
 * @param chunksReleased off-heap chunks given back to the OS during the run
 * @param chunksHeld     off-heap chunks still held when it finished
 */
public record MigrationResult(long pagesCompacted, long pagesMigrated, long chunksReleased, long chunksHeld) {}
