package io.zswapd.actors.writeback;

/**
 * One backing store's figures at one moment, zram's {@code bd_stat} and more. zram counts in 4 KiB
 * blocks; here slots are packed, so sizes are in bytes and I/O in operations.
 *
 * @param slotsInUse    live slots (zram bd_count, in pages), including frees deferred behind a read
 * @param bytesInUse    bytes of the live slots (a page's bytes and their 4-byte checksum), each
 *                      rounded up to 64 bytes
 * @param fileEnd       one past the last live slot, rounded up to 64 bytes: how long the file
 *                      needs to be (it is never truncated, so it may be longer)
 * @param writes        writes completed (zram bd_writes)
 * @param reads         reads completed (zram bd_reads)
 * @param writeErrors   writes that failed on disk
 * @param readErrors    reads that failed on disk
 * @param corruptReads  reads whose bytes did not match their slot's checksum (answered as failed)
 * @param fullCount     writes refused because the file reached its capacity
 * @param capacityBytes the export's {@code backing-size}; {@link BackingStore#UNLIMITED} for none
 */
public record BackingStats(
    long slotsInUse,
    long bytesInUse,
    long fileEnd,
    long writes,
    long reads,
    long writeErrors,
    long readErrors,
    long corruptReads,
    long fullCount,
    long capacityBytes) {

  /** The figures of an export without a backing file. */
  public static final BackingStats EMPTY = new BackingStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}
