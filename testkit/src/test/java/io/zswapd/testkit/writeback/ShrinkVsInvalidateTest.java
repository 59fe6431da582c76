package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.MessageGate;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * The 2024 zswap thread: the LRU shrinker picks X as a victim and drops the LRU lock; X is
 * invalidated and freed before the shrinker processes it: use after free. Here the shrinker is
 * the shard's own CLOCK: picking and marking X is one step of X's owner, nothing can free it
 * in between, and an invalidate before the victim is processed cancels it. Two windows are
 * replayed: between the pick and the read of the victim's bytes (the size class's
 * {@code ReadStored} held), and between the read and the backing write's completion (the write
 * held). In both, X is invalidated and another page Y takes over X's freed handle slot: the
 * late read or write must touch neither.
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

  /**
   * The pick-to-read window: the victim's {@code ReadStored} is held at its size class, and so is
   * everything that reaches that class after it (the invalidate's {@code Free}, Y's
   * {@code Alloc}: Y differs from X in its last byte only, so it compresses to the same length
   * and lands in X's class), so the class sees them in the order the shard sent them. The invalidate reaches
   * the shard while the read is out; the bytes that come back belong to a cancelled victim.
   */
  @Test
  void victimInvalidatedBetweenItsPickAndItsReadIsNeitherWrittenNorLeaked() {
    GatedActors actors = new GatedActors();
    MessageGate read = actors.hold("the victim's ReadStored", GatedActors.role(EngineActor.Role.SIZE_CLASS),
        SizeClass.ReadStored.class);
    try (WritebackScenario s = new WritebackScenario("", GatedBackingIo.inMemory(), actors)) {
      long x = 100;
      long y = 104; // the same lane as X (a page's lane is its slot modulo the lanes)
      await(s.z.store(WritebackScenario.EXPORT, x, s.page(1)));
      CompletionStage<WritebackResult> shrink = s.z.writeback(WritebackMode.ALL);
      EngineActor victimClass = read.awaitArrival(0).actor();             // picked, marked, read held
      MessageGate behind = actors.hold("what the shard sends X's size class after the read",
          GatedActors.actor(victimClass), m -> m instanceof SizeClass.Work || m instanceof SizeClass.Read
              || m instanceof SizeClass.ReadMany);

      assertThat(await(s.z.invalidate(WritebackScenario.EXPORT, x))).isEqualTo(1);
      byte[] pageY = s.page(1);
      pageY[pageY.length - 1] ^= 0x55;
      CompletionStage<Void> storeY = s.z.store(WritebackScenario.EXPORT, y, pageY);
      assertThat(((SizeClass.Work) behind.awaitArrival(0).message()).work().frees()).as("X's free, behind the read")
          .isEqualTo(1);
      assertThat(((SizeClass.Work) behind.awaitArrival(1).message()).work().allocs())
          .as("Y's allocation, in X's class").isEqualTo(1);

      read.open();                                                      // the read, then the free, then Y
      behind.open();
      await(storeY);
      assertThat(await(shrink).writtenBack()).as("a victim cancelled before its read is not written").isZero();

      assertThat(await(s.z.load(WritebackScenario.EXPORT, x))).isEqualTo(new byte[4096]);
      assertThat(await(s.z.load(WritebackScenario.EXPORT, y))).as("Y untouched by X's late read")
          .isEqualTo(pageY);
      assertThat(s.stats().backing().writtenBackPages()).isZero();
      assertThat(s.engineStats().pool().handlesInUse()).isEqualTo(1);

      // Y's writeback now: the shard's writes reach the backing store in the order it sent them,
      // so if the cancelled victim's bytes had been sent, they would be write 0 and Y's write 1.
      assertThat(await(s.z.writeback(WritebackMode.ALL)).writtenBack()).isEqualTo(1);
      assertThat(s.io.writeCalls()).as("backing writes: Y's only, never the cancelled victim's bytes").isEqualTo(1);
      assertThat(await(s.z.load(WritebackScenario.EXPORT, y))).as("Y read back from the file").isEqualTo(pageY);
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
