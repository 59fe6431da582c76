package io.zswapd.testkit.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.bridge.admin.StatsReport;
import io.zswapd.protocol.engine.BackingFigures;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.RecompressFigures;
import io.zswapd.protocol.engine.RemoteShardFigures;
import io.zswapd.protocol.engine.PoolStats;
import io.zswapd.protocol.engine.SizeClassStats;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The text of {@code zswapd stats}: zram's names, exact values with units, sizes people can read. */
class StatsReportTest {
  static final PoolStats POOL = new PoolStats(1_261_568, 64L << 20, 2_097_152, 3, 7, 308, 1, 2 << 20, 4, 900, 2,
      0, 0, 5, 1_400_000, 12, "mmap", (64L << 20) * 9 / 10);
  static final ExportStats SWAP0 = new ExportStats("swap0", 1000, 4_096_000, 1_200_000, 100, 5, 9, 5, 2, 30, 400,
      1030, new BackingFigures(50, 60, 11, 1, 0, 0, 3, 110_000, 131_072, 11, 60),
      new RecompressFigures("zstd:9", 300, 400_000, 320, 15, 1, 250_000));
  static final SizeClassStats CLASS_2048 = new SizeClassStats(2048, 1, 2, 10, 7, 5, 5,
      List.of(0L, 0L, 0L, 0L, 0L, 3L, 0L, 0L, 0L, 0L, 0L, 2L), 1, 0, 0, 0);
  static final SizeClassStats CLASS_4096 = new SizeClassStats(4096, 1, 1, 4, 4, 4, 4,
      List.of(0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L, 4L), 0, 0, 0, 0);
  static final EngineStats STATS = new EngineStats(POOL, List.of(SWAP0), List.of(CLASS_2048, CLASS_4096));

  @Test
  void figuresShowExactBytesWithReadableSizesAndTheCompressionRatio() {
    List<String> lines = StatsReport.figures(STATS);
    assertThat(lines).containsSubsequence(
        "pool",
        "  mem_used_total                1261568 B  (1.2 MiB)",
        "  mem_limit                    67108864 B  (64.0 MiB)",
        "  mem_used_max                  2097152 B  (2.0 MiB)",
        "  pages_compacted                     3",
        "  pool_limit_hit                      7",
        "  reject_reclaim_fail                 2",
        "",
        "export swap0",
        "  mm_stat",
        "    orig_data_size                4096000 B  (3.9 MiB)",
        "    compr_data_size               1200000 B  (1.1 MiB)",
        "    compression_ratio                3.41  (orig_data_size / compr_data_size)",
        "    stored_pages                     1000",
        "    same_pages                        100",
        "    huge_pages                          5",
        "  io_stat",
        "    stores                           1030",
        "    loads                             400",
        "    invalidated_pages                  30",
        "    duplicate_entry                     9",
        "    reject_compress_poor                5",
        "    reject_alloc_fail                   2",
        "  bd_stat",
        "    bd_count                           50",
        "    bd_reads                           11",
        "    bd_writes                          60",
        "    written_back_pages                 60",
        "    loads_from_backing                 11",
        "    backing_bytes_used             110000 B  (107.4 KiB)",
        "    backing_file_bytes             131072 B  (128.0 KiB)",
        "    write_errors                        1",
        "    read_errors                         0",
        "    corrupt_reads                       0",
        "    backing_full                        3",
        "  recomp_stat (zstd:9)",
        "    first_codec_pages                 595  (the pool's compressor wrote them; raw and same-filled pages apart)",
        "    recompressed_pages                300",
        "    recompressed_bytes             400000 B  (390.6 KiB)",
        "    recompressions                    320",
        "    recompress_kept                    15",
        "    recompress_failed                   1",
        "    recompress_bytes_saved         250000 B  (244.1 KiB)");
  }

  @Test
  void anExportWithoutASecondCodecHasNoRecompressionBlock() {
    ExportStats plain = new ExportStats("e", 1, 4096, 100, 0, 0, 0, 0, 0, 0, 0, 1, BackingFigures.NONE,
        RecompressFigures.NONE);
    assertThat(StatsReport.export(plain)).noneMatch(l -> l.contains("recomp"));
  }

  @Test
  void anExportOnTheClusterSaysWhereItsShardsLive() {
    List<String> lines = StatsReport.export(REMOTE);
    int block = lines.indexOf("  cluster_stat");
    assertThat(block).isPositive();
    assertThat(lines.subList(block + 1, block + 5)).containsExactly(
        "    remote_shards                       6",
        "    shards_on                           1  (no memory node yet)",
        "    shards_on                           2  (10.0.0.1:25520)",
        "    shards_on                           3  (10.0.0.2:25520)");
    assertThat(StatsReport.export(SWAP0)).as("a local export has no such block").doesNotContain("  cluster_stat");
  }

