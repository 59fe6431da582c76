package io.zswapd.actors.pool;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.zswapd.actors.arena.OffHeap;
import io.zswapd.actors.arena.PageArena;
import io.zswapd.config.OffHeapKind;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A zspage keeps its pages as a run (one page id) or, when they are not consecutive, as a
 * list: objects that straddle pages round-trip byte for byte either way, and migration turns
 * a run into a list and a list back into a run without changing a byte.
 */
class ZsPagesTest {
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static final int PAGES_PER_CHUNK = 512;

  /** A four-page class whose objects straddle pages, on real pages granted by a real arena. */
  private static final class Fixture {
    final ClassGeometry g = SizeClassTest.straddlingClass(4);
    final ZsPages zs = new ZsPages(g.size(), g.objsPerZspage(), 4, PAGES_PER_CHUNK, 1 << 16);
    final int[] pages;
    final SplittableRandom rnd;

    Fixture(long seed, int pageCount) {
      ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(PAGES_PER_CHUNK * 4096, 64 << 20, 60 << 20, OffHeap.choose(OffHeapKind.AUTO, true)));
      TestProbe<PageArena.GrantReply> granted = kit.createTestProbe();
      arena.tell(new PageArena.Grant(pageCount, pageCount, granted.getRef()));
      PageArena.Granted grant = (PageArena.Granted) granted.receiveMessage();
      zs.addChunks(grant.chunks());
      pages = grant.pageIds().clone();
      Arrays.sort(pages);
      rnd = new SplittableRandom(seed);
    }

    /** Fills every object of zspage {@code z} with random bytes; returns them by object index. */
    byte[][] fill(int z) {
      byte[][] data = new byte[g.objsPerZspage()][];
      for (int i = 0; i < data.length; i++) {
        int obj = zs.take(z);
        data[obj] = new byte[g.size()];
        rnd.nextBytes(data[obj]);
        zs.write(z, obj, data[obj], data[obj].length);
      }
      return data;
    }

    void assertHolds(int z, byte[][] data, String when) {
      for (int obj = 0; obj < data.length; obj++) {
        byte[] back = new byte[data[obj].length];
        zs.read(z, obj, back, back.length);
        assertThat(back).as("%s: object %d", when, obj).isEqualTo(data[obj]);
      }
    }
  }

  @Test
  void consecutivePagesMakeARunAndOthersAListBothRoundTrip() {
    Fixture f = new Fixture(11, 16);
    int run = f.zs.create(f.pages, 0);
    int[] scattered = {f.pages[9], f.pages[8], f.pages[14], f.pages[4]};
    int listed = f.zs.create(scattered, 0);
    assertThat(f.zs.pagesAreRun(run)).isTrue();
    assertThat(f.zs.pagesAreRun(listed)).isFalse();
    assertThat(f.zs.listedCount()).isEqualTo(1);
    for (int k = 0; k < 4; k++) {
      assertThat(f.zs.pageAt(run, k)).isEqualTo(f.pages[k]);
      assertThat(f.zs.pageAt(listed, k)).isEqualTo(scattered[k]);
    }
    byte[][] a = f.fill(run);
    byte[][] b = f.fill(listed);
    f.assertHolds(run, a, "run");
    f.assertHolds(listed, b, "list");

    f.zs.free(listed);
    assertThat(f.zs.listedCount()).isZero();
  }

  @Test
  void migrationBreaksARunIntoAListAndMendsItWhenEveryPageLandsOnARun() {
    Fixture f = new Fixture(12, 16);
    int z = f.zs.create(f.pages, 0);
    byte[][] data = f.fill(z);

    f.zs.migratePage(z, 2, f.pages[10]);
    assertThat(f.zs.pagesAreRun(z)).isFalse();
    assertThat(f.zs.pageAt(z, 2)).isEqualTo(f.pages[10]);
    assertThat(f.zs.pageAt(z, 3)).isEqualTo(f.pages[3]);
    f.assertHolds(z, data, "one page moved");

    // Every page to the run pages[12..16), in an order that makes it whole only at the end.
    int[] order = {3, 0, 2, 1};
    for (int k : order) {
      f.zs.migratePage(z, k, f.pages[12 + k]);
      f.assertHolds(z, data, "page " + k + " moved to the new run");
    }
    assertThat(f.zs.pagesAreRun(z)).isTrue();
    assertThat(f.zs.pageAt(z, 0)).isEqualTo(f.pages[12]);
    assertThat(f.zs.listedCount()).as("the list went back when the run was whole").isZero();
  }
}
