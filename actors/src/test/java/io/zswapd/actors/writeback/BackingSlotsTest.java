package io.zswapd.actors.writeback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class BackingSlotsTest {
  private static final long UNLIMITED = Long.MAX_VALUE;

  /**
   * The allocator as a bitmap of units in use, searched from scratch on every call: slow and
   * obviously right. It states the policy: best fit among the gaps below the end (lowest address
   * on a tie), else from the end, else refused past the capacity.
   */
  private static final class Model {
    final BitSet used = new BitSet();
    final long capacityUnits;

    Model(long capacityBytes) {
      capacityUnits = capacityBytes / BackingSlots.UNIT;
    }

    long allocate(int bytes) {
      int units = (int) BackingSlots.units(bytes);
      int end = used.length();
      int bestStart = -1;
      int bestLength = Integer.MAX_VALUE;
      for (int gap = used.nextClearBit(0); gap < end; gap = used.nextClearBit(gap)) {
        int gapEnd = used.nextSetBit(gap);
        int length = gapEnd - gap;
        if (length >= units && length < bestLength) {
          bestStart = gap;
          bestLength = length;
        }
        gap = gapEnd;
      }
      if (bestStart < 0) {
        if (end + units > capacityUnits) {
          return -1;
        }
        bestStart = end;
      }
      used.set(bestStart, bestStart + units);
      return (long) bestStart * BackingSlots.UNIT;
    }

    void free(long offset, int bytes) {
      int start = (int) (offset / BackingSlots.UNIT);
      used.clear(start, start + (int) BackingSlots.units(bytes));
    }
  }

  private record Slot(long offset, int bytes) {}

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 20130926, 424242})
  void agreesWithABruteForceModelOnEveryOffset(long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    // half the seeds run into a capacity, so refusals are compared too
    long capacity = seed % 2 == 0 ? UNLIMITED : 256 * 1024;
    BackingSlots slots = new BackingSlots(capacity);
    Model model = new Model(capacity);
    List<Slot> live = new ArrayList<>();
    long liveBytes = 0;
    for (int op = 0; op < 20_000; op++) {
      String where = "seed " + seed + ", op " + op;
      if (live.isEmpty() || rnd.nextInt(100) < 55) {
        int bytes = rnd.nextInt(10) == 0 ? 4096 : 1 + rnd.nextInt(rnd.nextBoolean() ? 4096 : 300);
        long offset = slots.allocate(bytes);
        assertThat(offset).as(where).isEqualTo(model.allocate(bytes));
        if (offset >= 0) {
          assertThat(offset % BackingSlots.UNIT).as(where).isZero();
          assertThat(offset + bytes).as(where).isLessThanOrEqualTo(Math.min(capacity, slots.end()));
          live.add(new Slot(offset, bytes));
          liveBytes += BackingSlots.units(bytes) * BackingSlots.UNIT;
        }
      } else {
        Slot s = live.remove(rnd.nextInt(live.size()));
        slots.free(s.offset(), s.bytes());
        model.free(s.offset(), s.bytes());
        liveBytes -= BackingSlots.units(s.bytes()) * BackingSlots.UNIT;
      }
      assertThat(slots.bytesInUse()).as(where).isEqualTo(liveBytes);
      assertThat(slots.slotsInUse()).as(where).isEqualTo(live.size());
      assertThat(slots.end()).as(where).isEqualTo((long) model.used.length() * BackingSlots.UNIT);
    }
    for (Slot s : live) {
      slots.free(s.offset(), s.bytes());
    }
    assertThat(slots.end()).as("seed %d", seed).isZero();
    assertThat(slots.bytesInUse()).isZero();
    assertThat(slots.slotsInUse()).isZero();
    assertThat(slots.freeRuns()).isZero();
  }

  @Test
  void pageCompressedTo2000BytesTakes2048() {
    BackingSlots slots = new BackingSlots(UNLIMITED);
    for (int i = 0; i < 1000; i++) {
      assertThat(slots.allocate(2000)).isEqualTo(i * 2048L);
    }
    assertThat(slots.bytesInUse() / slots.slotsInUse()).isEqualTo(2048);
    assertThat(slots.end()).isEqualTo(1000 * 2048L);
  }

  @Test
  void freedSlotIsReusedBeforeTheEndGrows() {
    BackingSlots slots = new BackingSlots(UNLIMITED);
    long a = slots.allocate(4096);
    slots.allocate(100);
    slots.free(a, 4096);
    assertThat(slots.allocate(1000)).isEqualTo(a);
    assertThat(slots.allocate(3072)).isEqualTo(1024); // exactly the rest of the freed run
    assertThat(slots.end()).isEqualTo(4096 + 128);
    assertThat(slots.freeRuns()).isZero();
  }

  @Test
  void bestFitTakesTheShortestRunThatIsLongEnough() {
    BackingSlots slots = new BackingSlots(UNLIMITED);
    long big = slots.allocate(4096);
    slots.allocate(64);
    long small = slots.allocate(1024);
    slots.allocate(64);
    slots.free(big, 4096);
    slots.free(small, 1024);
    assertThat(slots.allocate(1000)).isEqualTo(small);
    assertThat(slots.allocate(1000)).isEqualTo(big);
  }

  @Test
  void freedNeighboursMergeIntoOneRun() {
    BackingSlots slots = new BackingSlots(UNLIMITED);
    long a = slots.allocate(640);
    long b = slots.allocate(640);
    long c = slots.allocate(640);
    slots.allocate(64);
    slots.free(a, 640);
    slots.free(c, 640);
    assertThat(slots.freeRuns()).isEqualTo(2);
    slots.free(b, 640);
    assertThat(slots.freeRuns()).isEqualTo(1);
    assertThat(slots.allocate(1920)).isEqualTo(a);
  }

  @Test
  void freeRunReachingTheEndShrinksIt() {
    BackingSlots slots = new BackingSlots(UNLIMITED);
    long a = slots.allocate(4096);
    long b = slots.allocate(4096);
    slots.free(a, 4096);
    assertThat(slots.end()).isEqualTo(8192);
    slots.free(b, 4096);
    assertThat(slots.end()).isZero();
    assertThat(slots.freeRuns()).isZero();
  }

  @Test
  void capacityRefusesGrowthButNotAFreeRunThatFits() {
    BackingSlots slots = new BackingSlots(8192);
    long a = slots.allocate(4096);
    slots.allocate(4096);
    assertThat(slots.allocate(1)).isEqualTo(-1);
    slots.free(a, 4096);
    assertThat(slots.allocate(2000)).isEqualTo(a);
    assertThat(slots.allocate(2048)).isEqualTo(a + 2048);
    assertThat(slots.allocate(64)).isEqualTo(-1);
  }

  @Test
  void doubleFreeIsRefused() {
    BackingSlots slots = new BackingSlots(UNLIMITED);
    long a = slots.allocate(2000);
    slots.allocate(2000);
    slots.free(a, 2000);
    assertThatThrownBy(() -> slots.free(a, 2000))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("double free");
    assertThat(slots.slotsInUse()).isEqualTo(1);
  }

  @Test
  void freeOverlappingAFreeRunOrPastTheEndIsRefused() {
    BackingSlots slots = new BackingSlots(UNLIMITED);
    slots.allocate(1024);
    long b = slots.allocate(1024);
    slots.allocate(1024);
    slots.free(b, 1024);
    // starts inside the live slot before b and runs into b's free run
    assertThatThrownBy(() -> slots.free(b - 512, 1024)).isInstanceOf(IllegalStateException.class);
    // starts inside b's free run
    assertThatThrownBy(() -> slots.free(b + 512, 64)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> slots.free(3072, 64)).isInstanceOf(IllegalStateException.class);
    assertThat(slots.bytesInUse()).isEqualTo(2048);
  }

  @Test
  void badArgumentsAreRefused() {
    BackingSlots slots = new BackingSlots(UNLIMITED);
    assertThatThrownBy(() -> slots.allocate(0)).isInstanceOf(IllegalArgumentException.class);
    slots.allocate(128);
    assertThatThrownBy(() -> slots.free(32, 64)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new BackingSlots(-1)).isInstanceOf(IllegalArgumentException.class);
  }
}
