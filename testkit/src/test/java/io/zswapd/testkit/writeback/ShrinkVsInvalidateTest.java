package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * The 2024 zswap thread: the LRU shrinker picks X as a victim and drops the LRU lock; X is
 * invalidated and freed before the shrinker processes it: use after free. Here the shrinker is
 * the shard's own CLOCK: picking and marking X is one step of X's owner, nothing can free it
 * in between, and an invalidate before the victim is processed cancels it. The test holds the
 * victim's write open, invalidates X, and stores another page Y that takes over X's freed
 * handle slot: the late completion must touch neither.
 */
class ShrinkVsInvalidateTest {

  @Test
  void victimInvalidatedBeforeItIsProcessedIsNeitherUsedNorLeaked() {
    try (WritebackScenario s = new WritebackScenario()) {
      long x = 100;
      long y = 200;
      await(s.z.store(WritebackScenario.EXPORT, x, s.page(1)));
      CompletionStage<WritebackResult> shrink = s.z.writeback(WritebackMode.LRU); // second chance, then X
      s.awaitWriteIssued(0);

      await(s.z.invalidate(WritebackScenario.EXPORT, x));
      await(s.z.store(WritebackScenario.EXPORT, y, s.page(2)));         // reuses X's handle slot
      s.io.releaseWrite(0);
      assertThat(await(shrink).writtenBack()).isZero();
      s.eventuallyBackingBytes(0);

      assertThat(await(s.z.load(WritebackScenario.EXPORT, x))).isEqualTo(new byte[4096]);
      assertThat(await(s.z.load(WritebackScenario.EXPORT, y))).as("Y untouched by X's late write").isEqualTo(s.page(2));
      assertThat(s.stats().backing().writtenBackPages()).isZero();
      assertThat(s.engineStats().pool().handlesInUse()).isEqualTo(1);
      s.assertNothingLeaks();
    }
  }

  @Test
  void idleWritebackSkipsRecentlyStoredPagesAndLruTakesThemOnItsSecondPass() {
    try (WritebackScenario s = new WritebackScenario()) {
      s.io.holdWrites(false);
      for (int i = 0; i < 4; i++) {
        await(s.z.store(WritebackScenario.EXPORT, i, s.page(i)));
      }
      // Stores set the referenced bit: an idle writeback takes none of them; the LRU clears the
      // bits on its first pass and takes the pages on its second.
      assertThat(await(s.z.writeback(WritebackMode.IDLE)).writtenBack()).as("all pages are referenced").isZero();
      assertThat(await(s.z.writeback(WritebackMode.LRU)).writtenBack()).isEqualTo(4);
      s.assertNothingLeaks();
    }
  }
}