  /** Shards 0..5 of "e": three on 10.0.0.2, two on 10.0.0.1, one not placed yet (given out of order). */
  static final ExportStats REMOTE = new ExportStats("e", 1, 4096, 100, 0, 0, 0, 0, 0, 0, 0, 1, BackingFigures.NONE,
      RecompressFigures.NONE, List.of(
          new RemoteShardFigures(5, "", 0, 0, 0, 0, 0, 0),
          new RemoteShardFigures(1, "10.0.0.2:25520", 1024, 2_000_000, 40, 40_000_000, 2_100_000, 9_000),
          new RemoteShardFigures(0, "10.0.0.1:25520", 16384, 33_554_432, 900, 1_800_000_000, 35_000_000, 120_000),
          new RemoteShardFigures(2, "10.0.0.2:25520", 1, 4096, 1, 3_000, 4200, 60),
          new RemoteShardFigures(3, "10.0.0.1:25520", 0, 0, 0, 0, 0, 0),
          new RemoteShardFigures(4, "10.0.0.2:25520", 7, 700, 2, 2_000_000, 1000, 120)));

  @Test
  void shardsTableHasARowPerRemoteShardInShardOrder() {
    List<String> lines = StatsReport.shards(new EngineStats(STATS.pool(), List.of(SWAP0, REMOTE), List.of()));
    assertThat(lines.get(0).trim().split("\\s+")).containsExactly("export", "shard", "node", "stored_pages",
        "compr_data_size", "batches", "rtt_mean_us", "bytes_sent", "bytes_received");
    assertThat(lines).as("the local export has no rows").hasSize(7);
    assertThat(lines.get(1).trim().split("\\s+")).containsExactly("e", "0", "10.0.0.1:25520", "16384", "33554432",
        "900", "2000", "35000000", "120000");
    assertThat(lines.get(2).trim().split("\\s+")).containsExactly("e", "1", "10.0.0.2:25520", "1024", "2000000",
        "40", "1000", "2100000", "9000");
    assertThat(lines.get(4).trim().split("\\s+")).as("no batch yet: no round trip")
        .containsExactly("e", "3", "10.0.0.1:25520", "0", "0", "0", "0", "0", "0");
    assertThat(lines.get(6).trim().split("\\s+")).as("no node yet")
        .containsExactly("e", "5", "-", "0", "0", "0", "0", "0", "0");
    assertThat(StatsReport.shards(new EngineStats(STATS.pool(), List.of(SWAP0), List.of())))
        .as("nothing on the cluster: the header only").hasSize(1);
  }

  @Test
  void nothingCompressedHasNoRatio() {
    ExportStats empty = new ExportStats("e", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, BackingFigures.NONE, RecompressFigures.NONE);
    assertThat(StatsReport.export(empty)).contains("    compression_ratio                   -  (nothing compressed)");
  }

  @Test
  void classesTableHasZsmallocsColumnsFreeablePagesAndATotal() {
    List<String> lines = StatsReport.classes(STATS);
    assertThat(lines).hasSize(4);
    assertThat(lines.get(0).trim().split("\\s+")).containsExactly("class", "size", "empty", "10%", "20%", "30%",
        "40%", "50%", "60%", "70%", "80%", "90%", "99%", "100%", "obj_allocated", "obj_used", "pages_used",
        "pages_per_zspage", "freeable", "pages_compacted");
    // 3 wasted slots of 2 per zspage: one whole zspage (1 page) could be freed
    assertThat(lines.get(1).trim().split("\\s+")).containsExactly("0", "2048", "0", "0", "0", "0", "0", "3", "0",
        "0", "0", "0", "0", "2", "10", "7", "5", "1", "1", "1");
    assertThat(lines.get(2).trim().split("\\s+")).containsExactly("1", "4096", "0", "0", "0", "0", "0", "0", "0",
        "0", "0", "0", "0", "4", "4", "4", "4", "1", "0", "0");
    assertThat(lines.get(3).trim().split("\\s+")).containsExactly("Total", "0", "0", "0", "0", "0", "3", "0",
        "0", "0", "0", "0", "6", "14", "11", "9", "1", "1");
  }

  @Test
  void sizesUseBinaryUnits() {
    assertThat(StatsReport.human(0)).isEqualTo("0 B");
    assertThat(StatsReport.human(1023)).isEqualTo("1023 B");
    assertThat(StatsReport.human(1536)).isEqualTo("1.5 KiB");
    assertThat(StatsReport.human(512L << 20)).isEqualTo("512.0 MiB");
    assertThat(StatsReport.human(3L << 40)).isEqualTo("3.0 TiB");
    assertThat(StatsReport.ratio(4096, 1024)).isEqualTo("4.00");
  }
}
