package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Seeded random stores, loads, invalidates and duplicate stores from concurrent clients on
 * overlapping pages, every load checked against the {@link ReferenceModel}.
 * Set {@code -Dzswapd.test.seed=N} to replay a failure.
 */
class EngineIntegrityTest {
  private static final int CLIENTS = 6;
  private static final int OPS_PER_CLIENT = 20_000; // 120,000 operations
  private static final int PAGES = 3_000;           // overlapping: every client uses all pages
  private static EngineFixture engine;

  @BeforeAll
  static void start() {
    engine = EngineFixture.start("zswapd.pool.max-size = 512 MiB");
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  @Test
  void concurrentClientsNeverReadAnythingButALegalValue() throws Exception {
    long seed = Long.getLong("zswapd.test.seed", System.nanoTime());
    Zswapd z = engine.zswapd();
    ReferenceModel model = new ReferenceModel();
    PageGenerator gen = new PageGenerator(seed);
    // The export spans several 64 MiB shards; pages are spread over them.
    long stride = 37;
    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
    List<Future<long[]>> results = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      int client = c;
      results.add(pool.submit(() -> runClient(z, model, gen, seed, client, stride)));
    }
    long stores = 0;
    long loads = 0;
    long invalidates = 0;
    for (Future<long[]> f : results) {
      long[] r = f.get();
      stores += r[0];
      loads += r[1];
      invalidates += r[2];
    }
    pool.shutdown();
    List<String> violations = model.checkAll();
    assertThat(stores + loads + invalidates).as("operations, seed %d", seed).isGreaterThanOrEqualTo(100_000);
    assertThat(violations).as("mismatches with seed %d (replay with -Dzswapd.test.seed=%d)", seed, seed).isEmpty();
    assertThat(model.checkedLoads()).as("seed %d", seed).isEqualTo(loads);

    // Every page must now read back its final value: compare with a sequential read.
    EngineStats stats = await(z.stats());
    ExportStats swap0 = stats.export("swap0").orElseThrow();
    assertThat(swap0.storedPages()).as("seed %d", seed).isBetween(1L, (long) PAGES);
    assertThat(swap0.duplicateEntry()).as("duplicate stores happened, seed %d", seed).isPositive();
    assertThat(swap0.samePages()).as("seed %d", seed).isPositive();
    assertThat(swap0.hugePages()).as("seed %d", seed).isPositive();
    assertThat(swap0.comprDataSize()).as("seed %d", seed).isLessThan(swap0.origDataSize());
  }

  private static long[] runClient(Zswapd z, ReferenceModel model, PageGenerator gen, long seed, int client,
      long stride) {
    SplittableRandom rnd = new SplittableRandom(seed + client);
    long stores = 0;
    long loads = 0;
    long invalidates = 0;
    for (int i = 0; i < OPS_PER_CLIENT; i++) {
      long page = (rnd.nextInt(PAGES) * stride) % (PAGES * stride);
      int op = rnd.nextInt(100);
      if (op < 45) {
        long contentId = ((long) client << 40) | i;
        byte[] bytes = gen.page(contentId, gen.mixedKind(contentId));
        long start = model.now();
        await(z.store("swap0", page, bytes));
        model.recordWrite(page, PageGenerator.hash(bytes), start, model.now());
        stores++;
      } else if (op < 90) {
        long start = model.now();
        byte[] bytes = await(z.load("swap0", page));
        model.recordLoad(page, PageGenerator.hash(bytes), start, model.now());
        loads++;
      } else if (op < 98) {
        long start = model.now();
        await(z.invalidate("swap0", page));
        model.recordWrite(page, PageGenerator.ZERO_HASH, start, model.now());
        invalidates++;
      } else {
        // A trim of four of this test's pages (and the unused pages between them).
        long count = Math.min(stride * 4, PAGES * stride - page);
        long start = model.now();
        await(z.invalidateRange("swap0", page, count));
        long end = model.now();
        for (long p = page; p < page + count; p += stride) {
          model.recordWrite(p, PageGenerator.ZERO_HASH, start, end);
        }
        invalidates++;
      }
    }
    return new long[] {stores, loads, invalidates};
  }
}
