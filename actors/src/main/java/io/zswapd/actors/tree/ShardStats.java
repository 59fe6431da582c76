package io.zswapd.actors.tree;

/** One shard's counters; a swap type sums its shards' into an {@code ExportStats}. */
record ShardStats(long storedPages, long samePages, long hugePages, long comprBytes, long duplicateEntry,
    long rejectCompressPoor, long rejectAllocFail, long invalidatedPages, long loads, long stores,
    long writtenBackPages, long writebacks, long loadsFromBacking, long writeErrors, long readErrors,
    long backingFull, long recompressedPages, long recompressedBytes, long recompressions, long recompressKept,
    long recompressFailed, long recompressBytesSaved) {

  static final ShardStats ZERO = new ShardStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

  ShardStats plus(ShardStats o) {
    return new ShardStats(storedPages + o.storedPages, samePages + o.samePages, hugePages + o.hugePages,
        comprBytes + o.comprBytes, duplicateEntry + o.duplicateEntry, rejectCompressPoor + o.rejectCompressPoor,
        rejectAllocFail + o.rejectAllocFail, invalidatedPages + o.invalidatedPages, loads + o.loads,
        stores + o.stores, writtenBackPages + o.writtenBackPages, writebacks + o.writebacks,
        loadsFromBacking + o.loadsFromBacking, writeErrors + o.writeErrors, readErrors + o.readErrors,
        backingFull + o.backingFull, recompressedPages + o.recompressedPages, recompressedBytes + o.recompressedBytes,
        recompressions + o.recompressions, recompressKept + o.recompressKept, recompressFailed + o.recompressFailed,
        recompressBytesSaved + o.recompressBytesSaved);
  }
}
