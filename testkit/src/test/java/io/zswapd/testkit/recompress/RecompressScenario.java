package io.zswapd.testkit.recompress;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.ShutdownReport;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;

/**
 * One engine whose export {@code swap0} has a second codec (lz4 pool, zstd recompressor), for
 * the recompression tests: pages of text that zstd shrinks well below lz4's size.
 */
final class RecompressScenario implements AutoCloseable {
  static final String EXPORT = "swap0";
  static final String HOCON = """
      zswapd.pool.max-size = 64 MiB
      zswapd.pool.compressor = lz4
      zswapd.exports = [ { name = "swap0", size = 1 GiB, recompressor = zstd, recompression-level = 9 } ]
      """;
  final EngineFixture engine;
  final Zswapd z;
  final PageGenerator pages = new PageGenerator(2023);

  RecompressScenario(String extraHocon, SpawnHook actors) {
    this.engine = EngineFixture.start(HOCON + extraHocon, ZswapdSetup.of(actors));
    this.z = engine.zswapd();
  }

  RecompressScenario(String extraHocon) {
    this(extraHocon, SpawnHook.NONE);
  }

  /** Page {@code id}'s content, version {@code version}: text, which zstd packs tighter than lz4. */
  byte[] page(long id, int version) {
    return pages.page(id * 1000 + version, PageGenerator.Kind.TEXT);
  }

  ExportStats stats() {
    return await(z.stats()).export(EXPORT).orElseThrow();
  }

  EngineStats engineStats() {
    return await(z.stats());
  }

  /** The end of every scenario: swapoff leaves no handle, and the engine shuts down clean. */
  void assertNothingLeaks() {
    await(z.removeExport(EXPORT));
    assertThat(engineStats().pool().handlesInUse()).as("handles left after removal").isZero();
    ShutdownReport report = await(z.shutdown());
    assertThat(report.clean()).as("after shutdown: %s", report).isTrue();
  }

  @Override
  public void close() {
    engine.close();
  }
}
