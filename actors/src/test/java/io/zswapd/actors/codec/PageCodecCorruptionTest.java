/*
 * Damaged objects must surface as CorruptPageException: not as a library exception the engine
 * does not know about, not as a page of the wrong length, and never as a JVM crash from the native
 * decoders reading or writing out of bounds.
 */
package io.zswapd.actors.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PageCodecCorruptionTest {

  static Stream<CodecUnderTest> codecs() {
    return CodecUnderTest.all().stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("codecs")
  void truncatedInputIsACorruptPage(CodecUnderTest spec) {
    try (PageCodec codec = spec.create()) {
      byte[] compressed = compressed(codec, SamplePages.TEXT.generate());
      int n = compressed.length;
      for (int truncated : new int[] {0, 1, n / 2, n - 1}) {
        for (SourceShape in : SourceShape.values()) {
          assertThatThrownBy(
                  () -> in.decompress(codec, compressed, truncated, new byte[4096], 0, 4096))
              .as("%s truncated to %d of %d bytes from %s %s", spec, truncated, n, in,
                  SamplePages.replay())
              .isInstanceOf(CorruptPageException.class)
              .hasMessageContaining(spec.kind().name().toLowerCase())
              .hasMessageContaining(truncated + " compressed bytes")
              .hasMessageContaining("exactly 4096 bytes");
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("codecs")
  void pageOfTheWrongLengthIsACorruptPage(CodecUnderTest spec) {
    try (PageCodec codec = spec.create()) {
      byte[] compressed = compressed(codec, SamplePages.TEXT.generate());
      for (int expected : new int[] {2048, 4095, 4097, 8192}) {
        for (SourceShape in : SourceShape.values()) {
          CorruptPageException e = (CorruptPageException) catchThrowable(() -> in.decompress(
              codec, compressed, compressed.length, new byte[8192], 0, expected));
          assertThat(e).as("%s expecting %d bytes from %s", spec, expected, in).isNotNull();
          assertThat(e.codec()).isEqualTo(spec.kind());
          assertThat(e.compressedLength()).isEqualTo(compressed.length);
          assertThat(e.expectedLength()).isEqualTo(expected);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("codecs")
  void randomGarbageIsACorruptPage(CodecUnderTest spec) {
    SplittableRandom random = new SplittableRandom(SamplePages.RUN_SEED);
    try (PageCodec codec = spec.create()) {
      for (int trial = 0; trial < 200; trial++) {
        byte[] garbage = new byte[1 + random.nextInt(4200)];
        random.nextBytes(garbage);
        for (SourceShape in : SourceShape.values()) {
          assertThatThrownBy(
                  () -> in.decompress(codec, garbage, garbage.length, new byte[4096], 0, 4096))
              .as("%s trial %d, %d garbage bytes from %s %s", spec, trial, garbage.length, in,
                  SamplePages.replay())
              .isInstanceOf(CorruptPageException.class);
        }
      }
    }
  }

  /**
   * LZ4 has no checksum, so a flipped literal decodes to a wrong page of the right length; what
   * must never happen is any failure other than CorruptPageException. The codec must also stay
   * usable afterwards.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("codecs")
  void flippedBytesFailOnlyAsCorruptPage(CodecUnderTest spec) {
    SplittableRandom random = new SplittableRandom(SamplePages.RUN_SEED);
    byte[] page = SamplePages.RUNS_50.generate();
    try (PageCodec codec = spec.create()) {
      byte[] compressed = compressed(codec, page);
      int detected = 0;
      for (int trial = 0; trial < 500; trial++) {
        byte[] damaged = compressed.clone();
        int flips = 1 + random.nextInt(4);
        for (int f = 0; f < flips; f++) {
          damaged[random.nextInt(damaged.length)] ^= (byte) (1 + random.nextInt(255));
        }
        SourceShape in = SourceShape.values()[trial % SourceShape.values().length];
        Throwable failure =
            catchThrowable(() -> in.decompress(codec, damaged, damaged.length, new byte[4096], 0, 4096));
        assertThat(failure).as("%s trial %d from %s %s", spec, trial, in, SamplePages.replay())
            .satisfiesAnyOf(
                t -> assertThat(t).isNull(),
                t -> assertThat(t).isInstanceOf(CorruptPageException.class));
        detected += failure == null ? 0 : 1;
      }
      assertThat(detected).as("%s detected some of 500 damaged objects", spec).isPositive();
      byte[] out = new byte[4096];
      codec.decompress(compressed, 0, compressed.length, out, 0, 4096);
      assertThat(out).as("%s still decodes after corrupt input", spec).isEqualTo(page);
    }
  }

  private static byte[] compressed(PageCodec codec, byte[] page) {
    byte[] dst = new byte[codec.maxCompressedLength(page.length)];
    return Arrays.copyOf(dst, codec.compress(page, 0, page.length, dst, dst.length));
  }
}
