package io.zswapd.actors.arena;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.BehaviorTestKit;
import akka.actor.testkit.typed.javadsl.TestInbox;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.zswapd.config.OffHeapKind;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PageArenaTest {
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static ArenaStats stats(ActorRef<PageArena.Command> arena) {
    TestProbe<ArenaStats> p = kit.createTestProbe();
    arena.tell(new PageArena.GetStats(p.getRef()));
    return p.receiveMessage();
  }

  private static PageArena.Granted grant(ActorRef<PageArena.Command> arena, int min, int max) {
    TestProbe<PageArena.GrantReply> p = kit.createTestProbe();
    arena.tell(new PageArena.Grant(min, max, p.getRef()));
    PageArena.GrantReply r = p.receiveMessage();
    return r instanceof PageArena.Granted g ? g : null;
  }

  private static void giveBack(ActorRef<PageArena.Command> arena, int... pageIds) {
    arena.tell(new PageArena.Return(pageIds, pageIds.length));
  }

  private static final int PAGES_PER_CHUNK = 16; // 64 KiB chunks

  @Test
  void aChunkIsReleasedTheMomentItsLastPageComesBackAndThenAccessFails() {
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(64 << 10, 1 << 20, 1 << 20, OffHeap.choose(OffHeapKind.AUTO, true))); // 16 pages a chunk
    PageArena.Granted first = grant(arena, 16, 16);
    PageArena.Granted second = grant(arena, 4, 4);
    assertThat(first.chunks()).hasSize(1);
    assertThat(second.chunks()).hasSize(1);
    Chunk chunk = first.chunks()[0];
    assertThat(chunk).isNotSameAs(second.chunks()[0]);
    for (int id : first.pageIds()) {
      assertThat(PageId.chunkId(id, PAGES_PER_CHUNK)).isEqualTo(chunk.id());
    }
    int page3 = first.pageIds()[3];
    chunk.memory().put(chunk.byteOffset(page3) + 10, new byte[] {1, 2, 3}, 0, 3);
    byte[] back = new byte[3];
    chunk.memory().get(chunk.byteOffset(page3) + 10, back, 0, 3);
    assertThat(back).containsExactly(1, 2, 3);
    assertThat(stats(arena).chunksHeld()).isEqualTo(2);
    assertThat(stats(arena).pagesInUse()).isEqualTo(20);

    arena.tell(new PageArena.Return(first.pageIds(), 15));
    assertThat(stats(arena).chunksHeld()).isEqualTo(2);
    giveBack(arena, first.pageIds()[15]);
    ArenaStats s = stats(arena);
    assertThat(s.chunksHeld()).isEqualTo(1);
    assertThat(s.chunksReleased()).isEqualTo(1);
    assertThat(s.pagesInUse()).isEqualTo(4);
    assertThat(s.maxPagesInUse()).isEqualTo(20);
    assertThatThrownBy(() -> chunk.memory().get(chunk.byteOffset(page3) + 10, back, 0, 3))
        .isInstanceOf(ReleasedMemoryException.class)
        .hasMessageContaining("use after free");
  }

  @Test
  void pageIdsAreChunkTimesPagesPerChunkPlusIndexAndAReleasedChunkIdIsReusedWithANewChunk() {
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(64 << 10, 1 << 20, 1 << 20, OffHeap.choose(OffHeapKind.AUTO, true)));
    PageArena.Granted a = grant(arena, 16, 16);
    PageArena.Granted b = grant(arena, 2, 2);
    assertThat(a.pageIds()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    assertThat(b.pageIds()).containsExactly(16, 17); // chunk 1, lowest free index first
    assertThat(b.chunks()[0].id()).isEqualTo(1);

    arena.tell(new PageArena.Return(a.pageIds(), 16)); // chunk 0 released, id 0 free
    PageArena.Granted c = grant(arena, 16, 16); // chunk 1's 14 free pages, then a new chunk 0
    assertThat(c.chunks()).extracting(Chunk::id).containsExactly(1, 0);
    assertThat(c.chunks()[1]).isNotSameAs(a.chunks()[0]);
    assertThat(c.pageIds()).startsWith(18, 19).endsWith(0, 1);
    assertThatThrownBy(() -> a.chunks()[0].memory()).isInstanceOf(ReleasedMemoryException.class);
  }

  @Test
  void aPageReturnedTwiceOrAfterItsChunkWasReleasedIsRefusedAtOnce() {
    BehaviorTestKit<PageArena.Command> arena = BehaviorTestKit.create(PageArena.create(64 << 10, 1 << 20, 1 << 20, OffHeap.choose(OffHeapKind.AUTO, true)));
    TestInbox<PageArena.GrantReply> inbox = TestInbox.create();
    arena.run(new PageArena.Grant(4, 4, inbox.getRef()));
    int[] ids = ((PageArena.Granted) inbox.receiveMessage()).pageIds();
    arena.run(new PageArena.Return(new int[] {ids[1]}, 1));
    assertThatThrownBy(() -> arena.run(new PageArena.Return(new int[] {ids[1]}, 1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("page 1 of chunk 0")
        .hasMessageContaining("twice or after release");
    arena.run(new PageArena.Return(new int[] {ids[0], ids[2], ids[3]}, 3)); // chunk 0 released
    assertThatThrownBy(() -> arena.run(new PageArena.Return(new int[] {ids[0]}, 1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("twice or after release");
  }

  @Test
  void aChunkOfPagesNotAMultipleOf64GrantsExactlyItsPages() {
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(17 * 4096, 1 << 20, 1 << 20, OffHeap.choose(OffHeapKind.AUTO, true))); // 17 pages
    PageArena.Granted a = grant(arena, 16, 16);
    PageArena.Granted b = grant(arena, 2, 2);
    assertThat(b.pageIds()).containsExactly(16, 17); // the 17th page of chunk 0, then chunk 1's first
    assertThat(b.chunks()).extracting(Chunk::id).containsExactly(0, 1);
    arena.tell(new PageArena.Return(a.pageIds(), 16));
    giveBack(arena, 16);
    ArenaStats s = stats(arena);
    assertThat(s.chunksReleased()).isEqualTo(1);
    assertThat(s.pagesInUse()).isEqualTo(1);
  }

  @Test
  void grantsComeFromTheFullestChunk() {
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(64 << 10, 1 << 20, 1 << 20, OffHeap.choose(OffHeapKind.AUTO, true)));
    PageArena.Granted a = grant(arena, 16, 16); // chunk A full
    PageArena.Granted b = grant(arena, 16, 16); // chunk B full
    giveBack(arena, a.pageIds()[0]);                                         // A: 1 free
    giveBack(arena, b.pageIds()[0], b.pageIds()[1], b.pageIds()[2]);         // B: 3 free
    PageArena.Granted next = grant(arena, 1, 1);
    assertThat(next.chunks()).containsExactly(a.chunks()[0]);
    assertThat(next.pageIds()).containsExactly(a.pageIds()[0]);
  }

  @Test
  void theLimitRefusesAndHysteresisHoldsUntilBelowTheAcceptThreshold() {
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(64 << 10, 64 << 10, 32 << 10, OffHeap.choose(OffHeapKind.AUTO, true))); // 16 pages, accept < 8
    int[] all = grant(arena, 10, 16).pageIds();
    assertThat(all).hasSize(16);
    assertThat(grant(arena, 1, 1)).isNull();
    arena.tell(new PageArena.Return(all, 4)); // 12 in use, above 8
    assertThat(grant(arena, 1, 1)).isNull();
    int[] rest = java.util.Arrays.copyOfRange(all, 4, 16);
    arena.tell(new PageArena.Return(rest, 5)); // 7 in use, below 8
    assertThat(grant(arena, 1, 1).pageIds()).hasSize(1);
    ArenaStats s = stats(arena);
    assertThat(s.poolLimitHit()).isEqualTo(2);
  }

  // ---- evacuation ---------------------------------------------------------------------------

  private static PageArena.EvacuationPlan plan(ActorRef<PageArena.Command> arena, double minFree, int maxPages) {
    TestProbe<PageArena.EvacuationPlan> p = kit.createTestProbe();
    arena.tell(new PageArena.PlanEvacuation(minFree, maxPages, p.getRef()));
    return p.receiveMessage();
  }

  private static PageArena.Granted grantForMigration(ActorRef<PageArena.Command> arena, int count) {
    TestProbe<PageArena.GrantReply> p = kit.createTestProbe();
    arena.tell(new PageArena.GrantForMigration(count, p.getRef()));
    return (PageArena.Granted) p.receiveMessage();
  }

  private static int[] chunksOf(PageArena.Granted g) {
    return java.util.Arrays.stream(g.pageIds()).map(id -> PageId.chunkId(id, PAGES_PER_CHUNK)).toArray();
  }

  /** Three chunks: 0 with 2 pages in use, 1 with 12, 2 full (16). */
  private static ActorRef<PageArena.Command> threeChunks() {
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(64 << 10, 1 << 20, 1 << 20, OffHeap.choose(OffHeapKind.AUTO, true)));
    PageArena.Granted all = grant(arena, 48, 48);
    int[] ids = all.pageIds(); // chunk 0 = ids[0..16), 1 = [16..32), 2 = [32..48): fullest chunk first, lowest page first
    for (int i = 2; i < 16; i++) {
      giveBack(arena, ids[i]);
    }
    for (int i = 28; i < 32; i++) {
      giveBack(arena, ids[i]);
    }
    return arena;
  }

  @Test
  void evacuationPlansTheSparsestChunksThatFitInTheOthersAndGrantsForMigrationAvoidThem() {
    ActorRef<PageArena.Command> arena = threeChunks();
    PageArena.EvacuationPlan plan = plan(arena, 0.25, 1000);
    assertThat(plan.chunkIds()).containsExactly(0); // chunk 1 (4 free of 16) would not fit in chunk 2 (full)
    assertThat(plan.pagesInUse()).isEqualTo(2);

    PageArena.Granted to = grantForMigration(arena, 2);
    assertThat(chunksOf(to)).containsExactly(1, 1);
    PageArena.Granted normal = grant(arena, 2, 2); // ordinary grants skip the evacuating chunk too
    assertThat(chunksOf(normal)).containsExactly(1, 1);
    assertThat(stats(arena).chunksAllocated()).isEqualTo(3);

    arena.tell(new PageArena.EndEvacuation());
    PageArena.Granted after = grant(arena, 1, 1);
    assertThat(PageId.chunkId(after.pageIds()[0], PAGES_PER_CHUNK)).as("fullest chunk with room").isEqualTo(0);
  }

  @Test
  void migrationGrantsNeverMakeAChunkAndStopWhereTheOtherChunksAreFull() {
    ActorRef<PageArena.Command> arena = threeChunks();
    assertThat(plan(arena, 0.25, 1000).chunkIds()).containsExactly(0);
    PageArena.Granted to = grantForMigration(arena, 10);
    assertThat(to.pageIds()).as("only chunk 1's four free pages").hasSize(4);
    assertThat(stats(arena).chunksAllocated()).isEqualTo(3);
    assertThat(plan(arena, 0.25, 1000).chunkIds()).as("chunk 0's pages no longer fit anywhere").isEmpty();
  }
}
