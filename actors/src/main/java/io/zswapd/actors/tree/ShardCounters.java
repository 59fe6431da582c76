package io.zswapd.actors.tree;

import io.zswapd.protocol.engine.PageImage;

/**
 * A tree shard's counters, kept apart from its logic. Gauges (pages held now) and cumulative
 * counts, with zram's and zswap's meanings; owned and mutated by one shard only.
 */
final class ShardCounters {
  long storedPages;      // gauge: entries that hold a page (pool, backing or same-filled); the
                         // export's stored_pages is this less writtenBackPages (SwapType)
  long samePages;        // gauge
  long hugePages;        // gauge: raw pages in the pool
  long comprBytes;       // gauge: compressed bytes in the pool
  long writtenBackPages; // gauge: pages only in the backing file
  long duplicateEntry;
  long rejectCompressPoor;
  long rejectAllocFail;
  long invalidatedPages;
  long loads;
  long stores;
  long writebacks;
  long loadsFromBacking;
  long writeErrors;
  long readErrors;
  long backingFull;
  long recompressedPages; // gauge: pages in the pool held by the export's second codec
  long recompressedBytes; // gauge: their stored bytes
  long recompressions;
  long recompressKept;
  long recompressFailed;
  long recompressBytesSaved;

  /** A page of {@code length} stored bytes entered the pool ({@code recompressed}: written by the second codec). */
  void addPooled(int length, boolean recompressed) {
    comprBytes += length;
    if (length == PageImage.PAGE_SIZE) {
      hugePages++;
    }
    if (recompressed) {
      recompressedPages++;
      recompressedBytes += length;
    }
  }

  /** A page of {@code length} stored bytes left the pool. */
  void removePooled(int length, boolean recompressed) {
    comprBytes -= length;
    if (length == PageImage.PAGE_SIZE) {
      hugePages--;
    }
    if (recompressed) {
      recompressedPages--;
      recompressedBytes -= length;
    }
  }

  ShardStats snapshot() {
    return new ShardStats(storedPages, samePages, hugePages, comprBytes, duplicateEntry, rejectCompressPoor,
        rejectAllocFail, invalidatedPages, loads, stores, writtenBackPages, writebacks, loadsFromBacking,
        writeErrors, readErrors, backingFull, recompressedPages, recompressedBytes, recompressions, recompressKept,
        recompressFailed, recompressBytesSaved);
  }

}
