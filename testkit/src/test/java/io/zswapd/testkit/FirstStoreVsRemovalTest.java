package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.zswapd.actors.ZswapGuardian;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.ErrorCode;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * An export's removal closes and invalidates every one of its tree shards, not only those that
 * have stored a page: a caller's first store to a shard travels straight from the routing table
 * it holds, so it may still be on its way while the swap type does not yet count that shard as
 * in use.
 *
 * <p>Replayed with a gate: the first store to shard 1 is held at the shard while the export is
 * removed, then released. It must be refused with SHUTTING_DOWN and leave nothing in the pool.
 * Fails when the removal closes and invalidates only the shards in use (the store then lands in
 * a removed export and its object is never freed), and when a closed shard still serves a store.
 */
class FirstStoreVsRemovalTest {

  @Test
  void aFirstStoreHeldAcrossTheRemovalIsRefusedAndLeavesNothingBehind() {
    GatedActors actors = new GatedActors();
    MessageGate firstStore = actors.hold("the first store to shard 1 of swap0",
        GatedActors.actor(EngineActor.treeShard("swap0", 1)),
        m -> m instanceof TreeShard.Pages p && p.requests().get(0) instanceof EngineCommand.Store);
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 64 MiB", ZswapdSetup.of(actors))) {
      Zswapd z = engine.zswapd();
      PageGenerator pages = new PageGenerator(5);
      await(z.store("swap0", 7, pages.page(7, PageGenerator.Kind.C50)), "a store to shard 0");
      CompletionStage<Void> store = z.store("swap0", TreeShard.PAGES + 7, pages.page(8, PageGenerator.Kind.C50));
      firstStore.awaitArrival(0);

      ZswapGuardian.ExportRemoved removed = await(z.removeExport("swap0"), "the removal");
      assertThat(removed.existed()).isTrue();
      assertThat(removed.pagesFreed()).as("shard 0's page; shard 1's store is still held").isEqualTo(1);

      firstStore.open();
      Throwable refused = catchThrowable(() -> await(store, "the held store"));
      assertThat(refused).as("the store reached a closed shard").isInstanceOf(ZswapdException.class);
      assertThat(((ZswapdException) refused).code()).isEqualTo(ErrorCode.SHUTTING_DOWN);
      assertThat(await(z.stats()).pool().handlesInUse()).as("nothing left in the pool").isZero();
    }
  }
}
