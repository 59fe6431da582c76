package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The 2016 stable-pages seed: a writer reuses its page while the engine still works on it.
 * Here the caller rewrites its buffer the moment {@code store} returns; every load must give
 * the bytes as they were when {@code store} was called.
 */
class StablePagesTest {
  private static EngineFixture engine;

  @BeforeAll
  static void start() {
    engine = EngineFixture.start("zswapd.pool.max-size = 128 MiB");
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  @Test
  void rewritingTheArrayRightAfterStoreReturnsDoesNotChangeWhatWasStored() {
    Zswapd z = engine.zswapd();
    PageGenerator gen = new PageGenerator(2016);
    byte[] buffer = new byte[PageGenerator.PAGE_SIZE];
    List<CompletionStage<Void>> pending = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      gen.fill(buffer, i, gen.mixedKind(i));
      pending.add(z.store("swap0", i, buffer));
      // The "writer" reuses the page at once: first with something that compresses worse.
      gen.fill(buffer, i + 1_000_000, PageGenerator.Kind.RANDOM);
    }
    pending.forEach(EngineFixture::await);
    for (int i = 0; i < 2_000; i++) {
      assertThat(await(z.load("swap0", i))).as("page %d", i).isEqualTo(gen.page(i, gen.mixedKind(i)));
    }
  }

  @Test
  void rewritingADirectBufferRightAfterStoreReturnsDoesNotChangeWhatWasStored() {
    Zswapd z = engine.zswapd();
    PageGenerator gen = new PageGenerator(2017);
    ByteBuffer direct = ByteBuffer.allocateDirect(PageGenerator.PAGE_SIZE);
    List<CompletionStage<Void>> pending = new ArrayList<>();
    long base = 100_000;
    for (int i = 0; i < 1_000; i++) {
      direct.clear();
      direct.put(gen.page(i, PageGenerator.Kind.C50)).flip();
      pending.add(z.store("swap0", base + i, direct));
      direct.clear();
      byte[] junk = new byte[PageGenerator.PAGE_SIZE];
      Arrays.fill(junk, (byte) 0x5A);
      direct.put(junk);
    }
    pending.forEach(EngineFixture::await);
    for (int i = 0; i < 1_000; i++) {
      assertThat(await(z.load("swap0", base + i))).as("page %d", i).isEqualTo(gen.page(i, PageGenerator.Kind.C50));
    }
  }
}
