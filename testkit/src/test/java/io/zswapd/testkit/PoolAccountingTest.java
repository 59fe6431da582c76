package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ShutdownReport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Memory goes back: after swapoff and shutdown the arena holds nothing and no handle is live. */
class PoolAccountingTest {

  @Test
  void invalidateAreaAndShutdownLeaveNoPagesChunksOrHandles() {
    long seed = 42;
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 256 MiB")) {
      Zswapd z = engine.zswapd();
      PageGenerator gen = new PageGenerator(seed);
      List<CompletableFuture<Void>> stores = new ArrayList<>();
      for (int i = 0; i < 20_000; i++) {
        stores.add(z.store("swap0", i * 7L, gen.page(i, gen.mixedKind(i))).toCompletableFuture());
      }
      CompletableFuture.allOf(stores.toArray(CompletableFuture[]::new)).join();

      EngineStats full = await(z.stats());
      assertThat(full.pool().handlesInUse()).isPositive();
      assertThat(full.pool().arenaChunksHeld()).isPositive();
      assertThat(full.export("swap0").orElseThrow().storedPages()).isEqualTo(20_000);

      long freed = await(z.invalidateArea("swap0"));
      assertThat(freed).isEqualTo(20_000);
      EngineStats empty = await(z.stats());
      assertThat(empty.export("swap0").orElseThrow().storedPages()).isZero();
      assertThat(empty.export("swap0").orElseThrow().comprDataSize()).isZero();
      assertThat(empty.pool().handlesInUse()).isZero();
      assertThat(empty.classes()).allSatisfy(c -> assertThat(c.objsUsed()).isZero());

      ShutdownReport report = await(z.shutdown());
      assertThat(report.handlesInUse()).isZero();
      assertThat(report.arenaPagesInUse()).isZero();
      assertThat(report.chunksHeld()).isZero();
      assertThat(report.chunksReleased()).isEqualTo(full.pool().arenaChunksHeld());
      assertThat(report.clean()).isTrue();
    }
  }

  @Test
  void shutdownWithDataStillStoredFreesEverything() {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 64 MiB")) {
      Zswapd z = engine.zswapd();
      PageGenerator gen = new PageGenerator(7);
      for (int i = 0; i < 2_000; i++) {
        await(z.store("swap0", i, gen.page(i, PageGenerator.Kind.C50)));
      }
      ShutdownReport report = await(z.shutdown());
      assertThat(report.clean()).as("%s", report).isTrue();
    }
  }
}
