package io.zswapd.testkit.recompress;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.RecompressMode;
import io.zswapd.protocol.engine.RecompressResult;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.MessageGate;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * Deterministic replays of a recompression meeting another operation on the same page (the
 * zswapd rule: a recompression's answer is installed only while it is the page's current
 * one, by generation; anything that frees the page cancels it). Each holds the batch's new
 * copies ({@link TreeShard.Recompressed}) at the shard, after the page was marked and its
 * bytes read, until the other operation is done.
 */
class RecompressRaceTest {
  private static final long X = 7;

  private static MessageGate holdCopies(GatedActors actors) {
    return actors.hold("the batch's new copies at shard 0",
        GatedActors.actor(EngineActor.treeShard(RecompressScenario.EXPORT, 0)), TreeShard.Recompressed.class);
  }

  @Test
  void aStoreDuringRecompressionWinsAndTheLateCopyIsDropped() {
    GatedActors actors = new GatedActors();
    try (RecompressScenario s = new RecompressScenario("", actors)) {
      await(s.z.store(RecompressScenario.EXPORT, X, s.page(X, 1)));
      MessageGate copies = holdCopies(actors);
      CompletionStage<RecompressResult> run = s.z.recompress(RecompressMode.ALL, 0);
      copies.awaitArrival(0);                                   // marked, read, compressed: held

      await(s.z.store(RecompressScenario.EXPORT, X, s.page(X, 2)));   // the newer store
      assertThat(await(s.z.load(RecompressScenario.EXPORT, X))).isEqualTo(s.page(X, 2));

      copies.open();                                            // the old page's copy arrives late
      RecompressResult r = await(run);
      assertThat(r.recompressed()).as("a cancelled recompression installs nothing: %s", r).isZero();
      assertThat(await(s.z.load(RecompressScenario.EXPORT, X))).as("the newest store wins").isEqualTo(s.page(X, 2));
      ExportStats stats = s.stats();
      assertThat(stats.storedPages()).isEqualTo(1);
      assertThat(stats.recompress().pages()).isZero();
      assertThat(s.engineStats().pool().handlesInUse()).as("only the new store's object").isEqualTo(1);

      RecompressResult next = await(s.z.recompress(RecompressMode.ALL, 0));
      assertThat(next.recompressed()).as("the new page is a candidate like any other").isEqualTo(1);
      assertThat(await(s.z.load(RecompressScenario.EXPORT, X))).isEqualTo(s.page(X, 2));
      s.assertNothingLeaks();
    }
  }

  @Test
  void anInvalidateDuringRecompressionFreesThePageAndTheLateCopyIsDropped() {
    GatedActors actors = new GatedActors();
    try (RecompressScenario s = new RecompressScenario("", actors)) {
      await(s.z.store(RecompressScenario.EXPORT, X, s.page(X, 1)));
      await(s.z.store(RecompressScenario.EXPORT, X + 1, s.page(X + 1, 1)));
      MessageGate copies = holdCopies(actors);
      CompletionStage<RecompressResult> run = s.z.recompress(RecompressMode.ALL, 0);
      copies.awaitArrival(0);

      assertThat(await(s.z.invalidate(RecompressScenario.EXPORT, X))).isEqualTo(1);   // trim
      assertThat(s.engineStats().pool().handlesInUse()).as("the invalidate freed X's object at once").isEqualTo(1);

      copies.open();
      RecompressResult r = await(run);
      assertThat(r.recompressed()).as("only X + 1: %s", r).isEqualTo(1);
      assertThat(await(s.z.load(RecompressScenario.EXPORT, X))).as("X stays trimmed").isEqualTo(new byte[4096]);
      assertThat(await(s.z.load(RecompressScenario.EXPORT, X + 1))).isEqualTo(s.page(X + 1, 1));
      ExportStats stats = s.stats();
      assertThat(stats.storedPages()).isEqualTo(1);
      assertThat(stats.recompress().pages()).isEqualTo(1);
      assertThat(s.engineStats().pool().handlesInUse()).as("X + 1's new object only").isEqualTo(1);
      s.assertNothingLeaks();
    }
  }

  @Test
  void loadsDuringRecompressionReadTheOldObject() {
    GatedActors actors = new GatedActors();
    try (RecompressScenario s = new RecompressScenario("", actors)) {
      for (int i = 0; i < 10; i++) {
        await(s.z.store(RecompressScenario.EXPORT, i, s.page(i, 1)));
      }
      MessageGate copies = holdCopies(actors);
      CompletionStage<RecompressResult> run = s.z.recompress(RecompressMode.ALL, 0);
      copies.awaitArrival(0);
      for (int i = 0; i < 10; i++) {
        assertThat(await(s.z.load(RecompressScenario.EXPORT, i))).as("page %d while marked", i)
            .isEqualTo(s.page(i, 1));
      }
      byte[] range = await(s.z.loadPages(RecompressScenario.EXPORT, 0, 10));
      for (int i = 0; i < 10; i++) {
        assertThat(java.util.Arrays.copyOfRange(range, i * 4096, (i + 1) * 4096)).isEqualTo(s.page(i, 1));
      }
      // writeback (none here: no backing file) and a patch of a marked page
      assertThat(await(s.z.writeback(WritebackMode.ALL)).writtenBack()).isZero();
      copies.open();
      assertThat(await(run).recompressed()).isEqualTo(10);
      for (int i = 0; i < 10; i++) {
        assertThat(await(s.z.load(RecompressScenario.EXPORT, i))).isEqualTo(s.page(i, 1));
      }
      s.assertNothingLeaks();
    }
  }
}
