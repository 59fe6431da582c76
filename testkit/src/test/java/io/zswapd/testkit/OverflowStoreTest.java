package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.protocol.engine.ExportStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The overflow store: values of any size up to 64 MiB under long keys, off the heap. */
class OverflowStoreTest {
  private static EngineFixture engine;
  private static Zswapd z;

  @BeforeAll
  static void start() {
    engine = EngineFixture.start("zswapd.pool.max-size = 512 MiB");
    z = engine.zswapd();
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  private static byte[] value(long seed, int length) {
    byte[] v = new byte[length];
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = 0; i < length; i++) {
      v[i] = (byte) (rnd.nextInt(8) == 0 ? rnd.nextInt() : 'a' + (i % 7)); // compressible with noise
    }
    return v;
  }

  @Test
  void valuesOfEverySizeRoundTrip() {
    OverflowStore store = await(z.overflowStore("sizes"));
    int[] sizes = {0, 1, 4095, 4096, 4097, 100_000, 1 << 20, OverflowStore.MAX_VALUE_BYTES};
    for (int i = 0; i < sizes.length; i++) {
      await(store.put(i, value(i, sizes[i])));
    }
    for (int i = 0; i < sizes.length; i++) {
      Optional<byte[]> got = await(store.get(i));
      assertThat(got).as("size %d", sizes[i]).isPresent();
      assertThat(got.get()).as("size %d", sizes[i]).isEqualTo(value(i, sizes[i]));
    }
    assertThat(await(store.size())).isEqualTo(sizes.length);
  }

  /**
   * A namespace's export starts with no tree shard: puts made at once past the page space grown
   * so far wait while its swap type makes more, and every one lands where its get finds it.
   */
  @Test
  void putsMadeAtOncePastThePageSpaceGrownSoFarAllLand() {
    OverflowStore store = await(z.overflowStore("growth"));
    int size = 8 << 20; // 2,048 pages: the ten puts need two shards of 16,384 pages
    List<CompletionStage<Void>> puts = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      puts.add(store.put(i, value(100 + i, size)));
    }
    puts.forEach(EngineFixture::await);
    for (int i = 0; i < 10; i++) {
      int key = i;
      assertThat(await(store.get(i))).as("key %d", i)
          .hasValueSatisfying(v -> assertThat(v).isEqualTo(value(100 + key, size)));
    }
    ExportStats ns = await(z.stats()).export("overflow:growth").orElseThrow();
    assertThat(ns.storedPages()).isEqualTo(10L * 2048);
  }

  @Test
  void replaceRemoveAndMissingKeys() {
    OverflowStore store = await(z.overflowStore("life"));
    assertThat(await(store.get(5))).isEmpty();
    await(store.put(5, value(1, 10_000)));
    await(store.put(5, value(2, 3_000)));
    assertThat(await(store.get(5))).hasValueSatisfying(v -> assertThat(v).isEqualTo(value(2, 3_000)));
    assertThat(await(store.remove(5))).isTrue();
    assertThat(await(store.remove(5))).isFalse();
    assertThat(await(store.get(5))).isEmpty();
  }

  @Test
  void operationsOnOneKeyApplyInCallOrderAndFreedMemoryIsReused() {
    OverflowStore store = await(z.overflowStore("order"));
    List<CompletionStage<?>> all = new ArrayList<>();
    for (int round = 0; round < 50; round++) {
      all.add(store.put(round % 5, value(round, 5_000 + round * 100)));
      if (round % 3 == 0) {
        all.add(store.remove(round % 5));
      }
    }
    all.forEach(EngineFixture::await);
    for (int key = 0; key < 5; key++) {
      int last = 45 + key; // the last put of each key, none removed after it (45..49: only 45 and 48 % 3 == 0)
      Optional<byte[]> got = await(store.get(key));
      if (last % 3 == 0) {
        assertThat(got).as("key %d removed last", key).isEmpty();
      } else {
        assertThat(got).as("key %d", key).hasValueSatisfying(v -> assertThat(v).isEqualTo(value(last, 5_000 + last * 100)));
      }
    }
    for (int key = 0; key < 5; key++) {
      await(store.remove(key));
    }
    ExportStats ns = await(z.stats()).export("overflow:order").orElseThrow();
    assertThat(ns.storedPages()).isZero();
    assertThat(ns.comprDataSize()).isZero();
  }

  @Test
  void valuesOverTheLimitAndBadNamespacesAreRefusedWithTheLimitNamed() {
    OverflowStore store = await(z.overflowStore("limits"));
    assertThatThrownBy(() -> await(store.put(1, new byte[OverflowStore.MAX_VALUE_BYTES + 1])))
        .isInstanceOf(ZswapdException.class)
        .hasMessageContaining("exceeds the overflow store limit of 67108864 bytes");
    assertThatThrownBy(() -> await(z.overflowStore("bad name!")))
        .isInstanceOf(ZswapdException.class)
        .hasMessageContaining("[A-Za-z0-9._-]");
  }
}
