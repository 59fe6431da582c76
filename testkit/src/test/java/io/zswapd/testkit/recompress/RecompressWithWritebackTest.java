package io.zswapd.testkit.recompress;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.RecompressMode;
import io.zswapd.protocol.engine.RecompressResult;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.MessageGate;
import io.zswapd.testkit.PageGenerator;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * Recompression beside the other background jobs: a recompressed page written back keeps its
 * codec in the backing file and loads back; compaction and page migration move recompressed
 * objects like any other; and a writeback that meets pages being recompressed passes them by.
 */
class RecompressWithWritebackTest {
  private static final int PAGES = 200;
  private final PageGenerator pages = new PageGenerator(4242);

  private EngineFixture start(GatedBackingIo io, GatedActors actors) {
    return EngineFixture.start("""
        zswapd.pool.max-size = 64 MiB
        zswapd.exports = [ { name = "swap0", size = 1 GiB, recompressor = zstd,
                             backing-file = "/nonexistent/zswapd-recompress-backing" } ]
        """, new ZswapdSetup(export -> io).withSpawnHook(actors));
  }

  private byte[] page(int i) {
    return pages.page(i, PageGenerator.Kind.TEXT);
  }

  @Test
  void recompressedPagesSurviveCompactionMigrationAndTheBackingFile() {
    GatedBackingIo io = GatedBackingIo.inMemory();
    try (EngineFixture engine = start(io, new GatedActors())) {
      Zswapd z = engine.zswapd();
      for (int i = 0; i < PAGES; i++) {
        await(z.store("swap0", i, page(i)));
      }
      for (int i = 0; i < PAGES; i += 2) {
        await(z.invalidate("swap0", i)); // holes, so compaction and migration have work
      }
      RecompressResult r = await(z.recompress(RecompressMode.ALL, 0));
      assertThat(r.recompressed()).isEqualTo(PAGES / 2);
      await(z.compact());
      await(z.migrate());
      for (int i = 1; i < PAGES; i += 2) {
        assertThat(await(z.load("swap0", i))).as("page %d after compaction and migration", i).isEqualTo(page(i));
      }
      assertThat(await(z.writeback(WritebackMode.ALL)).writtenBack()).isEqualTo(PAGES / 2);
      ExportStats s = await(z.stats()).export("swap0").orElseThrow();
      assertThat(s.recompress().pages()).as("written back: no longer in memory").isZero();
      assertThat(s.comprDataSize()).isZero();
      assertThat(s.backing().bytesUsed()).as("the smaller copies went to the file").isPositive();
      for (int i = 1; i < PAGES; i += 2) {
        assertThat(await(z.load("swap0", i))).as("page %d from the backing file", i).isEqualTo(page(i));
      }
      assertThat(await(z.loadPages("swap0", 1, 9))).hasSize(9 * 4096);
    }
  }

  @Test
  void aWritebackPassesByPagesBeingRecompressed() {
    GatedBackingIo io = GatedBackingIo.inMemory();
    GatedActors actors = new GatedActors();
    try (EngineFixture engine = start(io, actors)) {
      Zswapd z = engine.zswapd();
      int n = 100; // more than one batch: the first 64 are marked, the rest wait their turn
      for (int i = 0; i < n; i++) {
        await(z.store("swap0", i, page(i)));
      }
      MessageGate copies = actors.hold("the first batch's copies", GatedActors.actor(EngineActor.treeShard("swap0", 0)),
          TreeShard.Recompressed.class);
      CompletionStage<RecompressResult> run = z.recompress(RecompressMode.ALL, 0);
      copies.awaitArrival(0);
      assertThat(await(z.writeback(WritebackMode.ALL)).writtenBack())
          .as("the marked batch stays in memory; the others go").isEqualTo(n - 64);
      copies.open();
      RecompressResult r = await(run);
      assertThat(r.recompressed()).as("the batch, and none of the written-back pages: %s", r).isEqualTo(64);
      for (int i = 0; i < n; i++) {
        assertThat(await(z.load("swap0", i))).as("page %d", i).isEqualTo(page(i));
      }
      ExportStats s = await(z.stats()).export("swap0").orElseThrow();
      assertThat(s.backing().writtenBackPages()).isEqualTo(n - 64);
      assertThat(s.recompress().pages()).isEqualTo(64);
    }
  }
}
