package io.zswapd.testkit.migration;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.MigrationResult;
import io.zswapd.protocol.engine.PoolStats;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Memory goes back to the OS after data is freed: compaction packs objects into few zspages,
 * page migration packs zspage pages into few chunks, and the emptied chunks are released.
 */
class MemoryReturnTest {
  private static final int PAGES = 40_000;
  private static final PageGenerator.Kind[] KINDS = {PageGenerator.Kind.C25, PageGenerator.Kind.C50,
      PageGenerator.Kind.C75, PageGenerator.Kind.TEXT, PageGenerator.Kind.RANDOM};

  private static boolean[] storeThenTrimEightyPercent(Zswapd z, PageGenerator gen, long seed) {
    List<CompletableFuture<Void>> stores = new ArrayList<>();
    for (int i = 0; i < PAGES; i++) {
      stores.add(z.store("swap0", i, gen.page(i, KINDS[i % KINDS.length])).toCompletableFuture());
    }
    CompletableFuture.allOf(stores.toArray(CompletableFuture[]::new)).join();
    SplittableRandom rnd = new SplittableRandom(seed);
    boolean[] trimmed = new boolean[PAGES];
    List<CompletableFuture<Long>> frees = new ArrayList<>();
    for (int i = 0; i < PAGES; i++) {
      if (rnd.nextInt(10) < 8) {
        trimmed[i] = true;
        frees.add(z.invalidate("swap0", i).toCompletableFuture());
      }
    }
    frees.add(z.invalidateRange("swap0", PAGES / 2, 2_000).toCompletableFuture()); // and a whole range
    for (int i = PAGES / 2; i < PAGES / 2 + 2_000; i++) {
      trimmed[i] = true;
    }
    CompletableFuture.allOf(frees.toArray(CompletableFuture[]::new)).join();
    return trimmed;
  }

  @Test
  void migrateOnDemandBringsChunksHeldWithinAQuarterOfTheCompressedBytes() {
    long seed = Long.getLong("zswapd.test.seed", 5L);
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 1 GiB")) {
      Zswapd z = engine.zswapd();
      PageGenerator gen = new PageGenerator(seed);
      boolean[] trimmed = storeThenTrimEightyPercent(z, gen, seed);
      // The trims' frees reach each size class before its answer to a stats request, but the
      // pages they give back may reach the arena after the arena answered it: a first request
      // flushes them, so the second's chunk figures are the arena's at rest.
      await(z.stats());
      EngineStats before = await(z.stats());
      long compr = before.comprDataSize();
      assertThat(before.pool().arenaBytesHeld()).as("seed %d: fragmented before", seed).isGreaterThan(3 * compr);

      MigrationResult r = await(z.migrate());
      EngineStats after = await(z.stats());
      PoolStats p = after.pool();
      assertThat(r.pagesCompacted()).as("seed %d", seed).isPositive();
      assertThat(r.pagesMigrated()).as("seed %d", seed).isPositive();
      assertThat(r.chunksReleased()).as("seed %d", seed).isPositive();
      // The result's count is the arena's at the end of the pass; a size class refilling its
      // reserve right after may take one more chunk (seen on JDK 25), or a late return free one.
      assertThat(p.arenaChunksHeld()).as("seed %d", seed).isCloseTo(r.chunksHeld(), org.assertj.core.api.Assertions.within(1L));
      assertThat(p.pagesMigrated()).isEqualTo(r.pagesMigrated());
      // Likewise a chunk whose last pages come back just after the pass is released then.
      assertThat(p.chunksReleased()).as("seed %d", seed)
          .isBetween(before.pool().chunksReleased() + r.chunksReleased(),
              before.pool().chunksReleased() + r.chunksReleased() + 1);
      assertThat(p.arenaChunksHeld()).isEqualTo(p.chunksAllocated() - p.chunksReleased());
      assertThat(p.zspagesIsolated()).isZero();
      assertThat(after.comprDataSize()).isEqualTo(compr);
      assertThat(p.arenaBytesHeld())
          .as("seed %d: off-heap bytes held vs 1.25 x compr_data_size %d", seed, compr)
          .isLessThanOrEqualTo((long) (1.25 * compr));
      for (int i = 0; i < PAGES; i += 7) {
        byte[] expected = trimmed[i] ? new byte[4096] : gen.page(i, KINDS[i % KINDS.length]);
        assertThat(await(z.load("swap0", i))).as("page %d, seed %d", i, seed).isEqualTo(expected);
      }
    }
  }

  @Test
  void theWorkerGivesMemoryBackByItselfWhenThePoolIsFragmented() {
    long seed = Long.getLong("zswapd.test.seed", 6L);
    try (EngineFixture engine = EngineFixture.start(
        "zswapd.pool { max-size = 1 GiB, migration { period = 200ms, fragmentation-threshold = 120% } }")) {
      Zswapd z = engine.zswapd();
      storeThenTrimEightyPercent(z, new PageGenerator(seed), seed);
      Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
        EngineStats s = await(z.stats());
        assertThat(s.pool().memUsedTotal()).isLessThanOrEqualTo((long) (1.2 * s.comprDataSize()));
        assertThat(s.pool().arenaBytesHeld()).isLessThanOrEqualTo((long) (1.25 * s.comprDataSize()));
        assertThat(s.pool().pagesMigrated()).isPositive();
        assertThat(s.pool().pagesCompacted()).isPositive();
      });
    }
  }
}
