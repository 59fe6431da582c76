/*
 * Same-filled detection decides whether a page is stored as 8 bytes instead of being compressed,
 * so a false positive loses data: the last byte of the page must count, and every input form
 * (array, heap buffer, direct buffer, either byte order) must give the same answer and word.
 */
package io.zswapd.actors.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SameFilledPageTest {

  private static final long WORD = 0x0123456789ABCDEFL;

  @Test
  void zeroPageIsSameFilledWithWordZero() {
    byte[] page = new byte[4096];
    assertThat(SameFilledPage.isSameFilled(page, 0, 4096)).isTrue();
    assertThat(SameFilledPage.word(page, 0)).isZero();
    for (ByteBuffer b : buffersHolding(page)) {
      assertThat(SameFilledPage.isSameFilled(b)).as(describe(b)).isTrue();
      assertThat(SameFilledPage.word(b)).as(describe(b)).isZero();
      assertThat(b.position()).as("position untouched, " + describe(b)).isEqualTo(37);
      assertThat(b.limit()).as("limit untouched, " + describe(b)).isEqualTo(37 + 4096);
    }
  }

  @Test
  void repeatedWordIsDetectedAndFillReproducesThePage() {
    byte[] page = new byte[4096];
    for (int i = 0; i < page.length; i += 8) {
      ByteBuffer.wrap(page, i, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(WORD);
    }
    assertThat(page[0]).as("little-endian: low byte first").isEqualTo((byte) 0xEF);

    assertThat(SameFilledPage.isSameFilled(page, 0, 4096)).isTrue();
    assertThat(SameFilledPage.word(page, 0)).isEqualTo(WORD);
    for (ByteBuffer b : buffersHolding(page)) {
      assertThat(SameFilledPage.isSameFilled(b)).as(describe(b)).isTrue();
      assertThat(SameFilledPage.word(b)).as(describe(b)).isEqualTo(WORD);
    }

    byte[] rebuilt = new byte[4096 + 16];
    Arrays.fill(rebuilt, (byte) 0x77);
    SameFilledPage.fill(WORD, rebuilt, 8, 4096);
    assertThat(Arrays.copyOfRange(rebuilt, 8, 8 + 4096)).isEqualTo(page);
    assertThat(Arrays.copyOf(rebuilt, 8)).as("before the fill range").containsOnly((byte) 0x77);
    assertThat(Arrays.copyOfRange(rebuilt, 8 + 4096, rebuilt.length)).as("after the fill range")
        .containsOnly((byte) 0x77);
  }

  @Test
  void oneDifferentByteAtTheVeryEndIsNotSameFilled() {
    byte[] page = new byte[4096];
    SameFilledPage.fill(WORD, page, 0, 4096);
    page[4095] ^= 1;
    assertThat(SameFilledPage.isSameFilled(page, 0, 4096)).isFalse();
    for (ByteBuffer b : buffersHolding(page)) {
      assertThat(SameFilledPage.isSameFilled(b)).as(describe(b)).isFalse();
    }
  }

  @Test
  void arrayAndEveryBufferFormAgreeOnSeededPages() {
    long seed = SamplePages.RUN_SEED;
    SplittableRandom random = new SplittableRandom(seed);
    for (int trial = 0; trial < 300; trial++) {
      byte[] page = new byte[4096];
      long word = random.nextInt(4) == 0 ? 0 : random.nextLong();
      SameFilledPage.fill(word, page, 0, 4096);
      boolean damaged = random.nextBoolean();
      if (damaged) {
        page[random.nextInt(4096)] ^= (byte) (1 + random.nextInt(255));
      }
      String what = "trial " + trial + " word " + Long.toHexString(word) + " damaged " + damaged
          + " " + SamplePages.replay();
      assertThat(SameFilledPage.isSameFilled(page, 0, 4096)).as(what).isEqualTo(!damaged);
      for (ByteBuffer b : buffersHolding(page)) {
        assertThat(SameFilledPage.isSameFilled(b)).as(describe(b) + " " + what).isEqualTo(!damaged);
        assertThat(SameFilledPage.word(b)).as(describe(b) + " " + what)
            .isEqualTo(SameFilledPage.word(page, 0));
      }
    }
  }

  @Test
  void pageInsideALargerArrayIsCheckedOnlyInItsRange() {
    byte[] holder = new byte[4096 + 24];
    Arrays.fill(holder, (byte) 1);
    Arrays.fill(holder, 16, 16 + 4096, (byte) 0);
    assertThat(SameFilledPage.isSameFilled(holder, 16, 4096)).isTrue();
    assertThat(SameFilledPage.isSameFilled(holder, 8, 4096)).isFalse();
  }

  @Test
  void lengthsThatAreNotWholeWordsAreRejected() {
    assertThatThrownBy(() -> SameFilledPage.isSameFilled(new byte[4096], 0, 4092))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4092");
    assertThatThrownBy(() -> SameFilledPage.isSameFilled(ByteBuffer.allocate(0)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SameFilledPage.fill(1L, new byte[16], 0, 12))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("12");
  }

  /** The page as heap and direct buffers, both byte orders, at an odd position; position kept. */
  private static List<ByteBuffer> buffersHolding(byte[] page) {
    List<ByteBuffer> buffers = new ArrayList<>();
    for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN}) {
      for (ByteBuffer b : new ByteBuffer[] {
          ByteBuffer.allocate(4096 + 40), ByteBuffer.allocateDirect(4096 + 40)}) {
        b.put(37, page).position(37).limit(37 + 4096);
        buffers.add(b.order(order));
      }
    }
    return buffers;
  }

  private static String describe(ByteBuffer b) {
    return (b.isDirect() ? "direct " : "heap ") + b.order();
  }
}
