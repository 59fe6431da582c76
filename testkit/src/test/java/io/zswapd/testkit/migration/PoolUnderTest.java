package io.zswapd.testkit.migration;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.zswapd.actors.arena.ArenaStats;
import io.zswapd.actors.arena.OffHeap;
import io.zswapd.actors.arena.PageArena;
import io.zswapd.actors.pool.AllocReply;
import io.zswapd.actors.pool.ClassGeometry;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.config.OffHeapKind;
import io.zswapd.protocol.engine.SizeClassStats;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A page arena and one size class driven message by message from the test thread, which plays
 * both the tree shard (Alloc, Read, Free) and the migration worker (Isolate, Migrate, Stop).
 * Everything the test sends reaches the class in send order, so an interleaving from a seed
 * thread is replayed exactly. Checked memory is on: a page touched after its chunk was released
 * throws in the class, which then stops and answers nothing more.
 *
 * <p>Layout by construction: chunks of 16 pages; a class with 4-page zspages whose objects
 * straddle pages; objects allocated in order fill zspage after zspage, and zspages {@code 4c ..
 * 4c+3} lie in chunk {@code c} (the class takes pages 8 at a time, lowest first).
 */
final class PoolUnderTest {
  static final int CHUNK_BYTES = 64 * 1024;
  static final int PAGES_PER_CHUNK = CHUNK_BYTES / 4096;

  final ClassGeometry geometry;
  final ActorRef<PageArena.Command> arena;
  final ActorRef<SizeClass.Command> cls;
  private final ActorTestKit kit;
  private final List<Integer> slots = new ArrayList<>();
  private final List<byte[]> data = new ArrayList<>();
  private final List<Boolean> live = new ArrayList<>();

  PoolUnderTest(ActorTestKit kit) {
    this.kit = kit;
    this.geometry = PoolGeometry.of(4).classes().stream()
        .filter(c -> c.pagesPerZspage() == 4 && 4096 % c.size() != 0 && c.size() > 1000 && c.objsPerZspage() > 4)
        .findFirst().orElseThrow();
    this.arena = kit.spawn(PageArena.create(CHUNK_BYTES, 64 << 20, 60 << 20, OffHeap.choose(OffHeapKind.AUTO, true)));
    this.cls = kit.spawn(SizeClass.create(geometry, arena, CHUNK_BYTES));
  }

  int objs() {
    return geometry.objsPerZspage();
  }

  /** Fills {@code zspages} zspages with random objects: object i lies in zspage i / objs(). */
  void fill(int zspages, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    TestProbe<AllocReply> replies = kit.createTestProbe();
    int n = zspages * objs();
    for (int i = 0; i < n; i++) {
      byte[] bytes = new byte[geometry.size()];
      rnd.nextBytes(bytes);
      data.add(bytes);
      live.add(true);
      cls.tell(new SizeClass.Alloc(bytes, i, i, replies.getRef()));
    }
    for (int i = 0; i < n; i++) {
      AllocReply.Allocated a = replies.expectMessageClass(AllocReply.Allocated.class);
      assertThat(a.tag()).isEqualTo(i);
      slots.add(Handle.slot(a.handle()));
    }
  }

  /** Frees every live object of zspage {@code z} except the first {@code keep}. */
  void freeZspage(int z, int keep) {
    for (int i = z * objs() + keep; i < (z + 1) * objs(); i++) {
      free(i);
    }
  }

  void free(int object) {
    if (live.get(object)) {
      live.set(object, false);
      cls.tell(SizeClass.Work.free(slots.get(object)));
    }
  }

  void freeAll() {
    for (int i = 0; i < slots.size(); i++) {
      free(i);
    }
  }

  /** Reads object {@code i} back and checks it byte for byte. */
  void assertIntact(int object) {
    TestProbe<SizeClass.StoredBytes> probe = kit.createTestProbe();
    cls.tell(new SizeClass.ReadStored(slots.get(object), geometry.size(), object, 0, probe.getRef()));
    assertThat(probe.receiveMessage().bytes()).as("object %d", object).isEqualTo(data.get(object));
  }

  PageArena.EvacuationPlan plan(double minFreeShare) {
    TestProbe<PageArena.EvacuationPlan> probe = kit.createTestProbe();
    arena.tell(new PageArena.PlanEvacuation(minFreeShare, 1 << 20, probe.getRef()));
    return probe.receiveMessage();
  }

  SizeClass.Isolated isolate(int[] chunkIds) {
    TestProbe<SizeClass.Isolated> probe = kit.createTestProbe();
    cls.tell(new SizeClass.Isolate(chunkIds, probe.getRef()));
    return probe.receiveMessage();
  }

  PageArena.Granted grantForMigration(int pages) {
    TestProbe<PageArena.GrantReply> probe = kit.createTestProbe();
    arena.tell(new PageArena.GrantForMigration(pages, probe.getRef()));
    return (PageArena.Granted) probe.receiveMessage();
  }

  SizeClass.Migrated migrate(SizeClass.IsolatedZspage z, PageArena.Granted to) {
    TestProbe<SizeClass.Migrated> probe = kit.createTestProbe();
    cls.tell(new SizeClass.Migrate(z.zspage(), z.pages(), to.pageIds(), to.chunks(), probe.getRef()));
    return probe.receiveMessage();
  }

  /**
   * The arena's figures once the class has handled everything sent to it so far: the class
   * answers its stats after sending its page returns, so the arena has them queued first.
   */
  ArenaStats arenaStats() {
    classStats();
    TestProbe<ArenaStats> probe = kit.createTestProbe();
    arena.tell(new PageArena.GetStats(probe.getRef()));
    return probe.receiveMessage();
  }

  /** The class's figures; also proves the class is still alive (no exception stopped it). */
  SizeClassStats classStats() {
    TestProbe<SizeClassStats> probe = kit.createTestProbe();
    cls.tell(new SizeClass.GetStats(probe.getRef()));
    return probe.receiveMessage();
  }

  SizeClass.Drained drain() {
    TestProbe<SizeClass.Drained> probe = kit.createTestProbe();
    cls.tell(new SizeClass.Drain(probe.getRef()));
    return probe.receiveMessage();
  }

  /**
   * The scene of both seed races: 9 zspages (chunks 0, 1 full, chunk 2 half used), then zspages
   * 0, 2 and 3 emptied, so chunk 0 holds only zspage 1 and is the one chunk worth evacuating.
   */
  void sparseChunkZeroHoldingOnlyZspageOne(long seed) {
    fill(9, seed);
    freeZspage(0, 0);
    freeZspage(2, 0);
    freeZspage(3, 0);
    ArenaStats a = arenaStats();
    assertThat(a.chunksHeld()).isEqualTo(3);
    assertThat(a.pagesInUse()).as("zspages 1, 4..8 and a reserve of one zspage").isEqualTo(6 * 4 + 4);
  }
}
