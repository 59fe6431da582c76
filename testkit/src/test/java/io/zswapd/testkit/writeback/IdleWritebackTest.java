package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.GatedBackingIo;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** pool.writeback.idle-after: pages nobody touches for a whole period are written back; touched ones stay. */
class IdleWritebackTest {

  @Test
  void untouchedPagesAreWrittenBackAfterTheIdlePeriodAndTouchedOnesStay() {
    try (WritebackScenario s = new WritebackScenario("zswapd.pool.writeback.idle-after = 1s\n",
        GatedBackingIo.inMemory())) {
      for (int i = 0; i < 20; i++) {
        await(s.z.store(WritebackScenario.EXPORT, i, s.page(i)));
      }
      // Keep pages 0..4 busy for a few periods; 5..19 are never touched again.
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3_500);
      while (System.nanoTime() < until) {
        for (int i = 0; i < 5; i++) {
          await(s.z.load(WritebackScenario.EXPORT, i));
        }
        sleep(100);
      }
      Awaitility.await().atMost(10, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(100))
          .untilAsserted(() -> assertThat(s.stats().backing().writtenBackPages()).isEqualTo(15));
      assertThat(s.stats().backing().loadsFromBacking()).as("the busy pages never left memory").isZero();
      for (int i = 0; i < 20; i++) {
        assertThat(await(s.z.load(WritebackScenario.EXPORT, i))).as("page %d", i).isEqualTo(s.page(i));
      }
      s.assertNothingLeaks();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
