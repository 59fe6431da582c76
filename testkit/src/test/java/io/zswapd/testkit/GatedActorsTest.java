package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.EngineCommand;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The seam the race tests stand on: {@link GatedActors} given to the engine through
 * {@code ZswapdSetup} wraps every engine actor, holds chosen messages until the test releases
 * them (then delivers them in their order), records messages as they pass, and makes an actor
 * throw on a chosen message.
 */
class GatedActorsTest {
  private static final String HOCON = "zswapd.pool.max-size = 64 MiB";
  private final PageGenerator pages = new PageGenerator(15);

  private byte[] page(long id) {
    return pages.page(id, PageGenerator.Kind.C50);
  }

  @Test
  void everyEngineActorIsWrappedWithItsRoleExportAndIndex() {
    GatedActors actors = new GatedActors();
    try (EngineFixture engine = EngineFixture.start(HOCON, ZswapdSetup.of(actors))) {
      await(engine.zswapd().store("swap0", 3 * TreeShard.PAGES + 1, page(1)), "a store");
      List<EngineActor> spawned = actors.spawned();
      assertThat(spawned).contains(EngineActor.of(EngineActor.Role.POOL), EngineActor.of(EngineActor.Role.ARENA),
          EngineActor.of(EngineActor.Role.MIGRATION_WORKER),
          EngineActor.ofExport(EngineActor.Role.SWAP_TYPE, "swap0"), EngineActor.treeShard("swap0", 3));
      int classActors = (int) spawned.stream().filter(a -> a.role() == EngineActor.Role.SIZE_CLASS).count();
      assertThat(classActors).isPositive();
      assertThat(spawned).contains(EngineActor.sizeClass(0), EngineActor.sizeClass(classActors - 1));
    }
  }

  @Test
  void heldMessagesWaitForTheTestAndArriveInTheOrderTheyWereHeld() {
    GatedActors actors = new GatedActors();
    try (EngineFixture engine = EngineFixture.start(HOCON, ZswapdSetup.of(actors))) {
      Zswapd z = engine.zswapd();
      await(z.store("swap0", 0, page(0)), "the store that makes shard 0"); // routes settle on the shard
      MessageGate stores = actors.hold("a batch of pages at shard 0",
          GatedActors.actor(EngineActor.treeShard("swap0", 0)), TreeShard.Pages.class);
      List<CompletableFuture<Void>> writes = new ArrayList<>();
      for (int i = 1; i <= 3; i++) { // each its own batch: sent once the one before is held
        writes.add(z.store("swap0", 5, page(i)).toCompletableFuture());
        stores.awaitArrival(i - 1);
      }
      assertThat(stores.held()).isEqualTo(3);
      assertThat(writes).noneMatch(CompletableFuture::isDone);
      assertThatThrownBy(() -> stores.release(7)).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("#7 is not held");

      stores.open();
      writes.forEach(w -> await(w, "a released store"));
      assertThat(await(z.load("swap0", 5), "a load")).as("the last store wins: order kept").isEqualTo(page(3));
      await(z.store("swap0", 6, page(4)), "a store through the open gate");
      assertThat(stores.held()).isZero();
      assertThat(stores.arrived()).as("3 stores, the load, the last store").isEqualTo(5);
    }
  }

  @Test
  void oneHeldMessageCanBeReleasedWhileTheOthersStayHeld() {
    GatedActors actors = new GatedActors();
    try (EngineFixture engine = EngineFixture.start(HOCON, ZswapdSetup.of(actors))) {
      Zswapd z = engine.zswapd();
      await(z.store("swap0", 0, page(0)), "the store that makes shard 0");
      MessageGate loads = actors.hold("a batch of pages at shard 0",
          GatedActors.actor(EngineActor.treeShard("swap0", 0)), TreeShard.Pages.class);
      CompletableFuture<byte[]> first = z.load("swap0", 0).toCompletableFuture();
      loads.awaitArrival(0);
      CompletableFuture<byte[]> second = z.load("swap0", 1).toCompletableFuture();
      loads.awaitArrival(1);
      loads.release(1);
      assertThat(await(second, "the released load")).isEqualTo(new byte[PageGenerator.PAGE_SIZE]);
      assertThat(first).isNotDone();
      assertThat(loads.isHeld(0)).isTrue();
      loads.releaseAll();
      assertThat(await(first, "the other load")).isEqualTo(page(0));
    }
  }

  @Test
  void aWatchRecordsTheActorAndThreadOfEachMessageAndHoldsNothing() {
    GatedActors actors = new GatedActors();
    MessageGate allocs = actors.watch("a shard's work", GatedActors.role(EngineActor.Role.SIZE_CLASS),
        SizeClass.Work.class);
    try (EngineFixture engine = EngineFixture.start(HOCON, ZswapdSetup.of(actors))) {
      await(engine.zswapd().store("swap0", 9, page(9)), "a store through a watch");
      GatedActors.Arrival a = allocs.awaitArrival(0);
      assertThat(a.actor().role()).isEqualTo(EngineActor.Role.SIZE_CLASS);
      assertThat(((SizeClass.Work) a.message()).work().allocs()).isEqualTo(1);
      assertThat(a.thread()).contains("zswapd-test");
      assertThat(allocs.held()).isZero();
    }
  }

  @Test
  void aFaultMakesTheChosenActorThrowOnTheChosenMessageOnly() throws Exception {
    GatedActors actors = new GatedActors();
    try (EngineFixture engine = EngineFixture.start(HOCON, ZswapdSetup.of(actors))) {
      Zswapd z = engine.zswapd();
      await(z.store("swap0", 0, page(0)), "the store that makes shard 0");
      await(z.store("swap0", TreeShard.PAGES, page(1)), "the store that makes shard 1");
      ActorFault fault = actors.failOn("shard 1 on a load", GatedActors.actor(EngineActor.treeShard("swap0", 1)),
          m -> m instanceof TreeShard.Pages p && p.requests().get(0) instanceof EngineCommand.Load);
      assertThat(await(z.load("swap0", 0), "a load from shard 0")).isEqualTo(page(0));
      assertThat(fault.failures()).as("other actors and other messages pass").isZero();
      z.load("swap0", TreeShard.PAGES); // shard 1 throws on it (and so the engine fails: EngineFailureTest)
      GatedActors.Arrival failed = fault.first().get(30, TimeUnit.SECONDS);
      assertThat(failed.actor()).isEqualTo(EngineActor.treeShard("swap0", 1));
      assertThat(((TreeShard.Pages) failed.message()).requests().get(0)).isInstanceOf(EngineCommand.Load.class);
      assertThat(fault.failures()).isEqualTo(1);
    }
  }
}
