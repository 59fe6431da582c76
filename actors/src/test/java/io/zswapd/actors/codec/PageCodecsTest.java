/*
 * Construction rules: levels are validated and defaulted as documented, and the per-thread cache
 * behaves like a per-CPU context (one instance per thread and configuration, replaced if closed).
 */
package io.zswapd.actors.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class PageCodecsTest {

  @Test
  void defaultLevelsAreLz4ZeroLz4hcNineZstdThree() {
    assertThat(levelOf(CodecKind.LZ4, OptionalInt.empty())).isZero();
    assertThat(levelOf(CodecKind.LZ4HC, OptionalInt.empty())).isEqualTo(9);
    assertThat(levelOf(CodecKind.ZSTD, OptionalInt.empty())).isEqualTo(3);
  }

  @Test
  void explicitLevelsAreKept() {
    assertThat(levelOf(CodecKind.LZ4, OptionalInt.of(0))).isZero();
    assertThat(levelOf(CodecKind.LZ4HC, OptionalInt.of(17))).isEqualTo(17);
    assertThat(levelOf(CodecKind.ZSTD, OptionalInt.of(19))).isEqualTo(19);
    assertThat(levelOf(CodecKind.ZSTD, OptionalInt.of(-5))).isEqualTo(-5);
    assertThat(levelOf(CodecKind.ZSTD, OptionalInt.of(0))).as("zstd's 0 means its default")
        .isEqualTo(3);
  }

  @Test
  void levelsOutsideTheKindsRangeAreRejectedNamingTheRange() {
    assertThatThrownBy(() -> PageCodecs.create(CodecKind.LZ4, OptionalInt.of(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lz4hc for levels 1..17");
    assertThatThrownBy(() -> PageCodecs.create(CodecKind.LZ4HC, OptionalInt.of(0)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("lz4hc level 0 is outside 1..17");
    assertThatThrownBy(() -> PageCodecs.create(CodecKind.LZ4HC, OptionalInt.of(18)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("lz4hc level 18 is outside 1..17");
    assertThatThrownBy(() -> PageCodecs.create(CodecKind.ZSTD, OptionalInt.of(23)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("zstd level 23 is outside")
        .hasMessageEndingWith("..22");
  }

  @Test
  void oneThreadGetsTheSameCodecForTheSameKindAndEffectiveLevel() {
    PageCodec first = PageCodecs.forCurrentThread(CodecKind.LZ4HC, OptionalInt.empty());
    assertThat(PageCodecs.forCurrentThread(CodecKind.LZ4HC, OptionalInt.empty())).isSameAs(first);
    assertThat(PageCodecs.forCurrentThread(CodecKind.LZ4HC, OptionalInt.of(9)))
        .as("the default level is level 9").isSameAs(first);
  }

  @Test
  void differentKindsOrLevelsOnOneThreadGetDifferentCodecs() {
    PageCodec lz4 = PageCodecs.forCurrentThread(CodecKind.LZ4, OptionalInt.empty());
    PageCodec zstd1 = PageCodecs.forCurrentThread(CodecKind.ZSTD, OptionalInt.of(1));
    PageCodec zstd3 = PageCodecs.forCurrentThread(CodecKind.ZSTD, OptionalInt.of(3));
    assertThat(lz4).isNotSameAs(zstd1).isNotSameAs(zstd3);
    assertThat(zstd1).isNotSameAs(zstd3);
    assertThat(zstd1.level()).isEqualTo(1);
    assertThat(zstd3.level()).isEqualTo(3);
    assertThat(PageCodecs.forCurrentThread(CodecKind.ZSTD, OptionalInt.of(1))).isSameAs(zstd1);
  }

  @Test
  void twoThreadsGetDifferentCodecs() throws Exception {
    ExecutorService other = Executors.newSingleThreadExecutor();
    try {
      PageCodec mine = PageCodecs.forCurrentThread(CodecKind.ZSTD, OptionalInt.empty());
      PageCodec[] theirs = CompletableFuture.supplyAsync(
              () -> new PageCodec[] {
                PageCodecs.forCurrentThread(CodecKind.ZSTD, OptionalInt.empty()),
                PageCodecs.forCurrentThread(CodecKind.ZSTD, OptionalInt.empty())
              },
              other)
          .get();
      assertThat(theirs[0]).isNotSameAs(mine).isSameAs(theirs[1]);
    } finally {
      other.shutdown();
    }
  }

  @Test
  void closedCodecRefusesWorkAndTheThreadGetsAFreshOne() {
    for (CodecKind kind : CodecKind.values()) {
      PageCodec codec = PageCodecs.forCurrentThread(kind, OptionalInt.empty());
      codec.close();
      codec.close(); // idempotent
      assertThatThrownBy(() -> codec.compress(new byte[4096], 0, 4096, new byte[5000], 5000))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
      assertThatThrownBy(() -> codec.decompress(new byte[10], 0, 10, new byte[4096], 0, 4096))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");

      PageCodec fresh = PageCodecs.forCurrentThread(kind, OptionalInt.empty());
      assertThat(fresh).as("%s after close", kind).isNotSameAs(codec);
      byte[] page = SamplePages.TEXT.generate();
      byte[] compressed = new byte[fresh.maxCompressedLength(4096)];
      int n = fresh.compress(page, 0, 4096, compressed, compressed.length);
      byte[] out = new byte[4096];
      fresh.decompress(compressed, 0, n, out, 0, 4096);
      assertThat(out).as("%s fresh codec round trip %s", kind, SamplePages.replay()).isEqualTo(page);
    }
  }

  private static int levelOf(CodecKind kind, OptionalInt level) {
    try (PageCodec codec = PageCodecs.create(kind, level)) {
      assertThat(codec.kind()).isEqualTo(kind);
      return codec.level();
    }
  }
}
