package io.zswapd.protocol.engine;

/**
 * Counters of one export, named as zram's {@code mm_stat} and zswap's debugfs name them.
 *
 * @param storedPages        pages held (compressed, huge or same-filled): zswap {@code stored_pages}
 * @param origDataSize       bytes those pages would take uncompressed: zram {@code orig_data_size}
 * @param comprDataSize      compressed bytes held (huge pages count 4096): zram {@code compr_data_size}
 * @param samePages          pages kept as one repeated word, no allocation: zram {@code same_pages}
 * @param hugePages          pages kept raw because they did not compress: zram {@code huge_pages}
 * @param duplicateEntry     stores that replaced a page already held: zswap {@code duplicate_entry}
 * @param rejectCompressPoor pages that compressed too poorly to pack (stored raw): zswap {@code reject_compress_poor}
 * @param rejectAllocFail    stores refused because the pool could not allocate: zswap {@code reject_alloc_fail}
 * @param invalidatedPages   pages freed by invalidate, trim or swapoff (cumulative)
 * @param loads              page loads served (cumulative)
 * @param stores             page stores accepted (cumulative)
 * @param backing            writeback and backing-file figures ({@link BackingFigures#NONE} without a backing file)
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
    BackingFigures backing) {}
