package io.zswapd.actors.migration;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A migration round's destination pages go out as runs while runs are left, then lowest first. */
class DestinationPagesTest {

  @Test
  void aZspageGetsTheLowestRunLeftElseTheLowestPages() {
    // Granted out of order, as holes of two chunks: runs 10..13 and 40..43, strays 5, 7, 20, 22.
    DestinationPages d = new DestinationPages(new int[] {41, 5, 10, 20, 42, 11, 7, 12, 40, 13, 22, 43});
    assertThat(d.take(4)).containsExactly(10, 11, 12, 13);
    assertThat(d.take(1)).containsExactly(5);
    assertThat(d.take(4)).containsExactly(40, 41, 42, 43);
    assertThat(d.take(2)).as("no run of two is left").containsExactly(7, 20);
    assertThat(d.take(2)).as("only one page is left").isNull();
    assertThat(d.rest()).containsExactly(22);
  }

  @Test
  void aRunIsNotPiecedTogetherAcrossATakenPage() {
    DestinationPages d = new DestinationPages(new int[] {1, 2, 3, 4, 5, 6});
    assertThat(d.take(1)).containsExactly(1);
    assertThat(d.take(3)).containsExactly(2, 3, 4);
    assertThat(d.take(3)).isNull();
    assertThat(d.take(2)).containsExactly(5, 6);
    assertThat(d.rest()).isEmpty();
  }
}
