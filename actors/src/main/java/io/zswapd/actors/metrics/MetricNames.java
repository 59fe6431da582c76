package io.zswapd.actors.metrics;

/**
 * The names zswapd gives its Kamon instruments, and the tags they carry.
 *
 * <p>Kamon's Prometheus reporter turns a name into the scraped one by appending the unit
 * ({@code _bytes} for information, {@code _seconds} for time, converted) and, for counters,
 * {@code _total}. So {@code zswapd_orig_data_size} with unit bytes is scraped as
 * {@code zswapd_orig_data_size_bytes}, and the counter {@code zswapd_pool_limit_hit} as
 * {@code zswapd_pool_limit_hit_total}. docs/METRICS.md lists every scraped name.
 */
public final class MetricNames {
  private MetricNames() {}

  /** Tag: the actor system the engine runs in, so several engines in one JVM do not mix. */
  public static final String ENGINE = "engine";
  /** Tag: the export (or {@code overflow:<namespace>}). */
  public static final String EXPORT = "export";
  /** Tag: the codec of the pool ({@code lz4}, {@code lz4hc}, {@code zstd}). */
  public static final String COMPRESSOR = "compressor";
  /** Tag: a size class's object size in bytes. */
  public static final String SIZE_CLASS = "size_class";
  /** Tag: a zsmalloc fullness group, 0 (empty) .. 11 (full). */
  public static final String FULLNESS = "fullness";

  // ---- per export: zram mm_stat, zswap debugfs ----
  public static final String ORIG_DATA_SIZE = "zswapd_orig_data_size";
  public static final String COMPR_DATA_SIZE = "zswapd_compr_data_size";
  public static final String COMPRESSION_RATIO = "zswapd_compression_ratio";
  public static final String STORED_PAGES = "zswapd_stored_pages";
  public static final String SAME_PAGES = "zswapd_same_pages";
  public static final String HUGE_PAGES = "zswapd_huge_pages";
  public static final String DUPLICATE_ENTRY = "zswapd_duplicate_entry";
  public static final String REJECT_COMPRESS_POOR = "zswapd_reject_compress_poor";
  public static final String REJECT_ALLOC_FAIL = "zswapd_reject_alloc_fail";
  public static final String INVALIDATED_PAGES = "zswapd_invalidated_pages";
  public static final String LOADS = "zswapd_loads";
  public static final String STORES = "zswapd_stores";

  // ---- per export: writeback and the backing file (zswap written_back_pages, zram bd_stat) ----
  public static final String WRITTEN_BACK_PAGES = "zswapd_written_back_pages";
  public static final String BACKING_PAGES = "zswapd_backing_pages";
  public static final String BACKING_LOADS = "zswapd_backing_loads";
  public static final String BACKING_WRITE_ERRORS = "zswapd_backing_write_errors";
  public static final String BACKING_READ_ERRORS = "zswapd_backing_read_errors";
  public static final String BACKING_CORRUPT_READS = "zswapd_backing_corrupt_reads";
  public static final String BACKING_FULL = "zswapd_backing_full";
  public static final String BACKING_USED = "zswapd_backing_used";
  public static final String BACKING_FILE = "zswapd_backing_file";
  public static final String BACKING_READS = "zswapd_backing_reads";
  public static final String BACKING_WRITES = "zswapd_backing_writes";

  // ---- per export: recompression with the second codec (zram recompress) ----
  public static final String RECOMPRESSED_PAGES = "zswapd_recompressed_pages";
  public static final String RECOMPRESSED_BYTES = "zswapd_recompressed";
  public static final String RECOMPRESSIONS = "zswapd_recompressions";
  public static final String RECOMPRESS_KEPT = "zswapd_recompress_kept";
  public static final String RECOMPRESS_FAILED = "zswapd_recompress_failed";
  public static final String RECOMPRESS_SAVED = "zswapd_recompress_saved";

  // ---- pool ----
  public static final String MEM_USED_TOTAL = "zswapd_mem_used_total";
  public static final String MEM_LIMIT = "zswapd_mem_limit";
  public static final String MEM_USED_MAX = "zswapd_mem_used_max";
  public static final String PAGES_COMPACTED = "zswapd_pages_compacted";
  public static final String POOL_LIMIT_HIT = "zswapd_pool_limit_hit";
  public static final String REJECT_RECLAIM_FAIL = "zswapd_reject_reclaim_fail";
  public static final String ARENA_PAGES = "zswapd_arena_pages";
  public static final String ARENA_CHUNKS = "zswapd_arena_chunks";
  public static final String ARENA_HELD = "zswapd_arena_held";
  public static final String ARENA_RESIDENT = "zswapd_arena_resident";
  public static final String ARENA_PAGES_DISCARDED = "zswapd_arena_pages_discarded";
  public static final String ARENA_CHUNKS_RELEASED = "zswapd_arena_chunks_released";
  public static final String ARENA_CHUNKS_ALLOCATED = "zswapd_arena_chunks_allocated";
  public static final String PAGES_MIGRATED = "zswapd_pages_migrated";
  public static final String ZSPAGES_ISOLATED = "zswapd_zspages_isolated";
  public static final String HANDLES = "zswapd_handles";
  public static final String ZSPAGES_BY_FULLNESS = "zswapd_zspages_by_fullness";

  // ---- per size class (zsmalloc debugfs classes) ----
  public static final String CLASS_OBJS_ALLOCATED = "zswapd_class_objs_allocated";
  public static final String CLASS_OBJS_USED = "zswapd_class_objs_used";
  public static final String CLASS_ZSPAGES = "zswapd_class_zspages";
  public static final String CLASS_PAGES_USED = "zswapd_class_pages_used";
  public static final String CLASS_PAGES_COMPACTED = "zswapd_class_pages_compacted";

  // ---- distributions, recorded as requests complete ----
  public static final String STORE_LATENCY = "zswapd_store_latency";
  public static final String LOAD_LATENCY = "zswapd_load_latency";
  public static final String WRITEBACK_LATENCY = "zswapd_writeback_latency";
  public static final String COMPRESSED_SIZE = "zswapd_compressed_size";

  // memory nodes (zswapd.cluster): the front's view of its exports' remote shards
  /** The memory node ({@code host:port}) a remote shard lives on. */
  public static final String NODE = "node";
  /** {@code sent} or {@code received}. */
  public static final String DIRECTION = "direction";
  public static final String REMOTE_SHARDS = "zswapd_remote_shards";
  public static final String REMOTE_STORED_PAGES = "zswapd_remote_stored_pages";
  public static final String REMOTE_COMPR_DATA_SIZE = "zswapd_remote_compr_data_size";
  public static final String REMOTE_BATCH_LATENCY = "zswapd_remote_batch_latency";
  public static final String REMOTE_MESSAGE_BYTES = "zswapd_remote_messages";
  public static final String REMOTE_PAGES_LOST = "zswapd_remote_pages_lost";
  public static final String REMOTE_PAGES_RESTORED = "zswapd_remote_pages_restored";
  public static final String REMOTE_PAGES_TO_FILE = "zswapd_remote_pages_to_file";
  public static final String CLUSTER_MESSAGE_BYTES = "zswapd_cluster_messages";
}
