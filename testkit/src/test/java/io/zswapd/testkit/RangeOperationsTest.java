package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.WritebackMode;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code storePages} and {@code loadPages}: many consecutive pages in one request, equal page
 * for page to single stores and loads, across shard boundaries and every entry state.
 */
class RangeOperationsTest {
  private static final int PAGE = 4096;
  private static final long SHARD = 16_384;
  private static EngineFixture engine;
  private static Zswapd z;

  @BeforeAll
  static void start() {
    engine = EngineFixture.start("""
        zswapd.pool.max-size = 256 MiB
        zswapd.exports = [
          { name = "swap0", size = 1 GiB },
          { name = "ro", size = 64 MiB, read-only = true },
          { name = "small", size = 64 KiB }
        ]
        """);
    z = engine.zswapd();
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  /** Pages of every kind, in a row: zero, same-filled, 25/50/75% compressible, text, random (huge). */
  private static byte[] mixedPages(PageGenerator gen, long firstId, int count) {
    byte[] all = new byte[count * PAGE];
    PageGenerator.Kind[] kinds = PageGenerator.Kind.values();
    for (int i = 0; i < count; i++) {
      byte[] p = gen.page(firstId + i, kinds[i % kinds.length]);
      System.arraycopy(p, 0, all, i * PAGE, PAGE);
    }
    return all;
  }

  private static byte[] pageOf(byte[] pages, int i) {
    return Arrays.copyOfRange(pages, i * PAGE, (i + 1) * PAGE);
  }

  @Test
  void aRangeStoreReadsBackPageByPageAndAsARange() {
    byte[] pages = mixedPages(new PageGenerator(11), 0, 64);
    await(z.storePages("swap0", 1000, pages));
    for (int i = 0; i < 64; i++) {
      assertThat(await(z.load("swap0", 1000 + i))).as("page %d", 1000 + i).isEqualTo(pageOf(pages, i));
    }
    assertThat(await(z.loadPages("swap0", 1000, 64))).isEqualTo(pages);
  }

  @Test
  void singleStoresReadBackAsARangeWithZerosForGaps() {
    PageGenerator gen = new PageGenerator(12);
    byte[] expected = new byte[40 * PAGE];
    for (int i = 0; i < 40; i += 3) {
      byte[] p = gen.page(i, gen.mixedKind(i));
      await(z.store("swap0", 5000 + i, p));
      System.arraycopy(p, 0, expected, i * PAGE, PAGE);
    }
    assertThat(await(z.loadPages("swap0", 5000, 40))).isEqualTo(expected);
  }

  @Test
  void rangesAcrossShardBoundariesAreSplitAndJoined() {
    long first = 3 * SHARD - 20;
    byte[] pages = mixedPages(new PageGenerator(13), 100, 50);
    await(z.storePages("swap0", first, ByteBuffer.wrap(pages)));
    assertThat(await(z.loadPages("swap0", first, 50))).isEqualTo(pages);
    assertThat(await(z.load("swap0", 3 * SHARD))).isEqualTo(pageOf(pages, 20));
    // A never-touched shard reads as zeros inside a range.
    assertThat(await(z.loadPages("swap0", 7 * SHARD - 2, 4))).isEqualTo(new byte[4 * PAGE]);
  }

  @Test
  void aRangeStoreReplacesEveryPageAndCountsDuplicates() {
    PageGenerator gen = new PageGenerator(14);
    await(z.storePages("swap0", 9000, mixedPages(gen, 0, 16)));
    ExportStats before = await(z.stats()).export("swap0").orElseThrow();
    byte[] second = mixedPages(gen, 500, 16);
    await(z.storePages("swap0", 9000, second));
    ExportStats after = await(z.stats()).export("swap0").orElseThrow();
    assertThat(after.duplicateEntry() - before.duplicateEntry()).isEqualTo(16);
    assertThat(after.storedPages()).isEqualTo(before.storedPages());
    assertThat(await(z.loadPages("swap0", 9000, 16))).isEqualTo(second);
  }

  @Test
  void refusalsNameTheLimitAndChangeNothing() {
    assertThat(code(z.storePages("ro", 0, new byte[2 * PAGE]))).isEqualTo(ErrorCode.READ_ONLY);
    assertThat(code(z.storePages("small", 14, new byte[4 * PAGE]))).isEqualTo(ErrorCode.OUT_OF_RANGE);
    assertThat(code(z.loadPages("small", 15, 2))).isEqualTo(ErrorCode.OUT_OF_RANGE);
    assertThat(code(z.loadPages("nope", 0, 2))).isEqualTo(ErrorCode.NO_SUCH_EXPORT);
    assertThatThrownBy(() -> await(z.storePages("swap0", 0, new byte[PAGE + 1])))
        .hasMessageContaining("multiple of 4096");
    assertThatThrownBy(() -> await(z.loadPages("swap0", 0, Zswapd.MAX_RANGE_PAGES + 1)))
        .hasMessageContaining("1.." + Zswapd.MAX_RANGE_PAGES);
    assertThatThrownBy(() -> await(z.storePages("swap0", 0, new byte[(Zswapd.MAX_RANGE_PAGES + 1) * PAGE])))
        .hasMessageContaining("the limit is " + Zswapd.MAX_RANGE_PAGES);
    // The part of "small" that exists is untouched by the refused store.
    assertThat(await(z.loadPages("small", 14, 2))).isEqualTo(new byte[2 * PAGE]);
  }

  @Test
  void theCallersArrayMayChangeAsSoonAsStorePagesReturns() {
    byte[] pages = mixedPages(new PageGenerator(15), 0, 8);
    byte[] original = pages.clone();
    var stored = z.storePages("swap0", 12_000, pages);
    Arrays.fill(pages, (byte) 0x5A);
    await(stored);
    assertThat(await(z.loadPages("swap0", 12_000, 8))).isEqualTo(original);
  }

  /**
   * A flow batches what waits while the engine is busy and sends consecutive runs as ranges;
   * a page written twice in one stream ends with its last write, even at parallelism 1..8.
   */
  @Test
  void flowsBatchRunsAndKeepTheOrderOfWritesToOnePage() {
    PageGenerator gen = new PageGenerator(18);
    long base = 40_000;
    int writes = 3_000;
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(18);
    long[] pageOf = new long[writes];
    for (int i = 0; i < writes; i++) {
      // runs of consecutive pages, jumps, and rewrites of pages written a moment ago
      pageOf[i] = i == 0 ? 0 : rnd.nextInt(10) < 7 ? (pageOf[i - 1] + 1) % 600 : rnd.nextInt(600);
    }
    java.util.Map<Long, Integer> last = new java.util.HashMap<>();
    for (int i = 0; i < writes; i++) {
      last.put(pageOf[i], i);
    }
    for (int parallelism : new int[] {1, 8}) {
      java.util.List<Long> stored = await(akka.stream.javadsl.Source.range(0, writes - 1)
          .map(i -> new Zswapd.PageWrite(base + pageOf[i], gen.page(parallelism * 100_000L + i, gen.mixedKind(i))))
          .via(z.storeFlow("swap0", parallelism))
          .runWith(akka.stream.javadsl.Sink.seq(), engine.testKit().system()));
      assertThat(stored).hasSize(writes);
      for (int i = 0; i < writes; i++) {
        assertThat(stored.get(i)).isEqualTo(base + pageOf[i]);
      }
      java.util.List<Long> order = new java.util.ArrayList<>(last.keySet());
      java.util.Collections.sort(order);
      order.add(1, order.get(0)); // a repeated index in a load stream
      java.util.List<Zswapd.PageRead> read = await(akka.stream.javadsl.Source.from(order).map(p -> base + p)
          .via(z.loadFlow("swap0", parallelism))
          .runWith(akka.stream.javadsl.Sink.seq(), engine.testKit().system()));
      assertThat(read).hasSize(order.size());
      for (int k = 0; k < order.size(); k++) {
        long p = order.get(k);
        int i = last.get(p);
        assertThat(read.get(k).pageIndex()).isEqualTo(base + p);
        assertThat(read.get(k).page()).as("page %d, parallelism %d", p, parallelism)
            .isEqualTo(gen.page(parallelism * 100_000L + i, gen.mixedKind(i)));
      }
    }
  }

  private static ErrorCode code(java.util.concurrent.CompletionStage<?> stage) {
    try {
      await(stage);
    } catch (RuntimeException e) {
      Throwable t = e;
      while (t != null && !(t instanceof ZswapdException)) {
        t = t.getCause();
      }
      if (t != null) {
        return ((ZswapdException) t).code();
      }
      throw e;
    }
    throw new AssertionError("the request was not refused");
  }

  /** Pages in the backing file and in the pool, in one range: the range reads both. */
  @Test
  void aRangeLoadReadsWrittenBackPagesFromTheBackingFile(@TempDir Path dir) {
    String hocon = "zswapd.pool.max-size = 64 MiB\n"
        + "zswapd.exports = [ { name = \"b\", size = 256 MiB, backing-file = \"" + dir.resolve("b.backing") + "\" } ]\n";
    try (EngineFixture withBacking = EngineFixture.start(hocon)) {
      Zswapd zb = withBacking.zswapd();
      byte[] pages = mixedPages(new PageGenerator(16), 0, 32);
      await(zb.storePages("b", 100, pages));
      assertThat(await(zb.writeback(WritebackMode.ALL)).writtenBack()).isPositive();
      byte[] fresh = mixedPages(new PageGenerator(17), 0, 4);
      await(zb.storePages("b", 110, fresh)); // four pages back in the pool
      System.arraycopy(fresh, 0, pages, 10 * PAGE, fresh.length);
      EngineStats before = await(zb.stats());
      assertThat(await(zb.loadPages("b", 100, 32))).isEqualTo(pages);
      EngineStats after = await(zb.stats());
      ExportStats b0 = before.export("b").orElseThrow();
      ExportStats b1 = after.export("b").orElseThrow();
      assertThat(b1.backing().loadsFromBacking() - b0.backing().loadsFromBacking()).isPositive();
    }
  }
}
