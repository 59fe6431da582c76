/*
 * Construction rules: levels are validated and defaulted as documented, and the per-thread cache
 * behaves like a per-CPU context (one instance per thread and configuration, replaced if closed).
 */
package io.zswapd.actors.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
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

  /**
   * {@link PageCodecs#decompress} decodes LZ4 and LZ4HC pages on every thread with one shared
   * decoder: four threads decoding the same pages at once each get every page back, and a
   * damaged page is still a {@link CorruptPageException} naming the codec.
   */
  @Test
  void oneSharedDecoderServesEveryThreadAtOnce() throws Exception {
    List<byte[]> pages = new ArrayList<>();
    List<byte[]> stored = new ArrayList<>();
    List<CodecKind> kinds = new ArrayList<>();
    for (CodecKind kind : List.of(CodecKind.LZ4, CodecKind.LZ4HC)) {
      PageCodec codec = PageCodecs.forCurrentThread(kind, OptionalInt.empty());
      for (int i = 0; i < 64; i++) {
        SamplePages sample = List.of(SamplePages.TEXT, SamplePages.RUNS_75, SamplePages.RUNS_50,
            SamplePages.RUNS_25).get(i % 4);
        byte[] page = sample.generate(SamplePages.RUN_SEED + i);
        byte[] out = new byte[codec.maxCompressedLength(4096)];
        int n = codec.compress(page, 0, 4096, out, out.length);
        pages.add(page);
        stored.add(java.util.Arrays.copyOf(out, n));
        kinds.add(kind);
      }
    }
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<CompletableFuture<String>> decoders = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int first = t * 17;
        decoders.add(CompletableFuture.supplyAsync(() -> {
          byte[] out = new byte[4096];
          for (int round = 0; round < 200; round++) {
            for (int k = 0; k < pages.size(); k++) {
              int i = (first + k) % pages.size();
              byte[] s = stored.get(i);
              PageCodecs.decompress(kinds.get(i), s, 0, s.length, out, 0, 4096);
              if (!java.util.Arrays.equals(out, pages.get(i))) {
                return "page " + i + " (" + kinds.get(i) + ") came back different in round " + round;
              }
            }
          }
          return "ok";
        }, threads));
      }
      for (CompletableFuture<String> d : decoders) {
        assertThat(d.get()).as("a thread decoding at the same time as three others %s", SamplePages.replay())
            .isEqualTo("ok");
      }
    } finally {
      threads.shutdownNow();
    }
    byte[] damaged = stored.get(0).clone();
    damaged[0] = (byte) 0xff; // a literal run longer than the input
    assertThatThrownBy(() -> PageCodecs.decompress(CodecKind.LZ4, damaged, 0, damaged.length, new byte[4096], 0, 4096))
        .isInstanceOf(CorruptPageException.class).hasMessageStartingWith("lz4 (level 0) could not decode");
  }

  private static int levelOf(CodecKind kind, OptionalInt level) {
    try (PageCodec codec = PageCodecs.create(kind, level)) {
      assertThat(codec.kind()).isEqualTo(kind);
      return codec.level();
    }
  }
}
