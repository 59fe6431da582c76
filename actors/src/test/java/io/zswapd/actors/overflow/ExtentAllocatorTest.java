package io.zswapd.actors.overflow;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ExtentAllocatorTest {
  @Test
  void freedRunsAreReusedMergedAndTheEndShrinks() {
    ExtentAllocator a = new ExtentAllocator();
    long x = a.allocate(10);
    long y = a.allocate(5);
    long z = a.allocate(3);
    assertThat(x).isZero();
    assertThat(y).isEqualTo(10);
    assertThat(z).isEqualTo(15);
    a.free(y, 5);
    assertThat(a.allocate(4)).isEqualTo(10); // first fit
    a.free(10, 4);
    a.free(x, 10); // merges with [10, 15)
    assertThat(a.freeRuns()).isEqualTo(1);
    a.free(z, 3); // reaches the end: everything is free
    assertThat(a.end()).isZero();
    assertThat(a.freeRuns()).isZero();
  }

  @Test
  void randomAllocationsNeverOverlapAndAllFreedLeavesNothing() {
    long seed = 5;
    SplittableRandom rnd = new SplittableRandom(seed);
    ExtentAllocator a = new ExtentAllocator();
    List<long[]> live = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      if (live.isEmpty() || rnd.nextBoolean()) {
        long n = 1 + rnd.nextInt(40);
        long s = a.allocate(n);
        for (long[] other : live) {
          assertThat(s + n <= other[0] || other[0] + other[1] <= s).as("seed %d: overlap", seed).isTrue();
        }
        live.add(new long[] {s, n});
      } else {
        long[] e = live.remove(rnd.nextInt(live.size()));
        a.free(e[0], e[1]);
      }
    }
    for (long[] e : live) {
      a.free(e[0], e[1]);
    }
    assertThat(a.end()).isZero();
    assertThat(a.freeRuns()).isZero();
  }
}
