package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
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
 * Range stores and loads racing single-page stores, loads and invalidates on the same pages,
 * around a tree-shard boundary; every page of every load checked against the
 * {@link ReferenceModel}. Replay a failure with {@code -Dzswapd.test.seed=N}.
 */
class RangeIntegrityTest {
  private static final int CLIENTS = 4;
  private static final int OPS_PER_CLIENT = 6_000;
  private static final int PAGES = 1_024;
  private static final long BASE = 16_384 - 512; // the range straddles shards 0 and 1
  private static final int PAGE = 4096;
  private static EngineFixture engine;

  @BeforeAll
  static void start() {
    engine = EngineFixture.start("zswapd.pool.max-size = 256 MiB");
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  @Test
  void rangeAndSinglePageRequestsNeverReadAnythingButALegalValue() throws Exception {
    long seed = Long.getLong("zswapd.test.seed", System.nanoTime());
    Zswapd z = engine.zswapd();
    ReferenceModel model = new ReferenceModel();
    PageGenerator gen = new PageGenerator(seed);
    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
    List<Future<Long>> results = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      int client = c;
      results.add(pool.submit(() -> runClient(z, model, gen, seed, client)));
    }
    long rangeOps = 0;
    for (Future<Long> f : results) {
      rangeOps += f.get();
    }
    pool.shutdown();
    assertThat(model.checkAll()).as("mismatches with seed %d (replay with -Dzswapd.test.seed=%d)", seed, seed)
        .isEmpty();
    assertThat(rangeOps).as("seed %d", seed).isGreaterThan(CLIENTS * OPS_PER_CLIENT / 3);
    ExportStats swap0 = await(z.stats()).export("swap0").orElseThrow();
    assertThat(swap0.duplicateEntry()).as("seed %d", seed).isPositive();

    // Quiet now: a range load of everything equals the single loads, page for page.
    byte[] all = await(z.loadPages("swap0", BASE, PAGES));
    for (int i = 0; i < PAGES; i += 7) {
      byte[] single = await(z.load("swap0", BASE + i));
      assertThat(PageGenerator.hash(java.util.Arrays.copyOfRange(all, i * PAGE, (i + 1) * PAGE)))
          .as("page %d, seed %d", BASE + i, seed).isEqualTo(PageGenerator.hash(single));
    }
  }

  private static long runClient(Zswapd z, ReferenceModel model, PageGenerator gen, long seed, int client) {
    SplittableRandom rnd = new SplittableRandom(seed * 31 + client);
    long rangeOps = 0;
    for (int i = 0; i < OPS_PER_CLIENT; i++) {
      int op = rnd.nextInt(100);
      int count = 1 + rnd.nextInt(32);
      long first = BASE + rnd.nextInt(PAGES - count + 1);
      long contentId = ((long) client << 40) | ((long) i << 6);
      if (op < 25) {
        byte[] bytes = gen.page(contentId, gen.mixedKind(contentId));
        long start = model.now();
        await(z.store("swap0", first, bytes));
        model.recordWrite(first, PageGenerator.hash(bytes), start, model.now());
      } else if (op < 50) {
        byte[] pages = new byte[count * PAGE];
        long[] hashes = new long[count];
        for (int k = 0; k < count; k++) {
          byte[] p = gen.page(contentId + k, gen.mixedKind(contentId + k));
          hashes[k] = PageGenerator.hash(p);
          System.arraycopy(p, 0, pages, k * PAGE, PAGE);
        }
        long start = model.now();
        await(z.storePages("swap0", first, pages));
        long end = model.now();
        for (int k = 0; k < count; k++) {
          model.recordWrite(first + k, hashes[k], start, end);
        }
        rangeOps++;
      } else if (op < 65) {
        long start = model.now();
        byte[] bytes = await(z.load("swap0", first));
        model.recordLoad(first, PageGenerator.hash(bytes), start, model.now());
      } else if (op < 90) {
        long start = model.now();
        byte[] pages = await(z.loadPages("swap0", first, count));
        long end = model.now();
        for (int k = 0; k < count; k++) {
          model.recordLoad(first + k, PageGenerator.hash(java.util.Arrays.copyOfRange(pages, k * PAGE, (k + 1) * PAGE)),
              start, end);
        }
        rangeOps++;
      } else {
        long start = model.now();
        await(z.invalidateRange("swap0", first, count));
        long end = model.now();
        for (int k = 0; k < count; k++) {
          model.recordWrite(first + k, PageGenerator.ZERO_HASH, start, end);
        }
      }
    }
    return rangeOps;
  }
}
