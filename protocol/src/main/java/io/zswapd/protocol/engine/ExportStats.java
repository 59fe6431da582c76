package io.zswapd.protocol.engine;

/**
 * Counters of one export, named as zram's {@code mm_stat} and zswap's debugfs name them.
 *
 * <p><b>Which pages each figure counts.</b> The memory figures ({@code storedPages},
 * {@code origDataSize}, {@code comprDataSize}, {@code samePages}, {@code hugePages} and so
 * {@link #compressionRatio()}) count the pages held in memory only: in the pool, or same-filled
 * in their entry. A page written back to the backing file leaves all of them and is counted in
 * {@link BackingFigures#writtenBackPages()} (zram's {@code bd_count}) instead; the export holds
 * {@code storedPages + backing().writtenBackPages()} pages in all. zswap counts the same way
 * (a written-back page leaves zswap). zram does not: it keeps a written-back page in
 * {@code pages_stored}, so in {@code orig_data_size}, but takes its bytes out of
 * {@code compr_data_size}, and the ratio of the two grows with every page written back.
 *
 * @param storedPages        pages held in memory (compressed, huge or same-filled): zswap {@code stored_pages}
 * @param origDataSize       bytes those pages would take uncompressed, {@code storedPages} x 4096: zram
 *                           {@code orig_data_size}, without the written-back pages zram counts there
 * @param comprDataSize      compressed bytes in the pool (huge pages count 4096): zram {@code compr_data_size}
 * @param samePages          pages kept as one repeated word, no allocation: zram {@code same_pages}
 * @param hugePages          pages kept raw because they did not compress: zram {@code huge_pages}
 * @param duplicateEntry     stores that replaced a page already held: zswap {@code duplicate_entry}
 * @param rejectCompressPoor pages that compressed too poorly to pack (stored raw): zswap {@code reject_compress_poor}
 * @param rejectAllocFail    stores refused because the pool could not allocate: zswap {@code reject_alloc_fail}
 * @param invalidatedPages   pages freed by invalidate, trim or swapoff (cumulative)
 * @param loads              page loads served (cumulative)
 * @param stores             page stores accepted (cumulative)
 * @param backing            writeback and backing-file figures ({@link BackingFigures#NONE} without a backing file)
 * @param recompress         recompression figures ({@link RecompressFigures#NONE} without a recompressor)
 * @param remoteShards       for an export placed on the cluster: each of its shards, where it lives
 *                           and what it costs ({@link RemoteShardFigures}), by shard index; empty for an
 *                           export in this engine's pool
 */
public record ExportStats(
    String export,
    long storedPages,
    long origDataSize,
    long comprDataSize,
    long samePages,
    long hugePages,
    long duplicateEntry,
    long rejectCompressPoor,
    long rejectAllocFail,
    long invalidatedPages,
    long loads,
    long stores,
    BackingFigures backing,
    RecompressFigures recompress,
    java.util.List<RemoteShardFigures> remoteShards) {

  public ExportStats {
    remoteShards = remoteShards.stream()
        .sorted(java.util.Comparator.comparingLong(RemoteShardFigures::shard)).toList();
  }

  /** The figures of an export whose shards are all in this engine's pool. */
  public ExportStats(String export, long storedPages, long origDataSize, long comprDataSize, long samePages,
      long hugePages, long duplicateEntry, long rejectCompressPoor, long rejectAllocFail, long invalidatedPages,
      long loads, long stores, BackingFigures backing, RecompressFigures recompress) {
    this(export, storedPages, origDataSize, comprDataSize, samePages, hugePages, duplicateEntry, rejectCompressPoor,
        rejectAllocFail, invalidatedPages, loads, stores, backing, recompress, java.util.List.of());
  }

  /**
   * For an export placed on the cluster: how many of its shards each memory node holds
   * ({@code host:port}; "" for shards whose node is not known yet), in node order; empty for an
   * export in this engine's pool.
   */
  public java.util.SortedMap<String, Integer> shardsByNode() {
    java.util.SortedMap<String, Integer> byNode = new java.util.TreeMap<>();
    for (RemoteShardFigures r : remoteShards) {
      byNode.merge(r.node(), 1, Integer::sum);
    }
    return byNode;
  }

  /**
   * {@code origDataSize / comprDataSize}: how many bytes of pages each byte of the pool holds,
   * same-filled pages counting as pages that take no bytes (as zram counts them); 0 while the pool
   * holds no compressed byte. Both figures count the pages in memory only (see the class comment).
   */
  public double compressionRatio() {
    return comprDataSize == 0 ? 0 : (double) origDataSize / comprDataSize;
  }
}
