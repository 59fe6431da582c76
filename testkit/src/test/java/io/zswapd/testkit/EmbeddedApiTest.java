package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ExportStats;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The embedded API's contract: zeros for unwritten pages, the special page kinds, and every refusal. */
class EmbeddedApiTest {
  private static EngineFixture engine;
  private static Zswapd z;

  @BeforeAll
  static void start() {
    engine = EngineFixture.start("""
        zswapd.pool.max-size = 128 MiB
        zswapd.exports = [
          { name = "swap0", size = 1 GiB },
          { name = "ro", size = 64 MiB, read-only = true },
          { name = "small", size = 64 KiB },
          { name = "kinds", size = 64 MiB }
        ]
        """);
    z = engine.zswapd();
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  @Test
  void loadOfANeverWrittenPageReturnsZeros() {
    assertThat(await(z.load("swap0", 123_456))).isEqualTo(new byte[4096]);
  }

  @Test
  void loadAfterInvalidateReturnsZeros() {
    byte[] page = new PageGenerator(1).page(1, PageGenerator.Kind.C50);
    await(z.store("swap0", 77, page));
    assertThat(await(z.load("swap0", 77))).isEqualTo(page);
    assertThat(await(z.invalidate("swap0", 77))).isEqualTo(1);
    assertThat(await(z.load("swap0", 77))).isEqualTo(new byte[4096]);
    assertThat(await(z.invalidate("swap0", 77))).isZero();
  }

  @Test
  void invalidateRangeFreesEveryPageInRangeAcrossShards() {
    PageGenerator gen = new PageGenerator(2);
    long first = 16_384 - 10; // the range crosses from shard 0 into shard 1
    for (int i = 0; i < 20; i++) {
      await(z.store("swap0", first + i, gen.page(i, PageGenerator.Kind.C75)));
    }
    assertThat(await(z.invalidateRange("swap0", first + 5, 10))).isEqualTo(10);
    for (int i = 0; i < 20; i++) {
      byte[] expected = i >= 5 && i < 15 ? new byte[4096] : gen.page(i, PageGenerator.Kind.C75);
      assertThat(await(z.load("swap0", first + i))).as("page %d", i).isEqualTo(expected);
    }
  }

  @Test
  void sameFilledPagesAllocateNothingAndIncompressiblePagesAreStoredRaw() {
    PageGenerator gen = new PageGenerator(3);
    ExportStats before = exportStats("kinds");
    byte[] zero = new byte[4096];
    byte[] same = gen.page(1, PageGenerator.Kind.SAME_FILLED);
    byte[] random = gen.page(2, PageGenerator.Kind.RANDOM);
    byte[] text = gen.page(3, PageGenerator.Kind.TEXT);
    await(z.store("kinds", 0, zero));
    await(z.store("kinds", 1, same));
    await(z.store("kinds", 2, random));
    await(z.store("kinds", 3, text));
    ExportStats after = exportStats("kinds");
    assertThat(after.samePages() - before.samePages()).isEqualTo(2);
    assertThat(after.hugePages() - before.hugePages()).isEqualTo(1);
    assertThat(after.rejectCompressPoor() - before.rejectCompressPoor()).isEqualTo(1);
    assertThat(after.storedPages() - before.storedPages()).isEqualTo(4);
    long textBytes = after.comprDataSize() - before.comprDataSize() - 4096;
    assertThat(textBytes).as("text compresses, same-filled pages take no bytes").isBetween(1L, 2048L);
    assertThat(await(z.load("kinds", 0))).isEqualTo(zero);
    assertThat(await(z.load("kinds", 1))).isEqualTo(same);
    assertThat(await(z.load("kinds", 2))).isEqualTo(random);
    assertThat(await(z.load("kinds", 3))).isEqualTo(text);

    await(z.store("kinds", 2, text)); // duplicate store replaces the raw page
    ExportStats replaced = exportStats("kinds");
    assertThat(replaced.hugePages()).isEqualTo(after.hugePages() - 1);
    assertThat(replaced.duplicateEntry() - after.duplicateEntry()).isEqualTo(1);
    assertThat(await(z.load("kinds", 2))).isEqualTo(text);
  }

  @Test
  void aPageOfTheWrongSizeIsRefusedNamingTheLimit() {
    assertThatThrownBy(() -> await(z.store("swap0", 1, new byte[4095])))
        .isInstanceOf(ZswapdException.class)
        .hasMessageContaining("exactly 4096 bytes, got 4095")
        .satisfies(e -> assertThat(((ZswapdException) e).code()).isEqualTo(ErrorCode.INVALID));
  }

  @Test
  void pagesOutsideTheExportAreRefused() {
    assertThatThrownBy(() -> await(z.store("small", 16, new byte[4096])))
        .isInstanceOf(ZswapdException.class)
        .hasMessageContaining("page 16 is outside export \"small\" (16 pages)");
    assertThatThrownBy(() -> await(z.load("small", -1)))
        .isInstanceOf(ZswapdException.class)
        .satisfies(e -> assertThat(((ZswapdException) e).code()).isEqualTo(ErrorCode.OUT_OF_RANGE));
    assertThatThrownBy(() -> await(z.invalidateRange("small", 10, 7)))
        .isInstanceOf(ZswapdException.class)
        .satisfies(e -> assertThat(((ZswapdException) e).code()).isEqualTo(ErrorCode.OUT_OF_RANGE));
  }

  @Test
  void unknownExportsAndReadOnlyExportsAreRefused() {
    assertThatThrownBy(() -> await(z.load("nope", 0)))
        .isInstanceOf(ZswapdException.class)
        .hasMessageContaining("no export or namespace named \"nope\"");
    assertThatThrownBy(() -> await(z.store("ro", 0, new byte[4096])))
        .isInstanceOf(ZswapdException.class)
        .satisfies(e -> assertThat(((ZswapdException) e).code()).isEqualTo(ErrorCode.READ_ONLY));
    assertThat(await(z.load("ro", 0))).isEqualTo(new byte[4096]);
  }

  @Test
  void storeAndLoadFlowsMovePagesWithBackpressure() {
    PageGenerator gen = new PageGenerator(4);
    long base = 200_000;
    List<Long> stored = await(Source.range(0, 999)
        .map(i -> new Zswapd.PageWrite(base + i, gen.page(i, gen.mixedKind(i))))
        .via(z.storeFlow("swap0", 16))
        .runWith(Sink.seq(), engine.testKit().system()));
    assertThat(stored).hasSize(1000).startsWith(base, base + 1);
    List<Zswapd.PageRead> read = await(Source.range(0, 999).map(i -> base + i)
        .via(z.loadFlow("swap0", 16))
        .runWith(Sink.seq(), engine.testKit().system()));
    for (int i = 0; i < 1000; i++) {
      assertThat(read.get(i).pageIndex()).isEqualTo(base + i);
      assertThat(read.get(i).page()).as("page %d", i).isEqualTo(gen.page(i, gen.mixedKind(i)));
    }
  }

  private static ExportStats exportStats(String export) {
    EngineStats s = await(z.stats());
    return s.export(export).orElseThrow();
  }
}
