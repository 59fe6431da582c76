package io.zswapd.actors.tree;

import io.zswapd.protocol.engine.RemoteShardFigures;

/**
 * One shard's counters; a swap type sums its shards' into an {@code ExportStats}. {@code remote}
 * is a remote shard's own figures (where it lives, what talking to it cost), null for a shard in
 * this engine's pool.
 */
public record ShardStats(long storedPages, long samePages, long hugePages, long comprBytes, long duplicateEntry,
    long rejectCompressPoor, long rejectAllocFail, long invalidatedPages, long loads, long stores,
    long writtenBackPages, long writebacks, long loadsFromBacking, long writeErrors, long readErrors,
    long backingFull, long recompressedPages, long recompressedBytes, long recompressions, long recompressKept,
    long recompressFailed, long recompressBytesSaved, RemoteShardFigures remote) {

  /** A local shard's counters (no memory node). */
  public ShardStats(long storedPages, long samePages, long hugePages, long comprBytes, long duplicateEntry,
      long rejectCompressPoor, long rejectAllocFail, long invalidatedPages, long loads, long stores,
      long writtenBackPages, long writebacks, long loadsFromBacking, long writeErrors, long readErrors,
      long backingFull, long recompressedPages, long recompressedBytes, long recompressions, long recompressKept,
      long recompressFailed, long recompressBytesSaved) {
    this(storedPages, samePages, hugePages, comprBytes, duplicateEntry, rejectCompressPoor, rejectAllocFail,
        invalidatedPages, loads, stores, writtenBackPages, writebacks, loadsFromBacking, writeErrors, readErrors,
        backingFull, recompressedPages, recompressedBytes, recompressions, recompressKept, recompressFailed,
        recompressBytesSaved, null);
  }

  /** These counters, of a remote shard whose own figures are {@code remote}. */
  ShardStats withRemote(RemoteShardFigures remote) {
    return new ShardStats(storedPages, samePages, hugePages, comprBytes, duplicateEntry, rejectCompressPoor,
        rejectAllocFail, invalidatedPages, loads, stores, writtenBackPages, writebacks, loadsFromBacking, writeErrors,
        readErrors, backingFull, recompressedPages, recompressedBytes, recompressions, recompressKept,
        recompressFailed, recompressBytesSaved, remote);
  }

  /** Figures per shard: the length of {@link #toArray()}. */
  public static final int FIGURES = 22;

  public static final ShardStats ZERO = new ShardStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

  /** Every figure in declaration order (how a memory node sends them to the front). */
  public long[] toArray() {
    return new long[] {storedPages, samePages, hugePages, comprBytes, duplicateEntry, rejectCompressPoor,
        rejectAllocFail, invalidatedPages, loads, stores, writtenBackPages, writebacks, loadsFromBacking, writeErrors,
        readErrors, backingFull, recompressedPages, recompressedBytes, recompressions, recompressKept,
        recompressFailed, recompressBytesSaved};
  }

  /** The figures of {@link #toArray()} again. */
  public static ShardStats of(long[] f) {
    if (f.length != FIGURES) {
      throw new IllegalArgumentException("shard stats carry " + FIGURES + " figures, got " + f.length);
    }
    return new ShardStats(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12], f[13],
        f[14], f[15], f[16], f[17], f[18], f[19], f[20], f[21]);
  }

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
