package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * The 2013 zswap thread, case 1: writeback of page X starts; X is invalidated (trimmed);
 * then the write completes. In the kernel the entry and its compressed page leaked. Here the
 * invalidate frees the handle at once and the late completion, no longer current, frees its
 * backing slot.
 */
class WritebackVsInvalidateTest {

  @Test
  void invalidateDuringWritebackFreesHandleAndSlotAndReadsZeros() {
    try (WritebackScenario s = new WritebackScenario()) {
      long x = 7;
      await(s.z.store(WritebackScenario.EXPORT, x, s.page(1)));
      CompletionStage<WritebackResult> writeback = s.z.writeback(WritebackMode.ALL);
      s.awaitWriteIssued(0);                                    // X's bytes are on their way, held

      assertThat(await(s.z.invalidate(WritebackScenario.EXPORT, x))).isEqualTo(1);
      assertThat(s.engineStats().pool().handlesInUse()).as("handle freed by the invalidate").isZero();
      assertThat(await(s.z.load(WritebackScenario.EXPORT, x))).isEqualTo(new byte[4096]);

      s.io.releaseWrite(0);                                     // the write completes late
      WritebackResult result = await(writeback);
      assertThat(result.writtenBack()).as("a cancelled writeback is not counted as written").isZero();
      s.eventuallyBackingBytes(0);                              // its slot was freed, not leaked

      ExportStats stats = s.stats();
      assertThat(stats.storedPages()).isZero();
      assertThat(stats.backing().writtenBackPages()).isZero();
      assertThat(await(s.z.load(WritebackScenario.EXPORT, x))).isEqualTo(new byte[4096]);
      s.assertNothingLeaks();
    }
  }

  @Test
  void trimOfARangeDuringWritebackFreesOnlyThatRange() {
    try (WritebackScenario s = new WritebackScenario()) {
      for (int i = 0; i < 10; i++) {
        await(s.z.store(WritebackScenario.EXPORT, i, s.page(i)));
      }
      CompletionStage<WritebackResult> writeback = s.z.writeback(WritebackMode.ALL);
      s.awaitWriteIssued(9);                                   // all ten writes held
      assertThat(await(s.z.invalidateRange(WritebackScenario.EXPORT, 0, 5))).isEqualTo(5);
      s.io.releaseAllWrites();
      assertThat(await(writeback).writtenBack()).isEqualTo(5);

      for (int i = 0; i < 10; i++) {
        byte[] expected = i < 5 ? new byte[4096] : s.page(i);
        assertThat(await(s.z.load(WritebackScenario.EXPORT, i))).as("page %d", i).isEqualTo(expected);
      }
      ExportStats stats = s.stats();
      assertThat(stats.backing().writtenBackPages()).isEqualTo(5);
      assertThat(stats.backing().loadsFromBacking()).isEqualTo(5);
      assertThat(s.engineStats().pool().handlesInUse()).as("written-back pages hold no handle").isZero();
      s.assertNothingLeaks();
    }
  }
}
