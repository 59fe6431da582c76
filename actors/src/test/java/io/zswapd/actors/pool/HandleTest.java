package io.zswapd.actors.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HandleTest {
  @Test
  void classAndSlotRoundTripAndFitInFortyBits() {
    SplittableRandom rnd = new SplittableRandom(1);
    for (int i = 0; i < 100_000; i++) {
      int cls = rnd.nextInt(256);
      int slot = rnd.nextInt(Integer.MAX_VALUE);
      long h = Handle.of(cls, slot);
      assertThat(h >>> Handle.BITS).isZero();
      assertThat(Handle.classIndex(h)).isEqualTo(cls);
      assertThat(Handle.slot(h)).isEqualTo(slot);
    }
  }
}
