package io.zswapd.actors.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IntMapTest {
  private static final long SEED = 0x1D7A;

  /**
   * Seeded random puts, replacements and removals, checked against a HashMap after every step:
   * keys drawn from a small range (long probe runs, so removals shift entries across the
   * table's end) and from the whole int range.
   */
  @Test
  void behavesAsAHashMapUnderRandomPutsAndRemovals() {
    for (int round = 0; round < 4; round++) {
      long seed = SEED + round;
      SplittableRandom rnd = new SplittableRandom(seed);
      IntMap<String> map = new IntMap<>();
      Map<Integer, String> model = new HashMap<>();
      int range = round % 2 == 0 ? 200 : Integer.MAX_VALUE;
      for (int step = 0; step < 200_000; step++) {
        int key = range == Integer.MAX_VALUE ? rnd.nextInt() : rnd.nextInt(range) - range / 4;
        String what = "seed " + seed + ", step " + step + ", key " + key;
        // phases that fill, then drain, so the map grows and shrinks
        boolean filling = (step / 5_000) % 2 == 0;
        if (rnd.nextInt(10) < (filling ? 7 : 3)) {
          String value = "v" + step;
          assertThat(map.put(key, value)).as(what).isEqualTo(model.put(key, value));
        } else {
          assertThat(map.remove(key)).as(what).isEqualTo(model.remove(key));
        }
        assertThat(map.size()).as(what).isEqualTo(model.size());
        int probe = range == Integer.MAX_VALUE ? rnd.nextInt() : rnd.nextInt(range) - range / 4;
        assertThat(map.get(probe)).as(what + ", probe " + probe).isEqualTo(model.get(probe));
      }
      for (Map.Entry<Integer, String> e : model.entrySet()) {
        assertThat(map.get(e.getKey())).as("seed %d, key %d at the end", seed, e.getKey()).isEqualTo(e.getValue());
      }
    }
  }

  @Test
  void emptiedAfterAPeakItGoesBackToItsFirstSize() {
    IntMap<Integer> map = new IntMap<>();
    for (int k = 0; k < 1000; k++) {
      map.put(k * 16_384, k); // keys that are one tree shard's width apart
    }
    assertThat(map.capacity()).isGreaterThan(IntMap.SHRINK_ABOVE);
    for (int k = 0; k < 1000; k++) {
      assertThat(map.remove(k * 16_384)).isEqualTo(k);
    }
    assertThat(map.isEmpty()).isTrue();
    assertThat(map.capacity()).isEqualTo(IntMap.MIN_CAPACITY);
    assertThat(map.get(0)).isNull();
  }

  @Test
  void refusesANullValueNamingTheKey() {
    assertThatThrownBy(() -> new IntMap<String>().put(7, null)).hasMessageContaining("key 7");
  }
}
