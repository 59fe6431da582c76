package io.zswapd.testkit.migration;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.MigrationResult;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.ReferenceModel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Compaction and page migration while clients store, load and trim pages of the same size
 * classes, and a reset of the export in the middle of it: every load is checked against the
 * {@link ReferenceModel}. Seeded; replay a failure with {@code -Dzswapd.test.seed=N}.
 */
class CompactionVsStoresAndLoadsTest {
  private static final int CLIENTS = 4;
  private static final int OPS_PER_CLIENT = 8_000;
  private static final int PAGES = 4_000;
  /** Small chunks so that a few thousand pages span many chunks worth migrating. */
  private static final String ENGINE = "zswapd.pool { max-size = 256 MiB, arena-chunk-size = 64 KiB,"
      + " migration { min-chunk-free = 10%, max-pages-per-pass = 128 } }";

  @Test
  void compactionAndMigrationRacingStoresAndLoadsOfTheSameClassNeverChangeWhatALoadSees() throws Exception {
    run(false);
  }

  @Test
  void resetDuringCompactionAndMigrationDropsEveryPageAndNothingElse() throws Exception {
    run(true);
  }

  private static void run(boolean withReset) throws Exception {
    long seed = Long.getLong("zswapd.test.seed", System.nanoTime());
    try (EngineFixture engine = EngineFixture.start(ENGINE)) {
      Zswapd z = engine.zswapd();
      ReferenceModel model = new ReferenceModel();
      PageGenerator gen = new PageGenerator(seed);
      // One kind of page (50% compressible): the objects fall in a few neighbouring classes.
      for (int i = 0; i < PAGES; i++) {
        byte[] bytes = gen.page(i, PageGenerator.Kind.C50);
        long start = model.now();
        await(z.store("swap0", i, bytes));
        model.recordWrite(i, PageGenerator.hash(bytes), start, model.now());
      }
      AtomicBoolean clientsDone = new AtomicBoolean();
      ExecutorService threads = Executors.newFixedThreadPool(CLIENTS + 1);
      Future<long[]> mover = threads.submit(() -> {
        long compacted = 0;
        long migrated = 0;
        int runs = 0;
        while (!clientsDone.get() || runs < 3) { // at least three runs (the reset comes after the third)
          compacted += await(z.compact()).pagesFreed();
          MigrationResult r = await(z.migrate());
          migrated += r.pagesMigrated();
          compacted += r.pagesCompacted();
          runs++;
          if (withReset && runs == 3) {
            long start = model.now();
            await(z.reset("swap0"));
            long end = model.now();
            for (int p = 0; p < PAGES; p++) {
              model.recordWrite(p, PageGenerator.ZERO_HASH, start, end);
            }
          }
        }
        return new long[] {compacted, migrated, runs};
      });
      List<Future<Long>> clients = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        int client = c;
        clients.add(threads.submit(() -> runClient(z, model, gen, seed, client)));
      }
      long loads = 0;
      for (Future<Long> f : clients) {
        loads += f.get();
      }
      clientsDone.set(true);
      long[] moved = mover.get();
      threads.shutdown();

      assertThat(model.checkAll()).as("mismatches, seed %d (replay with -Dzswapd.test.seed=%d)", seed, seed).isEmpty();
      assertThat(model.checkedLoads()).as("seed %d", seed).isEqualTo(loads);
      assertThat(moved[2]).as("compaction/migration runs, seed %d", seed).isGreaterThanOrEqualTo(3);
      assertThat(moved[0] + moved[1]).as("pages compacted or migrated while clients ran, seed %d", seed).isPositive();

      // At rest: every page reads its last value, nothing isolated, and a final reset frees it all.
      for (int p = 0; p < PAGES; p++) {
        long start = model.now();
        byte[] bytes = await(z.load("swap0", p));
        model.recordLoad(p, PageGenerator.hash(bytes), start, model.now());
      }
      assertThat(model.checkAll()).as("seed %d", seed).isEmpty();
      EngineStats s = await(z.stats());
      assertThat(s.pool().zspagesIsolated()).as("seed %d", seed).isZero();
      await(z.reset("swap0"));
      await(z.migrate());
      EngineStats empty = await(z.stats());
      assertThat(empty.pool().handlesInUse()).as("seed %d", seed).isZero();
      assertThat(empty.pool().memUsedTotal()).as("seed %d", seed).isZero();
      assertThat(empty.pool().arenaChunksHeld()).as("seed %d", seed).isZero();
      assertThat(await(z.load("swap0", 0))).isEqualTo(new byte[4096]);
    }
  }

  private static long runClient(Zswapd z, ReferenceModel model, PageGenerator gen, long seed, int client) {
    SplittableRandom rnd = new SplittableRandom(seed * 31 + client);
    long loads = 0;
    for (int i = 0; i < OPS_PER_CLIENT; i++) {
      long page = rnd.nextInt(PAGES);
      int op = rnd.nextInt(100);
      long start = model.now();
      if (op < 35) {
        byte[] bytes = gen.page(((long) client << 40) | i, PageGenerator.Kind.C50);
        await(z.store("swap0", page, bytes));
        model.recordWrite(page, PageGenerator.hash(bytes), start, model.now());
      } else if (op < 75) {
        byte[] bytes = await(z.load("swap0", page));
        model.recordLoad(page, PageGenerator.hash(bytes), start, model.now());
        loads++;
      } else {
        await(z.invalidate("swap0", page)); // frees leave holes for compaction and migration
        model.recordWrite(page, PageGenerator.ZERO_HASH, start, model.now());
      }
    }
    return loads;
  }
}
