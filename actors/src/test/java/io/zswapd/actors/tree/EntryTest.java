package io.zswapd.actors.tree;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.pool.Handle;
import org.junit.jupiter.api.Test;

class EntryTest {
  @Test
  void storedEntriesKeepHandleLengthAndState() {
    long h = Handle.of(255, Integer.MAX_VALUE);
    for (int len : new int[] {1, 100, 4095, 4096}) {
      long e = Entry.stored(h, len);
      assertThat(Entry.state(e)).isEqualTo(Entry.STORED);
      assertThat(Entry.length(e)).isEqualTo(len);
      assertThat(Entry.handle(e)).isEqualTo(h);
      assertThat(Entry.referenced(e)).isFalse();
      long r = Entry.withReferenced(e);
      assertThat(Entry.referenced(r)).isTrue();
      assertThat(Entry.handle(r)).isEqualTo(h);
      assertThat(Entry.length(r)).isEqualTo(len);
      assertThat(Entry.withoutReferenced(r)).isEqualTo(e);
    }
  }

  @Test
  void absentIsZeroAndSameFilledHasItsState() {
    assertThat(Entry.state(0)).isEqualTo(Entry.ABSENT);
    assertThat(Entry.state(Entry.sameFilled())).isEqualTo(Entry.SAME_FILLED);
  }
}
