package io.zswapd.testkit.recompress;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.RecompressFigures;
import io.zswapd.protocol.engine.RecompressMode;
import io.zswapd.protocol.engine.RecompressResult;
import io.zswapd.testkit.PageGenerator;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Recompression through the embedded API (zram's {@code recompress}): pages stored with the
 * pool's lz4 are compressed again with the export's zstd, come back byte for byte (single
 * pages, ranges, after a rewrite), and the figures add up.
 */
class RecompressTest {
  private static final int PAGES = 300;

  @Test
  void allPagesShrinkWithTheSecondCodecAndReadBackTheSame() {
    try (RecompressScenario s = new RecompressScenario("")) {
      for (int i = 0; i < PAGES; i++) {
        await(s.z.store(RecompressScenario.EXPORT, i, s.page(i, 1)));
      }
      ExportStats before = s.stats();
      assertThat(before.recompress().codec()).isEqualTo("zstd:9");
      assertThat(before.recompress().pages()).isZero();

      RecompressResult r = await(s.z.recompress(RecompressMode.ALL, 0));
      assertThat(r.recompressed()).as("every text page shrinks with zstd: %s", r).isEqualTo(PAGES);
      assertThat(r.failed()).isZero();

      ExportStats after = s.stats();
      RecompressFigures f = after.recompress();
      assertThat(f.pages()).isEqualTo(r.recompressed());
      assertThat(f.recompressions()).isEqualTo(r.recompressed());
      assertThat(f.kept()).isEqualTo(r.kept());
      assertThat(f.bytesSaved()).isEqualTo(r.bytesSaved()).isPositive();
      assertThat(after.comprDataSize()).isEqualTo(before.comprDataSize() - r.bytesSaved());
      assertThat(after.storedPages()).isEqualTo(PAGES);
      assertThat(s.engineStats().pool().handlesInUse()).as("one object a page, the old ones freed").isEqualTo(PAGES);

      for (int i = 0; i < PAGES; i++) {
        assertThat(await(s.z.load(RecompressScenario.EXPORT, i))).as("page %d", i).isEqualTo(s.page(i, 1));
      }
      byte[] range = await(s.z.loadPages(RecompressScenario.EXPORT, 0, 64));
      for (int i = 0; i < 64; i++) {
        assertThat(java.util.Arrays.copyOfRange(range, i * 4096, (i + 1) * 4096)).as("page %d of a range", i)
            .isEqualTo(s.page(i, 1));
      }

      RecompressResult again = await(s.z.recompress(RecompressMode.ALL, 0));
      assertThat(again).as("done pages and kept pages are not tried again").isEqualTo(RecompressResult.NONE);

      // a rewrite brings a page back to the pool's codec; the next run takes it again
      await(s.z.store(RecompressScenario.EXPORT, 7, s.page(7, 2)));
      assertThat(s.stats().recompress().pages()).isEqualTo(PAGES - 1);
      RecompressResult rewrite = await(s.z.recompress(RecompressMode.ALL, 0));
      assertThat(rewrite.recompressed()).isEqualTo(1);
      assertThat(await(s.z.load(RecompressScenario.EXPORT, 7))).isEqualTo(s.page(7, 2));

      s.assertNothingLeaks();
    }
  }

  @Test
  void thresholdAndHugeChooseWhichPagesAreTried() {
    try (RecompressScenario s = new RecompressScenario("")) {
      PageGenerator random = new PageGenerator(99);
      for (int i = 0; i < 20; i++) {
        await(s.z.store(RecompressScenario.EXPORT, i, s.page(i, 1)));
        await(s.z.store(RecompressScenario.EXPORT, 100 + i, random.page(i, PageGenerator.Kind.RANDOM)));
      }
      assertThat(s.stats().hugePages()).isEqualTo(20);

      RecompressResult huge = await(s.z.recompress(RecompressMode.HUGE, 0));
      assertThat(huge.recompressed() + huge.kept()).as("only the raw pages: %s", huge).isEqualTo(20);
      assertThat(huge.kept()).as("random pages do not shrink with zstd either").isEqualTo(20);
      assertThat(s.stats().hugePages()).isEqualTo(20);

      RecompressResult above = await(s.z.recompress(RecompressMode.ALL, 4000));
      assertThat(above).as("the raw pages are kept now, and text is stored in fewer than 4000 bytes")
          .isEqualTo(RecompressResult.NONE);
      RecompressResult all = await(s.z.recompress(RecompressMode.ALL, 1));
      assertThat(all.recompressed() + all.kept()).isEqualTo(20);

      for (int i = 0; i < 20; i++) {
        assertThat(await(s.z.load(RecompressScenario.EXPORT, i))).isEqualTo(s.page(i, 1));
        assertThat(await(s.z.load(RecompressScenario.EXPORT, 100 + i)))
            .isEqualTo(random.page(i, PageGenerator.Kind.RANDOM));
      }
      assertThatThrownBy(() -> s.z.recompress(RecompressMode.ALL, 4097))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4097");
      s.assertNothingLeaks();
    }
  }

  @Test
  void exportsWithoutASecondCodecAreLeftAlone() {
    try (RecompressScenario s = new RecompressScenario("""
        zswapd.exports = [ { name = "swap0", size = 1 GiB }, { name = "other", size = 1 GiB, recompressor = lz4hc } ]
        """)) {
      for (int i = 0; i < 10; i++) {
        await(s.z.store("swap0", i, s.page(i, 1)));
        await(s.z.store("other", i, s.page(i, 1)));
      }
      RecompressResult r = await(s.z.recompress(RecompressMode.ALL, 0));
      assertThat(r.recompressed() + r.kept()).isEqualTo(10);
      assertThat(s.stats().recompress()).isEqualTo(RecompressFigures.NONE);
      assertThat(await(s.z.stats()).export("other").orElseThrow().recompress().codec()).isEqualTo("lz4hc:9");
      for (int i = 0; i < 10; i++) {
        assertThat(await(s.z.load("other", i))).isEqualTo(s.page(i, 1));
      }
    }
  }

  @Test
  void theBackgroundPassTakesPagesNobodyTouchedAndLeavesBusyOnes() {
    try (RecompressScenario s = new RecompressScenario("zswapd.pool.recompress.idle-after = 1s\n")) {
      for (int i = 0; i < 40; i++) {
        await(s.z.store(RecompressScenario.EXPORT, i, s.page(i, 1)));
      }
      // Pages 0..4 stay busy for a few periods; 5..39 are never touched again.
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3_500);
      while (System.nanoTime() < until) {
        for (int i = 0; i < 5; i++) {
          await(s.z.load(RecompressScenario.EXPORT, i));
        }
        sleep(100);
      }
      Awaitility.await().atMost(20, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(100))
          .untilAsserted(() -> assertThat(s.stats().recompress().recompressions() + s.stats().recompress().kept())
              .isEqualTo(35));
      for (int i = 0; i < 40; i++) {
        assertThat(await(s.z.load(RecompressScenario.EXPORT, i))).as("page %d", i).isEqualTo(s.page(i, 1));
      }
      s.assertNothingLeaks();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
