package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * The 2013 zswap thread, case 2: writeback of X starts; X is rewritten with new data; then
 * the write completes. In the kernel the old data went into the swap cache and was read back.
 * Here the newest store always wins: the stale completion frees its slot.
 */
class WritebackVsDuplicateStoreTest {

  @Test
  void rewriteDuringWritebackKeepsTheNewDataAndFreesTheStaleSlot() {
    try (WritebackScenario s = new WritebackScenario()) {
      long x = 3;
      await(s.z.store(WritebackScenario.EXPORT, x, s.page(1)));
      CompletionStage<WritebackResult> writeback = s.z.writeback(WritebackMode.ALL);
      s.awaitWriteIssued(0);

      await(s.z.store(WritebackScenario.EXPORT, x, s.page(2)));       // the newer store
      assertThat(await(s.z.load(WritebackScenario.EXPORT, x))).isEqualTo(s.page(2));
      s.io.releaseWrite(0);
      assertThat(await(writeback).writtenBack()).isZero();
      s.eventuallyBackingBytes(0);

      assertThat(await(s.z.load(WritebackScenario.EXPORT, x))).as("the newest store wins").isEqualTo(s.page(2));
      ExportStats stats = s.stats();
      assertThat(stats.storedPages()).isEqualTo(1);
      assertThat(stats.duplicateEntry()).isEqualTo(1);
      assertThat(stats.backing().writtenBackPages()).isZero();
      assertThat(s.engineStats().pool().handlesInUse()).as("only the new page's handle").isEqualTo(1);
      s.assertNothingLeaks();
    }
  }

  /**
   * The duplicate-store case with a second writeback of the same page in flight: X is written
   * back (write 0, held), rewritten, and written back again (write 1, held); then the stale
   * write 0 completes while write 1 is still held. The victim for X now is write 1's: only the
   * generation tells the two completions apart. Applied, write 0 would point X at the old bytes
   * and free the new page's handle.
   */
  @Test
  void staleFirstWritebackCompletingWhileASecondIsHeldIsFreedNotApplied() {
    try (WritebackScenario s = new WritebackScenario()) {
      long x = 5;
      await(s.z.store(WritebackScenario.EXPORT, x, s.page(1)));
      CompletionStage<WritebackResult> first = s.z.writeback(WritebackMode.ALL);
      s.awaitWriteIssued(0);                                          // old bytes, held

      await(s.z.store(WritebackScenario.EXPORT, x, s.page(2)));         // cancels the first victim
      assertThat(await(first).writtenBack()).as("the first writeback's victim was rewritten").isZero();
      CompletionStage<WritebackResult> second = s.z.writeback(WritebackMode.ALL);
      s.awaitWriteIssued(1);                                          // new bytes, held

      s.io.releaseWrite(0);                                           // the stale completion
      assertThat(await(s.z.load(WritebackScenario.EXPORT, x)))
          .as("X while its second writeback is held, after the stale first one completed").isEqualTo(s.page(2));
      assertThat(s.engineStats().pool().handlesInUse()).as("the new page's handle is still in use").isEqualTo(1);
      assertThat(second.toCompletableFuture().isDone()).as("the second writeback is held, so not answered").isFalse();

      s.io.releaseWrite(1);
      assertThat(await(second).writtenBack()).isEqualTo(1);
      assertThat(await(s.z.load(WritebackScenario.EXPORT, x))).as("X read back from the file").isEqualTo(s.page(2));
      ExportStats stats = s.stats();
      assertThat(stats.backing().writtenBackPages()).isEqualTo(1);
      assertThat(s.engineStats().pool().handlesInUse()).as("written back: no handle").isZero();
      long slot = (await(s.io.writeCall(1)).length() + 63) & ~63L;      // slots are rounded up to 64 bytes
      s.eventuallyBackingBytes(slot);                                 // write 0's slot was freed
      s.assertNothingLeaks();
    }
  }

  @Test
  void rewriteAfterWritebackReplacesTheBackedPageAndFreesItsSlot() {
    try (WritebackScenario s = new WritebackScenario()) {
      s.io.holdWrites(false);
      await(s.z.store(WritebackScenario.EXPORT, 1, s.page(1)));
      assertThat(await(s.z.writeback(WritebackMode.ALL)).writtenBack()).isEqualTo(1);
      assertThat(s.stats().backing().bytesUsed()).isPositive();
      await(s.z.store(WritebackScenario.EXPORT, 1, s.page(2)));
      s.eventuallyBackingBytes(0);
      assertThat(await(s.z.load(WritebackScenario.EXPORT, 1))).isEqualTo(s.page(2));
      s.assertNothingLeaks();
    }
  }
}
