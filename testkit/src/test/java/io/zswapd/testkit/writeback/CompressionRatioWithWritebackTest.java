package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.bridge.admin.StatsReport;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * orig_data_size, compr_data_size, stored_pages and so compression_ratio count the pages in
 * memory; written-back pages are counted in bd_count alone. So writing pages back does not move
 * the ratio of the pages left in memory (zram's orig_data_size / compr_data_size would grow:
 * it keeps written-back pages in orig_data_size and not in compr_data_size).
 */
class CompressionRatioWithWritebackTest {
  private static final PageGenerator GEN = new PageGenerator(701);
  private static final int BACKED = 300;
  private static final int IN_MEMORY = 100;

  private static String config(Path file) {
    return "zswapd.pool.max-size = 64 MiB\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 64 MiB, backing-file = \"" + file + "\" } ]\n";
  }

  private static void store(Zswapd z, int from, int count) {
    for (int i = from; i < from + count; i++) {
      await(z.store("swap0", i, GEN.page(i, i % 5 == 0 ? PageGenerator.Kind.ZERO : PageGenerator.Kind.C50)));
    }
  }

  private static ExportStats stats(Zswapd z) {
    return await(z.stats()).export("swap0").orElseThrow();
  }

  @Test
  void writtenBackPagesLeaveEveryMemoryFigureAndTheRatioWithThem(@TempDir Path dir) {
    ExportStats memoryOnly;
    try (EngineFixture engine = EngineFixture.start(config(dir.resolve("a.wb")))) {
      store(engine.zswapd(), BACKED, IN_MEMORY); // the pages that will stay in memory, alone
      memoryOnly = stats(engine.zswapd());
    }
    try (EngineFixture engine = EngineFixture.start(config(dir.resolve("b.wb")))) {
      Zswapd z = engine.zswapd();
      store(z, 0, BACKED);
      await(z.writeback(WritebackMode.ALL)); // every pool page goes; same-filled ones stay in their entries
      store(z, BACKED, IN_MEMORY);
      ExportStats s = stats(z);
      long sameBacked = BACKED / 5;
      assertThat(s.backing().writtenBackPages()).as("bd_count").isEqualTo(BACKED - sameBacked);
      assertThat(s.storedPages()).as("stored_pages: in memory").isEqualTo(memoryOnly.storedPages() + sameBacked)
          .isEqualTo(IN_MEMORY + sameBacked);
      assertThat(s.storedPages() + s.backing().writtenBackPages()).as("all pages held").isEqualTo(BACKED + IN_MEMORY);
      assertThat(s.origDataSize()).isEqualTo(s.storedPages() * 4096L);
      assertThat(s.comprDataSize()).as("the pool holds the same bytes as without the backed pages")
          .isEqualTo(memoryOnly.comprDataSize());
      assertThat(s.samePages()).isEqualTo(memoryOnly.samePages() + sameBacked);
      double expected = (double) (IN_MEMORY + sameBacked) * 4096 / memoryOnly.comprDataSize();
      assertThat(s.compressionRatio()).isEqualTo(expected);
      assertThat(StatsReport.export(s)).as("the stats command shows the same ratio")
          .anySatisfy(l -> assertThat(l).matches("\\s+compression_ratio\\s+"
              + String.format(java.util.Locale.ROOT, "%.2f", expected).replace(".", "\\.") + "\\s.*"));
    }
  }
}
