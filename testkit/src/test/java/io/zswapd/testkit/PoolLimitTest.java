package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.actors.pool.Pool;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ErrorCode;
import org.junit.jupiter.api.Test;

/**
 * Without a backing file a full pool refuses stores (reject_alloc_fail, pool_limit_hit); the
 * refused page keeps what it had, and with zswap's hysteresis stores are accepted again only
 * below accept-threshold of the limit.
 */
class PoolLimitTest {

  @Test
  void aFullPoolRefusesStoresKeepsOldContentAndAcceptsAgainBelowTheThreshold() {
    try (EngineFixture engine = EngineFixture.start("""
        zswapd.pool.max-size = 1 MiB
        zswapd.pool.accept-threshold = 50%
        """)) {
      Zswapd z = engine.zswapd();
      PageGenerator gen = new PageGenerator(9);
      byte[] original = gen.page(0, PageGenerator.Kind.C50);
      await(z.store("swap0", 0, original));

      int stored = 1;
      ZswapdException refused = null;
      for (int i = 1; i < 1000 && refused == null; i++) {
        try {
          await(z.store("swap0", i, gen.page(i, PageGenerator.Kind.RANDOM)));
          stored++;
        } catch (ZswapdException e) {
          refused = e;
        }
      }
      assertThat(refused).as("a 1 MiB pool cannot hold 1000 raw pages").isNotNull();
      assertThat(refused.code()).isEqualTo(ErrorCode.POOL_FULL);
      assertThat(refused.getMessage()).contains("pool.max-size").contains("1048576");
      assertThat(stored).isLessThanOrEqualTo(256);

      // The refused store of page 0 keeps the acknowledged content.
      assertThatThrownBy(() -> await(z.store("swap0", 0, gen.page(5000, PageGenerator.Kind.RANDOM))))
          .isInstanceOf(ZswapdException.class);
      assertThat(await(z.load("swap0", 0))).isEqualTo(original);

      EngineStats full = await(z.stats());
      assertThat(full.pool().poolLimitHit()).isPositive();
      assertThat(full.export("swap0").orElseThrow().rejectAllocFail()).isGreaterThanOrEqualTo(2);
      assertThat(full.pool().memUsedTotal()).isLessThanOrEqualTo(1 << 20);
      assertThat(full.pool().memLimit()).isEqualTo(1 << 20);

      // Freeing a little (still above 50%) is not enough: the arena grants no new pages. Only
      // the page each lane of the huge class keeps in reserve (pages the pool already holds) is used.
      await(z.invalidateRange("swap0", 1, 10));
      int acceptedAboveThreshold = 0;
      for (int i = 0; i < 5; i++) {
        try {
          await(z.store("swap0", 3000 + i, gen.page(3000 + i, PageGenerator.Kind.RANDOM)));
          acceptedAboveThreshold++;
        } catch (ZswapdException e) {
          assertThat(e.code()).isEqualTo(ErrorCode.POOL_FULL);
        }
      }
      assertThat(acceptedAboveThreshold).isLessThanOrEqualTo(Pool.lanes(PoolGeometry.of(4)));
      assertThat(await(z.stats()).pool().memUsedTotal()).isLessThanOrEqualTo(1 << 20);
      // Below the threshold stores are accepted again.
      await(z.invalidateRange("swap0", 1, 999));
      await(z.invalidateRange("swap0", 3000, 5));
      for (int i = 0; i < 20; i++) {
        await(z.store("swap0", 4000 + i, gen.page(4000 + i, PageGenerator.Kind.RANDOM)));
      }
      assertThat(await(z.load("swap0", 4019))).isEqualTo(gen.page(4019, PageGenerator.Kind.RANDOM));
      assertThat(await(z.load("swap0", 0))).isEqualTo(original);
    }
  }
}
