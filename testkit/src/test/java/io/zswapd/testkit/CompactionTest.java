package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.engine.CompactionResult;
import io.zswapd.protocol.engine.EngineStats;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Compaction packs what is left after most pages were freed: used memory near the compressed size. */
class CompactionTest {
  private static final int PAGES = 40_000;

  @Test
  void compactionAfterFreeingThreeQuartersBringsMemoryWithinTenPercentOfCompressedBytes() {
    long seed = Long.getLong("zswapd.test.seed", 20261121L);
    PageGenerator gen = new PageGenerator(seed);
    PageGenerator.Kind[] kinds = {PageGenerator.Kind.C25, PageGenerator.Kind.C50, PageGenerator.Kind.C75,
        PageGenerator.Kind.TEXT, PageGenerator.Kind.RANDOM};
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 1 GiB")) {
      Zswapd z = engine.zswapd();
      List<CompletableFuture<Void>> stores = new ArrayList<>();
      for (int i = 0; i < PAGES; i++) {
        stores.add(z.store("swap0", i, gen.page(i, kinds[i % kinds.length])).toCompletableFuture());
      }
      CompletableFuture.allOf(stores.toArray(CompletableFuture[]::new)).join();

      SplittableRandom rnd = new SplittableRandom(seed);
      List<CompletableFuture<Long>> frees = new ArrayList<>();
      for (int i = 0; i < PAGES; i++) {
        if (rnd.nextInt(4) != 0) {
          frees.add(z.invalidate("swap0", i).toCompletableFuture());
        }
      }
      CompletableFuture.allOf(frees.toArray(CompletableFuture[]::new)).join();

      EngineStats before = await(z.stats());
      long compr = before.comprDataSize();
      assertThat(before.pool().memUsedTotal())
          .as("before compaction, seed %d: fragmented well above compressed size %d", seed, compr)
          .isGreaterThan((long) (1.5 * compr));

      CompactionResult result = await(z.compact());
      assertThat(result.pagesFreed()).isPositive();
      assertThat(result.objectsMoved()).isPositive();

      EngineStats after = await(z.stats());
      assertThat(after.comprDataSize()).isEqualTo(compr);
      assertThat(after.pool().memUsedTotal())
          .as("after compaction, seed %d: mem_used_total vs 1.10 x compr_data_size %d", seed, compr)
          .isLessThanOrEqualTo((long) (1.10 * compr));
      assertThat(after.pool().pagesCompacted()).isPositive();

      // Every surviving page still reads back byte for byte after its object moved.
      SplittableRandom again = new SplittableRandom(seed);
      for (int i = 0; i < PAGES; i++) {
        boolean freed = again.nextInt(4) != 0;
        byte[] expected = freed ? new byte[PageGenerator.PAGE_SIZE] : gen.page(i, kinds[i % kinds.length]);
        assertThat(await(z.load("swap0", i))).as("page %d, seed %d", i, seed).isEqualTo(expected);
      }
    }
  }
}
