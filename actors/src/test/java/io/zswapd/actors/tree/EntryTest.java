package io.zswapd.actors.tree;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.pool.Handle;
import org.junit.jupiter.api.Test;

class EntryTest {
  @Test
  void storedEntriesKeepHandleLengthAndState() {
    long h = Handle.of(255, Integer.MAX_VALUE);
    for (int len : new int[] {1, 100, 4095, 4096}) {
      long e = Entry.stored(h, len, CodecKind.LZ4);
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

  @Test
  void codecAndKeptTravelWithThePageThroughEveryState() {
    long h = Handle.of(4095, -1);
    for (CodecKind codec : CodecKind.values()) {
      long e = Entry.withReferenced(Entry.stored(h, 4095, codec));
      assertThat(Entry.codec(e)).isEqualTo(codec);
      assertThat(Entry.kept(e)).isFalse();
      long r = Entry.recompressing(e);
      assertThat(Entry.state(r)).isEqualTo(Entry.RECOMPRESSING);
      assertThat(Entry.inPool(r)).isTrue();
      assertThat(Entry.referenced(r)).as("a recompressing page keeps its referenced bit").isTrue();
      assertThat(Entry.handle(r)).isEqualTo(h);
      long back = Entry.withKept(Entry.storedAgain(r));
      assertThat(Entry.state(back)).isEqualTo(Entry.STORED);
      assertThat(Entry.kept(back)).isTrue();
      assertThat(Entry.codec(back)).isEqualTo(codec);
      assertThat(Entry.length(back)).isEqualTo(4095);
      assertThat(Entry.handle(back)).isEqualTo(h);
      long w = Entry.writingBack(back);
      assertThat(Entry.referenced(w)).isFalse();
      assertThat(Entry.codec(w)).isEqualTo(codec);
      assertThat(Entry.kept(w)).isTrue();
      long off = Entry.writtenBack(64L * 1000, 4095, codec);
      assertThat(Entry.codec(off)).isEqualTo(codec);
      assertThat(Entry.backingOffset(off)).isEqualTo(64000);
      assertThat(Entry.length(off)).isEqualTo(4095);
    }
  }
}
