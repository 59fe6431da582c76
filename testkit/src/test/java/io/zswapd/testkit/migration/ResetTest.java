package io.zswapd.testkit.migration;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import org.junit.jupiter.api.Test;

/** {@code Zswapd.reset}: zram's reset, the export's pages dropped and the export kept. */
class ResetTest {

  @Test
  void resetDropsEveryPageKeepsTheExportAndTheOtherExportsPages() {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 64 MiB")) {
      Zswapd z = engine.zswapd();
      PageGenerator gen = new PageGenerator(11);
      assertThat(await(z.addExport("other", 1 << 20))).isTrue();
      for (int i = 0; i < 100; i++) {
        await(z.store("swap0", i, gen.page(i, PageGenerator.Kind.C50)));
      }
      await(z.store("other", 3, gen.page(1000, PageGenerator.Kind.C75)));

      assertThat(await(z.reset("swap0"))).isEqualTo(100L);
      assertThat(await(z.load("swap0", 42))).isEqualTo(new byte[4096]);
      assertThat(await(z.load("other", 3))).isEqualTo(gen.page(1000, PageGenerator.Kind.C75));
      EngineStats s = await(z.stats());
      assertThat(s.export("swap0").orElseThrow().storedPages()).isZero();
      assertThat(s.pool().handlesInUse()).isEqualTo(1);

      await(z.store("swap0", 42, gen.page(7, PageGenerator.Kind.TEXT))); // still an export
      assertThat(await(z.load("swap0", 42))).isEqualTo(gen.page(7, PageGenerator.Kind.TEXT));
      assertThat(await(z.reset("swap0"))).isEqualTo(1L);
    }
  }

  @Test
  void resetOfAnUnknownExportFailsNamingIt() {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 64 MiB")) {
      assertThatThrownBy(() -> await(engine.zswapd().reset("nope")))
          .isInstanceOfSatisfying(ZswapdException.class, e -> assertThat(e.error().code()).isEqualTo(ErrorCode.NO_SUCH_EXPORT))
          .hasMessageContaining("nope");
    }
  }

  @Test
  void resetAfterShutdownIsRefusedAsShuttingDown() {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 64 MiB")) {
      assertThat(await(engine.zswapd().shutdown()).clean()).isTrue();
      assertThatThrownBy(() -> await(engine.zswapd().reset("swap0")))
          .isInstanceOfSatisfying(ZswapdException.class, e -> assertThat(e.error().code()).isEqualTo(ErrorCode.SHUTTING_DOWN));
    }
  }
}
