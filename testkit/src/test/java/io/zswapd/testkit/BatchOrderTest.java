package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.EngineCommand;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * Batches keep the order of what they carry: a load and an invalidate of one page that reach
 * the page's tree shard one by one, in one run of its mailbox (two {@link TreeShard.Pages}
 * served before the shard's flush, so one {@link SizeClass.Work} to the page's size class),
 * still read the page before its object is freed, and a store and a load of one page gathered
 * so load what was stored.
 *
 * <p>Replayed with a gate at the shard: the requests and the shard's flush are held, then
 * released so that both requests are served before the flush sends their work on. Fails when
 * the class serves a work's frees before its reads, and when the shard sends a free at once
 * instead of with its flush's work (the free then overtakes the read: the class fails on a
 * freed handle, or the load reads another page's bytes).
 */
class BatchOrderTest {
  private static final String HOCON = "zswapd.pool.max-size = 64 MiB";
  private final PageGenerator pages = new PageGenerator(77);

  /** Holds shard 0's requests and flushes, so a test decides what one flush sends. */
  private static MessageGate holdRouter(GatedActors actors) {
    return actors.hold("the requests and flushes of swap0's shard 0",
        GatedActors.actor(EngineActor.treeShard("swap0", 0)),
        m -> m instanceof TreeShard.Pages || m.getClass().getSimpleName().equals("Flush"));
  }

  /** Releases the two held requests, then (once both are served) the flush that sends their work as one. */
  private static void releaseAsOneBatch(MessageGate shard, GatedActors actors) {
    shard.release(0);
    shard.release(1);
    // the flush the first request sent; the second is in the mailbox ahead of it
    assertThat(shard.awaitArrival(2).message().getClass().getSimpleName()).as("one flush for both").isEqualTo("Flush");
    shard.open();
  }

  @Test
  void aLoadAndAnInvalidateInOneBatchReadThePageBeforeItIsFreed() {
    GatedActors actors = new GatedActors();
    try (EngineFixture engine = EngineFixture.start(HOCON, ZswapdSetup.of(actors))) {
      Zswapd z = engine.zswapd();
      byte[] page = pages.page(5, PageGenerator.Kind.C50);
      await(z.store("swap0", 5, page), "the store");
      await(z.store("swap0", 6, pages.page(6, PageGenerator.Kind.C50)), "a neighbour in the same class");
      MessageGate router = holdRouter(actors);
      CompletionStage<byte[]> load = z.load("swap0", 5);
      router.awaitArrival(0);
      CompletionStage<Long> invalidate = z.invalidate("swap0", 5);
      router.awaitArrival(1);
      releaseAsOneBatch(router, actors);

      assertThat(await(load, "the load")).as("read before the free in the same batch").isEqualTo(page);
      assertThat(await(invalidate, "the invalidate")).isEqualTo(1);
      assertThat(await(z.load("swap0", 5), "a later load")).isEqualTo(new byte[PageGenerator.PAGE_SIZE]);
      assertThat(await(z.load("swap0", 6), "the neighbour")).isEqualTo(pages.page(6, PageGenerator.Kind.C50));
      assertThat(await(z.stats()).pool().handlesInUse()).isEqualTo(1);
    }
  }

  @Test
  void aStoreAndALoadInOneBatchLoadWhatWasStored() {
    GatedActors actors = new GatedActors();
    try (EngineFixture engine = EngineFixture.start(HOCON, ZswapdSetup.of(actors))) {
      Zswapd z = engine.zswapd();
      await(z.store("swap0", 5, pages.page(1, PageGenerator.Kind.C25)), "the first content");
      MessageGate router = holdRouter(actors);
      byte[] second = pages.page(2, PageGenerator.Kind.C75);
      CompletionStage<Void> store = z.store("swap0", 5, second);
      router.awaitArrival(0);
      CompletionStage<byte[]> load = z.load("swap0", 5);
      router.awaitArrival(1);
      releaseAsOneBatch(router, actors);

      await(store, "the store");
      assertThat(await(load, "the load")).as("the load waits behind the pending store").isEqualTo(second);
      assertThat(await(z.stats()).pool().handlesInUse()).as("the first object freed").isEqualTo(1);
    }
  }
}
