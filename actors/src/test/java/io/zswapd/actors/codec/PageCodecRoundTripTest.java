/*
 * The codec's first duty: whatever page goes in, from whatever shape of source, comes back byte
 * for byte, and decompression writes only the range it was given.
 */
package io.zswapd.actors.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PageCodecRoundTripTest {

  private static final byte SENTINEL = 0x5A;
  private static final int DST_OFFSET = 8;

  static Stream<Arguments> codecsAndPages() {
    return CodecUnderTest.all().stream()
        .flatMap(codec -> Arrays.stream(SamplePages.values()).map(page -> Arguments.of(codec, page)));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("codecsAndPages")
  void everyPageComesBackByteForByteFromEverySourceShape(CodecUnderTest spec, SamplePages kind) {
    byte[] page = kind.generate();
    try (PageCodec codec = spec.create()) {
      byte[] reference = new byte[codec.maxCompressedLength(page.length)];
      int referenceLen = codec.compress(page, 0, page.length, reference, reference.length);
      assertThat(referenceLen).as("%s %s compressed length %s", spec, kind, SamplePages.replay())
          .isPositive();

      for (SourceShape in : SourceShape.values()) {
        byte[] compressed = new byte[reference.length];
        int n = in.compress(codec, page, compressed, compressed.length);
        assertThat(Arrays.copyOf(compressed, n))
            .as("%s %s compressed from %s equals compressed from byte[] %s", spec, kind, in,
                SamplePages.replay())
            .isEqualTo(Arrays.copyOf(reference, referenceLen));

        // maxLen below the bound takes the compress-into-scratch path: same bytes, or -1.
        byte[] pageSized = new byte[page.length];
        assertThat(in.compress(codec, page, pageSized, page.length))
            .as("%s %s from %s with maxLen %d %s", spec, kind, in, page.length, SamplePages.replay())
            .isEqualTo(referenceLen <= page.length ? referenceLen : -1);
        if (referenceLen <= page.length) {
          assertThat(Arrays.copyOf(pageSized, referenceLen)).isEqualTo(Arrays.copyOf(reference, referenceLen));
        }

        for (SourceShape out : SourceShape.values()) {
          byte[] dst = new byte[page.length + 2 * DST_OFFSET];
          Arrays.fill(dst, SENTINEL);
          out.decompress(codec, compressed, n, dst, DST_OFFSET, page.length);
          String what = spec + " " + kind + " compressed from " + in + ", decompressed from " + out
              + " " + SamplePages.replay();
          assertThat(Arrays.copyOfRange(dst, DST_OFFSET, DST_OFFSET + page.length)).as(what)
              .isEqualTo(page);
          assertThat(Arrays.copyOf(dst, DST_OFFSET)).as("bytes before the page, " + what)
              .containsOnly(SENTINEL);
          assertThat(Arrays.copyOfRange(dst, DST_OFFSET + page.length, dst.length))
              .as("bytes after the page, " + what).containsOnly(SENTINEL);
        }
      }
    }
  }
}
