package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.engine.ExportStats;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every configured compressor, and same-filled detection switched off, round-trip every kind of page. */
class CompressorChoiceTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "zswapd.pool.compressor = lz4",
      "zswapd.pool.compressor = lz4hc\nzswapd.pool.compression-level = 12",
      "zswapd.pool.compressor = zstd",
      "zswapd.pool.compressor = zstd\nzswapd.pool.compression-level = 19",
      "zswapd.pool.same-filled-pages = off",
      "zswapd.pool.max-pages-per-zspage = 16"})
  void everyKindOfPageRoundTrips(String config) {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 64 MiB\n" + config)) {
      Zswapd z = engine.zswapd();
      PageGenerator gen = new PageGenerator(config.hashCode());
      PageGenerator.Kind[] kinds = PageGenerator.Kind.values();
      for (int i = 0; i < 700; i++) {
        await(z.store("swap0", i, gen.page(i, kinds[i % kinds.length])));
      }
      for (int i = 0; i < 700; i++) {
        assertThat(await(z.load("swap0", i))).as("%s: page %d", config, i).isEqualTo(gen.page(i, kinds[i % kinds.length]));
      }
      ExportStats s = await(z.stats()).export("swap0").orElseThrow();
      if (config.contains("same-filled-pages = off")) {
        assertThat(s.samePages()).isZero();
      } else {
        assertThat(s.samePages()).isEqualTo(200);
      }
      assertThat(s.comprDataSize()).isLessThan(s.origDataSize() / 2);
    }
  }
}
