package io.zswapd.actors.arena;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
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

  private static PageRef[] grant(ActorRef<PageArena.Command> arena, int min, int max) {
    TestProbe<PageArena.GrantReply> p = kit.createTestProbe();
    arena.tell(new PageArena.Grant(min, max, p.getRef()));
    PageArena.GrantReply r = p.receiveMessage();
    return r instanceof PageArena.Granted g ? g.pages() : null;
  }

  @Test
  void aChunkIsReleasedTheMomentItsLastPageComesBackAndThenAccessFails() {
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(64 << 10, 1 << 20, 1 << 20)); // 16 pages a chunk
    PageRef[] first = grant(arena, 16, 16);
    PageRef[] second = grant(arena, 4, 4);
    assertThat(first[0].chunk()).isNotSameAs(second[0].chunk());
    first[3].put(10, new byte[] {1, 2, 3}, 0, 3);
    byte[] back = new byte[3];
    first[3].get(10, back, 0, 3);
    assertThat(back).containsExactly(1, 2, 3);
    assertThat(stats(arena).chunksHeld()).isEqualTo(2);
    assertThat(stats(arena).pagesInUse()).isEqualTo(20);

    arena.tell(new PageArena.Return(first, 15));
    assertThat(stats(arena).chunksHeld()).isEqualTo(2);
    arena.tell(new PageArena.Return(new PageRef[] {first[15]}, 1));
    ArenaStats s = stats(arena);
    assertThat(s.chunksHeld()).isEqualTo(1);
    assertThat(s.chunksReleased()).isEqualTo(1);
    assertThat(s.pagesInUse()).isEqualTo(4);
    assertThat(s.maxPagesInUse()).isEqualTo(20);
    assertThatThrownBy(() -> first[3].get(10, back, 0, 3))
        .isInstanceOf(ReleasedMemoryException.class)
        .hasMessageContaining("use after free");
  }

  @Test
  void grantsComeFromTheFullestChunk() {
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(64 << 10, 1 << 20, 1 << 20));
    PageRef[] a = grant(arena, 16, 16); // chunk A full
    PageRef[] b = grant(arena, 16, 16); // chunk B full
    arena.tell(new PageArena.Return(new PageRef[] {a[0]}, 1));              // A: 1 free
    arena.tell(new PageArena.Return(new PageRef[] {b[0], b[1], b[2]}, 3)); // B: 3 free
    PageRef[] next = grant(arena, 1, 1);
    assertThat(next[0].chunk()).isSameAs(a[0].chunk());
  }

  @Test
  void theLimitRefusesAndHysteresisHoldsUntilBelowTheAcceptThreshold() {
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(64 << 10, 64 << 10, 32 << 10)); // 16 pages, accept < 8
    PageRef[] all = grant(arena, 10, 16);
    assertThat(all).hasSize(16);
    assertThat(grant(arena, 1, 1)).isNull();
    arena.tell(new PageArena.Return(all, 4)); // 12 in use, above 8
    assertThat(grant(arena, 1, 1)).isNull();
    PageRef[] rest = java.util.Arrays.copyOfRange(all, 4, 16);
    arena.tell(new PageArena.Return(rest, 5)); // 7 in use, below 8
    assertThat(grant(arena, 1, 1)).hasSize(1);
    ArenaStats s = stats(arena);
    assertThat(s.poolLimitHit()).isEqualTo(2);
  }
}
