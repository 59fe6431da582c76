package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ShutdownReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Page requests (single pages and ranges inside one shard) go straight to their tree shard
 * from the caller's routing table, which may still name an export being closed. Requests
 * racing a shutdown or an export's removal must still either land before the invalidation
 * (and be freed by it) or be refused by the closed shard: nothing is left in the pool, and no
 * request hangs until its timeout.
 */
class CloseRaceTest {
  private static final int CLIENTS = 4;
  private static final int SHARDS = 4;
  private static final int SHARD_PAGES = 16_384;
  private static final int RANGE = 4;

  /** Stores and loads, of pages and ranges, from {@link #CLIENTS} threads over {@link #SHARDS} shards until stopped. */
  private static final class Clients {
    final AtomicBoolean stop = new AtomicBoolean();
    /** Counted down by each request made before the close, and by each one made after it. */
    final CountDownLatch beforeClose = new CountDownLatch(2000);
    final CountDownLatch afterClose = new CountDownLatch(500);
    final AtomicBoolean closed = new AtomicBoolean();
    final List<Thread> threads = new ArrayList<>();
    /** Each client's requests; read after its thread ended. */
    final List<List<CompletableFuture<?>>> made = new ArrayList<>();

    Clients(Zswapd z, long seed) {
      PageGenerator gen = new PageGenerator(seed);
      for (int c = 0; c < CLIENTS; c++) {
        Random random = new Random(seed * 31 + c);
        List<CompletableFuture<?>> mine = new ArrayList<>();
        made.add(mine);
        threads.add(new Thread(() -> {
          while (!stop.get()) {
            int page = random.nextInt(SHARDS) * SHARD_PAGES + random.nextInt(256);
            CompletionStage<?> request = switch (random.nextInt(6)) {
              case 0 -> z.load("swap0", page);
              case 1 -> z.loadPages("swap0", page, RANGE);
              case 2 -> z.storePages("swap0", page, range(gen, page));
              default -> z.store("swap0", page, gen.page(page, gen.mixedKind(page)));
            };
            mine.add(request.toCompletableFuture());
            (closed.get() ? afterClose : beforeClose).countDown();
            if (mine.size() > 32) {
              mine.get(mine.size() - 32).exceptionally(e -> null).join(); // about 32 in flight
            }
          }
        }, "close-race-client-" + c));
      }
    }

    void start() {
      threads.forEach(Thread::start);
    }

    /** Stops the clients; every request they made. */
    List<CompletableFuture<?>> stopAndCollect() throws InterruptedException {
      stop.set(true);
      List<CompletableFuture<?>> all = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        threads.get(c).join();
        all.addAll(made.get(c));
      }
      return all;
    }
  }

  private static byte[] range(PageGenerator gen, int first) {
    byte[] pages = new byte[RANGE * 4096];
    for (int i = 0; i < RANGE; i++) {
      System.arraycopy(gen.page(first + i, gen.mixedKind(first + i)), 0, pages, i * 4096, 4096);
    }
    return pages;
  }

  /**
   * Every request either succeeded or was refused as shut down (or, {@code removed}, as naming an
   * export that no longer exists: what requests made after the removal completed get); none timed
   * out or failed otherwise.
   */
  private static void assertAnsweredOrRefused(List<CompletableFuture<?>> requests, long seed, boolean removed) {
    int refused = 0;
    for (CompletableFuture<?> f : requests) {
      try {
        f.get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
        assertThat(cause).as("seed %d", seed).isInstanceOf(ZswapdException.class);
        assertThat(((ZswapdException) cause).code()).as("seed %d", seed)
            .isIn(removed ? List.of(ErrorCode.SHUTTING_DOWN, ErrorCode.NO_SUCH_EXPORT) : List.of(ErrorCode.SHUTTING_DOWN));
        refused++;
      }
    }
    assertThat(requests).as("seed %d", seed).hasSizeGreaterThan(1000);
    assertThat(refused).as("seed %d: requests made after the close were refused", seed).isPositive();
  }

  @Test
  void requestsRacingShutdownAreFreedOrRefused() throws Exception {
    for (long seed = 1; seed <= 3; seed++) {
      try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 256 MiB")) {
        Raced<ShutdownReport> raced = race(engine.zswapd(), seed, z -> await(z.shutdown()));
        assertThat(raced.closed().clean()).as("seed %d: %s", seed, raced.closed()).isTrue();
        assertAnsweredOrRefused(raced.requests(), seed, false);
      }
    }
  }

  @Test
  void requestsRacingAnExportsRemovalAreFreedOrRefused() throws Exception {
    for (long seed = 11; seed <= 13; seed++) {
      try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 256 MiB")) {
        Zswapd z = engine.zswapd();
        Raced<Boolean> raced = race(z, seed, zz -> await(zz.removeExport("swap0")).existed());
        assertThat(raced.closed()).isTrue();
        assertAnsweredOrRefused(raced.requests(), seed, true);
        assertThat(await(z.stats()).pool().handlesInUse()).as("seed %d: pages left behind", seed).isZero();
      }
    }
  }

  /** What the close answered, and every request the clients made around it. */
  private record Raced<T>(T closed, List<CompletableFuture<?>> requests) {}

  /**
   * Clients make 2000 requests, {@code close} runs under them, and they go on for 500 requests
   * after it (which the closed export refuses). Counted, not timed: a loaded machine only slows it.
   */
  private static <T> Raced<T> race(Zswapd z, long seed, Function<Zswapd, T> close) throws InterruptedException {
    makeShards(z);
    Clients clients = new Clients(z, seed);
    clients.start();
    assertThat(clients.beforeClose.await(60, TimeUnit.SECONDS)).as("seed %d: requests before the close", seed)
        .isTrue();
    T closed = close.apply(z);
    clients.closed.set(true);
    assertThat(clients.afterClose.await(60, TimeUnit.SECONDS)).as("seed %d: requests after the close", seed)
        .isTrue();
    return new Raced<>(closed, clients.stopAndCollect());
  }

  /** One store per shard first, so the clients' requests find every shard made. */
  private static void makeShards(Zswapd z) {
    for (int s = 0; s < SHARDS; s++) {
      await(z.store("swap0", (long) s * SHARD_PAGES + 1000, new byte[4096]));
    }
  }
}
