package io.zswapd.protocol.engine;

/**
 * An export's writeback and backing-file figures: zswap's {@code written_back_pages} and
 * zram's {@code bd_stat}. All zero for an export without a backing file.
 *
 * @param writtenBackPages pages now held only in the backing file (zram bd_count, in pages)
 * @param writebacks       pages written back over time (zswap {@code written_back_pages} counter)
 * @param loadsFromBacking loads served by reading the backing file
 * @param writeErrors      backing-file writes that failed; the page stayed in memory
 * @param readErrors       backing-file reads that failed; that load got an I/O error
 * @param corruptReads     of those, reads whose bytes did not match their slot's checksum (no zram
 *                         counterpart: zram keeps no checksum)
 * @param backingFull      writes refused because the backing file was full
 * @param bytesUsed        backing-file bytes holding pages (packed, 64-byte units)
 * @param fileBytes        high-water mark of the file
 * @param reads            backing-file reads (zram bd_reads, one per page)
 * @param writes           backing-file writes (zram bd_writes, one per page)
 */
public record BackingFigures(long writtenBackPages, long writebacks, long loadsFromBacking, long writeErrors,
    long readErrors, long corruptReads, long backingFull, long bytesUsed, long fileBytes, long reads, long writes) {

  public static final BackingFigures NONE = new BackingFigures(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

  /** Backing bytes per written-back page (zram spends 4096). */
  public double bytesPerPage() {
    return writtenBackPages == 0 ? 0 : (double) bytesUsed / writtenBackPages;
  }
}
