/*
 * Sizes the engine relies on: what compresses well really is small, what cannot compress is
 * reported as such, and maxLen is a hard limit honoured to the byte without exceptions (the engine
 * turns -1 into "store raw" or "reject", it must never see an LZ4Exception or ZstdException).
 */
package io.zswapd.actors.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PageCodecLimitsTest {

  static Stream<CodecUnderTest> codecs() {
    return CodecUnderTest.all().stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("codecs")
  void zeroPageCompressesToFarLessThan100Bytes(CodecUnderTest spec) {
    try (PageCodec codec = spec.create()) {
      byte[] dst = new byte[codec.maxCompressedLength(SamplePages.PAGE)];
      for (SourceShape in : SourceShape.values()) {
        assertThat(in.compress(codec, SamplePages.ZERO.generate(), dst, dst.length))
            .as("%s zero page from %s", spec, in).isBetween(1, 40);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("codecs")
  void randomPageDoesNotCompressBelow4000BytesNorBeyondTheBound(CodecUnderTest spec) {
    try (PageCodec codec = spec.create()) {
      int bound = codec.maxCompressedLength(SamplePages.PAGE);
      byte[] dst = new byte[bound];
      int n = codec.compress(SamplePages.RANDOM.generate(), 0, SamplePages.PAGE, dst, bound);
      assertThat(n).as("%s random page %s", spec, SamplePages.replay()).isBetween(4000, bound);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("codecs")
  void compressedSizeFollowsCompressibility(CodecUnderTest spec) {
    try (PageCodec codec = spec.create()) {
      byte[] dst = new byte[codec.maxCompressedLength(SamplePages.PAGE)];
      int[] sizes = Stream.of(SamplePages.ZERO, SamplePages.RUNS_75, SamplePages.RUNS_50,
              SamplePages.RUNS_25, SamplePages.RANDOM)
          .mapToInt(p -> codec.compress(p.generate(), 0, SamplePages.PAGE, dst, dst.length))
          .toArray();
      assertThat(sizes).as("%s sizes of zero, 75%%, 50%%, 25%% repeated, random %s", spec,
          SamplePages.replay()).isSorted().doesNotHaveDuplicates();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("codecs")
  void randomPageWithMaxLen3000ReturnsMinusOneFromEverySourceShape(CodecUnderTest spec) {
    try (PageCodec codec = spec.create()) {
      byte[] dst = new byte[3000];
      for (SourceShape in : SourceShape.values()) {
        assertThat(in.compress(codec, SamplePages.RANDOM.generate(), dst, 3000))
            .as("%s random page from %s %s", spec, in, SamplePages.replay()).isEqualTo(-1);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("codecs")
  void maxLenIsHonouredToTheByte(CodecUnderTest spec) {
    byte[] page = SamplePages.RUNS_50.generate();
    try (PageCodec codec = spec.create()) {
      byte[] unlimited = new byte[codec.maxCompressedLength(page.length)];
      int n = codec.compress(page, 0, page.length, unlimited, unlimited.length);
      for (SourceShape in : SourceShape.values()) {
        byte[] exact = new byte[n];
        assertThat(in.compress(codec, page, exact, n))
            .as("%s from %s with maxLen = its size %d %s", spec, in, n, SamplePages.replay())
            .isEqualTo(n);
        assertThat(exact).isEqualTo(Arrays.copyOf(unlimited, n));
        assertThat(in.compress(codec, page, exact, n - 1))
            .as("%s from %s with maxLen one short of %d %s", spec, in, n, SamplePages.replay())
            .isEqualTo(-1);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("codecs")
  void maxLenLargerThanTheDestinationIsRejected(CodecUnderTest spec) {
    try (PageCodec codec = spec.create()) {
      assertThatThrownBy(() -> codec.compress(new byte[4096], 0, 4096, new byte[100], 101))
          .isInstanceOf(IndexOutOfBoundsException.class)
          .hasMessageContaining("maxLen 101");
    }
  }
}
