package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.testkit.GatedBackingIo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A store that meets a full pool which writeback cannot empty in time goes to the backing file,
 * as zswap sends a page its full pool rejects to the swap device; it is refused only when the
 * file refuses it too. Found by the NBD fuzzer with 4 clients of 64 requests each against a
 * pool the admin had set to 1.9 MiB: a reclaim round found no page to write back (every page
 * in the pool was pending or already on its way to the file) and the stores waiting for room
 * were answered ENOSPC, on an export with a backing file.
 *
 * <p>The replay holds every backing write, so no reclaim round can finish: 1,200 pages of about
 * 2 KiB compressed are stored at once into a 1 MiB pool with a 100 ms reclaim timeout. Stores
 * past the limit wait, the timeout refuses them at the pool ({@code reject_reclaim_fail}), and
 * each must then wait for its own write to the file instead of failing.
 */
class FullPoolStoreToFileTest {
  private static final int PAGES = 1_200; // about 2.4 MiB compressed, into a 1 MiB pool
  private static final String SMALL_POOL = """
      zswapd.pool.max-size = 1 MiB
      zswapd.pool.writeback.reclaim-timeout = 100ms
      """;

  @Test
  void storesTheFullPoolRefusesWaitForTheFileAndAreNotRefused() {
    try (WritebackScenario s = new WritebackScenario(SMALL_POOL, GatedBackingIo.inMemory().holdWrites(true))) {
      List<CompletableFuture<Void>> stores = storeAll(s);
      Awaitility.await("a store refused by the full pool (reject_reclaim_fail)").atMost(30, TimeUnit.SECONDS)
          .pollInterval(Duration.ofMillis(20)).until(() -> s.engineStats().pool().rejectReclaimFail() > 0);
      Awaitility.await("stores waiting for their backing writes").atMost(30, TimeUnit.SECONDS)
          .pollInterval(Duration.ofMillis(20)).until(() -> s.io.heldWrites() > 0);
      List<String> failed = failures(stores);
      assertThat(failed).as("stores answered while every backing write is held: the pool refused them and "
          + "nothing was written").isEmpty();

      s.io.holdWrites(false);
      s.io.releaseAllWrites();
      for (int i = 0; i < PAGES; i++) {
        int page = i;
        assertThat(stores.get(i)).as("store of page %d", page).succeedsWithin(Duration.ofSeconds(30));
      }
      for (int i = 0; i < PAGES; i++) {
        assertThat(await(s.z.load(WritebackScenario.EXPORT, i))).as("page %d", i).isEqualTo(s.page(i));
      }
      ExportStats swap0 = s.stats();
      assertThat(swap0.rejectAllocFail()).as("stores refused").isZero();
      assertThat(s.engineStats().pool().rejectReclaimFail()).as("stores the pool refused").isPositive();
      assertThat(swap0.backing().writtenBackPages()).as("pages in the file").isPositive();
      assertThat(s.engineStats().pool().memUsedTotal()).isLessThanOrEqualTo(1 << 20);
      s.assertNothingLeaks();
    }
  }

  /**
   * Every backing write fails: victims stay in memory, so writeback makes no room, and a store
   * the pool refuses cannot be kept in the file either. It is refused ({@code POOL_FULL},
   * ENOSPC over NBD) with a message naming both, and its page keeps what it held before.
   */
  @Test
  void aStoreThePoolAndTheFileBothRefuseIsRefusedAndLeavesThePageAsItWas() {
    try (WritebackScenario s = new WritebackScenario(SMALL_POOL, GatedBackingIo.inMemory().failNextWrites(1 << 30))) {
      List<CompletableFuture<Void>> stores = storeAll(s);
      int refused = 0;
      for (int i = 0; i < PAGES; i++) {
        CompletableFuture<Void> store = stores.get(i);
        Throwable failure = store.handle((v, t) -> t).orTimeout(60, TimeUnit.SECONDS).join();
        if (failure == null) {
          assertThat(await(s.z.load(WritebackScenario.EXPORT, i))).as("page %d, stored", i).isEqualTo(s.page(i));
        } else {
          refused++;
          Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
          assertThat(cause).as("page %d", i).isInstanceOf(ZswapdException.class);
          assertThat(((ZswapdException) cause).code()).as("page %d: %s", i, cause).isEqualTo(ErrorCode.POOL_FULL);
          assertThat(cause.getMessage()).as("page %d", i).contains("pool.max-size")
              .contains("the backing file failed the write");
          assertThat(await(s.z.load(WritebackScenario.EXPORT, i))).as("page %d, refused: as before", i)
              .isEqualTo(new byte[4096]);
        }
      }
      assertThat(refused).as("stores past the 1 MiB pool").isPositive();
      ExportStats swap0 = s.stats();
      assertThat(swap0.rejectAllocFail()).isEqualTo(refused);
      assertThat(swap0.backing().writtenBackPages()).isZero();
      assertThat(swap0.backing().writeErrors()).as("victims' and refused stores' writes").isPositive();
      s.assertNothingLeaks();
    }
  }

  private static List<CompletableFuture<Void>> storeAll(WritebackScenario s) {
    List<CompletableFuture<Void>> stores = new ArrayList<>();
    for (int i = 0; i < PAGES; i++) {
      stores.add(s.z.store(WritebackScenario.EXPORT, i, s.page(i)).toCompletableFuture());
    }
    return stores;
  }

  private static List<String> failures(List<CompletableFuture<Void>> stores) {
    List<String> failed = new ArrayList<>();
    for (int i = 0; i < stores.size(); i++) {
      CompletableFuture<Void> f = stores.get(i);
      if (f.isCompletedExceptionally()) {
        failed.add("page " + i + ": " + f.handle((v, t) -> t).join());
      }
    }
    return failed;
  }
}
