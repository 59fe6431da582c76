package io.zswapd.testkit.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import io.zswapd.actors.arena.ArenaStats;
import io.zswapd.actors.arena.Chunk;
import io.zswapd.actors.arena.PageArena;
import io.zswapd.actors.arena.ReleasedMemoryException;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.protocol.engine.SizeClassStats;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The 2016 seed (zsmalloc migration vs free): a zspage is isolated for page migration, and the
 * last object in it is freed before the migration is processed. In the kernel the emptied
 * zspage was freed while still isolated and put back later: use after free. Here the free is
 * applied, the zspage stays until its Migrate hands it back, and is released then, once.
 */
class MigrationVsFreeTest {
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void lastObjectFreedBeforeTheMigrationIsProcessedReleasesTheZspageOnceWhenMigrationHandsItBack() {
    PoolUnderTest t = new PoolUnderTest(kit);
    t.sparseChunkZeroHoldingOnlyZspageOne(2016);

    PageArena.EvacuationPlan plan = t.plan(0.5);
    assertThat(plan.chunkIds()).containsExactly(0);
    SizeClass.Isolated isolated = t.isolate(plan.chunkIds());
    assertThat(isolated.zspages()).hasSize(1);
    SizeClass.IsolatedZspage z = isolated.zspages().get(0);
    assertThat(java.util.Arrays.stream(z.pages()).map(p -> p / PoolUnderTest.PAGES_PER_CHUNK)).containsOnly(0).hasSize(4);
    PageArena.Granted to = t.grantForMigration(4);
    assertThat(java.util.Arrays.stream(to.pageIds()).map(p -> p / PoolUnderTest.PAGES_PER_CHUNK)).containsOnly(2).hasSize(4);

    // The race: every object of the isolated zspage is freed before its Migrate arrives.
    t.freeZspage(1, 0);
    SizeClassStats meanwhile = t.classStats();
    assertThat(meanwhile.zspagesIsolated()).as("emptied but not released while isolated").isEqualTo(1);
    assertThat(meanwhile.zspages()).isEqualTo(6);
    assertThat(t.arenaStats().chunksReleased()).as("chunk 0 still holds the isolated zspage").isZero();

    SizeClass.Migrated m = t.migrate(z, to);
    assertThat(m.emptied()).isTrue();
    assertThat(m.refused()).isFalse();
    assertThat(m.pagesMoved()).isZero();

    ArenaStats a = t.arenaStats();
    assertThat(a.chunksReleased()).as("chunk 0 released, once").isEqualTo(1);
    assertThat(a.chunksHeld()).isEqualTo(2);
    assertThat(a.pagesInUse()).as("zspages 4..8 and the reserve; the 4 destination pages went back").isEqualTo(24);
    SizeClassStats after = t.classStats();
    assertThat(after.zspagesIsolated()).isZero();
    assertThat(after.zspages()).isEqualTo(5);
    assertThat(after.pagesMigrated()).isZero();

    // A late putback of the same zspage (a worker that lost track) must not release it again.
    t.cls.tell(new SizeClass.Putback(z.zspage()));
    assertThat(t.arenaStats().pagesInUse()).isEqualTo(24);

    for (int i = 4 * t.objs(); i < 9 * t.objs(); i++) {
      t.assertIntact(i);
    }
    t.freeAll();
    assertThat(t.drain().handlesInUse()).isZero();
    ArenaStats end = t.arenaStats();
    assertThat(end.pagesInUse()).isZero();
    assertThat(end.chunksHeld()).isZero();
    assertThat(end.chunksReleased()).isEqualTo(end.chunksAllocated());
  }

  @Test
  void freesAfterIsolationButBeforeMigrationKeepTheRestIntactAndTheOldChunkIsReleased() {
    PoolUnderTest t = new PoolUnderTest(kit);
    t.sparseChunkZeroHoldingOnlyZspageOne(2017);
    SizeClass.IsolatedZspage z = t.isolate(t.plan(0.5).chunkIds()).zspages().get(0);
    PageArena.Granted to = t.grantForMigration(4);

    t.freeZspage(1, 3); // all but three objects of the isolated zspage
    SizeClass.Migrated m = t.migrate(z, to);
    assertThat(m.emptied()).isFalse();
    assertThat(m.pagesMoved()).isEqualTo(4);

    ArenaStats a = t.arenaStats();
    assertThat(a.chunksReleased()).isEqualTo(1);
    assertThat(a.pagesInUse()).isEqualTo(28);
    assertThat(t.classStats().pagesMigrated()).isEqualTo(4);
    for (int i = t.objs(); i < t.objs() + 3; i++) {
      t.assertIntact(i); // handles unchanged, bytes now in chunk 2
    }
    // A free that empties it after migration goes the ordinary way.
    t.freeZspage(1, 0);
    assertThat(t.classStats().zspages()).isEqualTo(5);
    t.freeAll();
    t.drain();
    assertThat(t.arenaStats().pagesInUse()).isZero();
    assertThat(t.arenaStats().chunksHeld()).isZero();
  }

  @Test
  void isolatedZspageTakesNoNewObjects() {
    PoolUnderTest t = new PoolUnderTest(kit);
    t.sparseChunkZeroHoldingOnlyZspageOne(2018);
    t.freeZspage(1, 1); // zspage 1 is now the emptiest partial one, the first an alloc would skip
    SizeClass.IsolatedZspage z = t.isolate(t.plan(0.5).chunkIds()).zspages().get(0);
    t.fill(1, 99); // one more zspage's worth of objects: none may land in the isolated zspage
    assertThat(t.classStats().zspagesIsolated()).isEqualTo(1);
    SizeClass.Migrated m = t.migrate(z, t.grantForMigration(4));
    assertThat(m.pagesMoved()).isEqualTo(4);
    t.assertIntact(t.objs());
    for (int i = 9 * t.objs(); i < 10 * t.objs(); i++) {
      t.assertIntact(i);
    }
    t.freeAll();
    t.drain();
    assertThat(t.arenaStats().pagesInUse()).isZero();
  }

  @Test
  void checkedMemoryTurnsAnAccessToAReleasedChunkIntoAClearException() {
    PoolUnderTest t = new PoolUnderTest(kit);
    t.sparseChunkZeroHoldingOnlyZspageOne(2019);
    PageArena.Granted held = t.grantForMigration(1);
    Chunk chunk = held.chunks()[0];
    chunk.memory().getInt(chunk.byteOffset(held.pageIds()[0])); // fine while the page is granted
    t.freeAll();
    t.arena.tell(new PageArena.Return(held.pageIds(), 1));
    t.drain();
    assertThat(t.arenaStats().chunksHeld()).isZero();
    assertThatThrownBy(() -> chunk.memory().getInt(0))
        .isInstanceOf(ReleasedMemoryException.class)
        .hasMessage("off-heap chunk " + chunk.id() + " was released to the OS; this access is a use after free");
  }
}
