package io.zswapd.protocol.engine;

/**
 * An export's recompression figures (zram's {@code recompress}). All zero, with an empty
 * codec name, for an export without a {@code recompressor}.
 *
 * @param codec          the second codec and its level, as {@code zstd:12}; empty without one
 * @param pages          pages in memory now held by the second codec (a gauge); the others in the
 *                       pool are the pool compressor's, or raw
 * @param bytes          stored bytes of those pages (a gauge; part of {@code compr_data_size})
 * @param recompressions pages recompressed over time
 * @param kept           pages whose recompression did not pay, over time (zram's rule: the
 *                       smaller copy must fall in a smaller size class and save {@code min-saving})
 * @param failed         recompressions that failed (the bytes did not decompress, or no room), over time
 * @param bytesSaved     stored bytes recompressions saved, over time
 */
public record RecompressFigures(String codec, long pages, long bytes, long recompressions, long kept, long failed,
    long bytesSaved) {

  public static final RecompressFigures NONE = new RecompressFigures("", 0, 0, 0, 0, 0, 0);
}
