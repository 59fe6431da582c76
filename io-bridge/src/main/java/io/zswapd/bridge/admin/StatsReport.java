package io.zswapd.bridge.admin;

import io.zswapd.config.LiveSetting;
import io.zswapd.config.RecompressSettings;
import io.zswapd.protocol.engine.BackingFigures;
import io.zswapd.protocol.engine.RecompressFigures;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.PoolStats;
import io.zswapd.protocol.engine.RemoteShardFigures;
import io.zswapd.protocol.engine.SizeClassStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@link EngineStats} as the text {@code zswapd stats} prints: the pool, then one block per export
 * grouped as zram groups its files ({@code mm_stat}, {@code io_stat}, {@code bd_stat}), with
 * zram's and zswap's names. One figure a line: the name, the exact value (bytes followed by {@code B}),
 * and for byte figures the human-readable size in parentheses, so people read the size and
 * scripts read the second column:
 *
 * <pre>
 * export swap0
 *   mm_stat
 *     orig_data_size                4194304 B  (4.0 MiB)
 *     compr_data_size               1230848 B  (1.2 MiB)
 *     compression_ratio                3.41  (orig_data_size / compr_data_size)
 * </pre>
 *
 * {@link #shards} is the table of {@code stats --shards}, one row per remote shard.
 * {@link #classes} is the size-class table of {@code stats --classes}, after zsmalloc's debugfs
 * {@code classes} file. Pure formatting: the CLI, the daemon and tests share it.
 */
public final class StatsReport {
  private static final String FIGURE = "%s%-22s %14s%s";

  private StatsReport() {}

  /** The pool and every export. */
  public static List<String> figures(EngineStats stats) {
    List<String> out = new ArrayList<>();
    PoolStats p = stats.pool();
    out.add("pool");
    out.add(bytes(1, "mem_used_total", p.memUsedTotal()));
    out.add(bytes(1, "mem_limit", p.memLimit()));
    out.add(bytes(1, "mem_used_max", p.memUsedMax()));
    out.add(count(1, "pages_compacted", p.pagesCompacted()));
    out.add(count(1, "pool_limit_hit", p.poolLimitHit()));
    out.add(count(1, "reject_reclaim_fail", p.rejectReclaimFail()));
    out.add(count(1, "handles_in_use", p.handlesInUse()));
    out.add(line(1, "off_heap", p.offHeap(), "  (zswapd.pool.off-heap in force)"));
    out.add(bytes(1, "arena_bytes_held", p.arenaBytesHeld()));
    out.add(bytes(1, "arena_bytes_resident", p.arenaBytesResident()));
    out.add(count(1, "pages_discarded", p.pagesDiscarded()));
    out.add(count(1, "arena_chunks_held", p.arenaChunksHeld()));
    out.add(count(1, "chunks_released", p.chunksReleased()));
    out.add(count(1, "pages_migrated", p.pagesMigrated()));
    for (ExportStats e : stats.exports()) {
      out.add("");
      out.addAll(export(e));
    }
    return out;
  }

  /** {@code recompress: idle-after 1h, huge off, threshold 0 B, min-saving 10%, max-rate 4096 pages/s}. */
  public static String recompressPolicy(RecompressSettings r) {
    return String.format(Locale.ROOT, "recompress: idle-after %s, huge %s, threshold %d B, min-saving %.0f%%, "
        + "max-rate %d pages/s", r.idleAfter().map(LiveSetting::duration).orElse("off"), r.huge() ? "on" : "off",
        r.threshold(), r.minSaving() * 100, r.maxRate());
  }

  /** One export's block. */
  public static List<String> export(ExportStats e) {
    List<String> out = new ArrayList<>();
    out.add("export " + e.export());
    out.add("  mm_stat");
    out.add(bytes(2, "orig_data_size", e.origDataSize()));
    out.add(bytes(2, "compr_data_size", e.comprDataSize()));
    out.add(line(2, "compression_ratio", ratio(e.origDataSize(), e.comprDataSize()),
        e.comprDataSize() == 0 ? "  (nothing compressed)" : "  (orig_data_size / compr_data_size)"));
    out.add(count(2, "stored_pages", e.storedPages()));
    out.add(count(2, "same_pages", e.samePages()));
    out.add(count(2, "huge_pages", e.hugePages()));
    out.add("  io_stat");
    out.add(count(2, "stores", e.stores()));
    out.add(count(2, "loads", e.loads()));
    out.add(count(2, "invalidated_pages", e.invalidatedPages()));
    out.add(count(2, "duplicate_entry", e.duplicateEntry()));
    out.add(count(2, "reject_compress_poor", e.rejectCompressPoor()));
    out.add(count(2, "reject_alloc_fail", e.rejectAllocFail()));
    BackingFigures b = e.backing();
    out.add("  bd_stat");
    out.add(count(2, "bd_count", b.writtenBackPages()));
    out.add(count(2, "bd_reads", b.reads()));
    out.add(count(2, "bd_writes", b.writes()));
    out.add(count(2, "written_back_pages", b.writebacks()));
    out.add(count(2, "loads_from_backing", b.loadsFromBacking()));
    out.add(bytes(2, "backing_bytes_used", b.bytesUsed()));
    out.add(bytes(2, "backing_file_bytes", b.fileBytes()));
    out.add(count(2, "write_errors", b.writeErrors()));
    out.add(count(2, "read_errors", b.readErrors()));
    out.add(count(2, "corrupt_reads", b.corruptReads()));
    out.add(count(2, "backing_full", b.backingFull()));
    if (!e.shardsByNode().isEmpty()) {
      out.add("  cluster_stat");
      int shards = e.shardsByNode().values().stream().mapToInt(Integer::intValue).sum();
      out.add(count(2, "remote_shards", shards));
      e.shardsByNode().forEach((node, n) -> out.add(line(2, "shards_on",
          Integer.toString(n), "  (" + (node.isEmpty() ? "no memory node yet" : node) + ")")));
    }
    RecompressFigures r = e.recompress();
    if (!r.codec().isEmpty()) {
      out.add("  recomp_stat (" + r.codec() + ")");
      out.add(line(2, "first_codec_pages", Long.toString(e.storedPages() - e.samePages() - e.hugePages() - r.pages()),
          "  (the pool's compressor wrote them; raw and same-filled pages apart)"));
      out.add(count(2, "recompressed_pages", r.pages()));
      out.add(bytes(2, "recompressed_bytes", r.bytes()));
      out.add(count(2, "recompressions", r.recompressions()));
      out.add(count(2, "recompress_kept", r.kept()));
      out.add(count(2, "recompress_failed", r.failed()));
      out.add(bytes(2, "recompress_bytes_saved", r.bytesSaved()));
    }
    return out;
  }

  /** The fullness columns: zspages with up to that share of their objects in use ({@code 99%}: not full). */
  private static final String[] FULLNESS = {"empty", "10%", "20%", "30%", "40%", "50%", "60%", "70%", "80%",
      "90%", "99%", "100%"};

  /**
   * One row per size class, as zsmalloc's {@code classes}: zspages per fullness group, object slots
   * allocated and used, pages used, pages per zspage and {@code freeable}, the pages compaction
   * could give back ((obj_allocated - obj_used) / objs_per_zspage whole zspages); then a total.
   */
  public static List<String> classes(EngineStats stats) {
    List<String> out = new ArrayList<>();
    StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%5s %5s", "class", "size"));
    for (String f : FULLNESS) {
      head.append(String.format(Locale.ROOT, " %6s", f));
    }
    head.append(String.format(Locale.ROOT, " %13s %10s %10s %16s %8s %15s", "obj_allocated", "obj_used",
        "pages_used", "pages_per_zspage", "freeable", "pages_compacted"));
    out.add(head.toString());
    long[] total = new long[FULLNESS.length];
    long allocated = 0;
    long used = 0;
    long pages = 0;
    long freeable = 0;
    long compacted = 0;
    List<SizeClassStats> classes = stats.classes();
    for (int i = 0; i < classes.size(); i++) {
      SizeClassStats c = classes.get(i);
      StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%5d %5d", i, c.size()));
      for (int g = 0; g < FULLNESS.length; g++) {
        long n = g < c.zspagesByFullness().size() ? c.zspagesByFullness().get(g) : 0;
        total[g] += n;
        row.append(String.format(Locale.ROOT, " %6d", n));
      }
      long free = freeable(c);
      row.append(String.format(Locale.ROOT, " %13d %10d %10d %16d %8d %15d", c.objsAllocated(), c.objsUsed(),
          c.pagesUsed(), c.pagesPerZspage(), free, c.pagesCompacted()));
      out.add(row.toString());
      allocated += c.objsAllocated();
      used += c.objsUsed();
      pages += c.pagesUsed();
      freeable += free;
      compacted += c.pagesCompacted();
    }
    StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-11s", "Total"));
    for (long n : total) {
      row.append(String.format(Locale.ROOT, " %6d", n));
    }
    row.append(String.format(Locale.ROOT, " %13d %10d %10d %16s %8d %15d", allocated, used, pages, "", freeable,
        compacted));
    out.add(row.toString());
    return out;
  }

  /**
   * One row per remote shard of the exports placed on the cluster ({@code stats --shards}), in
   * export and shard order: the memory node holding it ({@code -} while none is known), its pages
   * and compressed bytes there, the batches it accepted and their mean round trip, and the bytes
   * of messages the front sent it and received from it. Only the header when no export is placed
   * on the cluster.
   */
  public static List<String> shards(EngineStats stats) {
    String row = "%-16s %6s %-21s %12s %15s %9s %12s %14s %14s";
    List<String> out = new ArrayList<>();
    out.add(String.format(Locale.ROOT, row, "export", "shard", "node", "stored_pages", "compr_data_size", "batches",
        "rtt_mean_us", "bytes_sent", "bytes_received"));
    for (ExportStats e : stats.exports()) {
      for (RemoteShardFigures r : e.remoteShards()) {
        out.add(String.format(Locale.ROOT, row, e.export(), r.shard(), r.node().isEmpty() ? "-" : r.node(),
            r.storedPages(), r.comprDataSize(), r.batches(), r.meanRoundTripMicros(), r.bytesSent(),
            r.bytesReceived()));
      }
    }
    return out;
  }

  /** zsmalloc's zs_can_compact: wasted slots, in whole zspages, in pages. */
  static long freeable(SizeClassStats c) {
    if (c.objsPerZspage() == 0) {
      return 0;
    }
    return (c.objsAllocated() - c.objsUsed()) / c.objsPerZspage() * c.pagesPerZspage();
  }

  /** {@code orig / compr} with two decimals, or {@code -} when nothing is compressed. */
  public static String ratio(long orig, long compr) {
    return compr == 0 ? "-" : String.format(Locale.ROOT, "%.2f", (double) orig / compr);
  }

  /** A size as people read it: {@code 512 B}, {@code 1.5 KiB}, {@code 64.0 MiB}. */
  public static String human(long n) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = n;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u == 0 ? n + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  private static String bytes(int depth, String name, long value) {
    return line(depth, name, Long.toString(value), " B  (" + human(value) + ")");
  }

  private static String count(int depth, String name, long value) {
    return line(depth, name, Long.toString(value), "");
  }

  private static String line(int depth, String name, String value, String note) {
    return String.format(Locale.ROOT, FIGURE, "  ".repeat(depth), name, value, note);
  }
}
