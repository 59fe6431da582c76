package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.pool.Pool;
import io.zswapd.actors.pool.ClassWork;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.SizeClassStats;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * A size class served by several actors (lanes) still looks like one class from outside, and
 * its pages really are spread over the lanes.
 *
 * <p>The rule ({@code Pool.lanes}, {@code TreeShard}): each class has max(1, min(cores,
 * 4096 / classes)) lane actors (one per core, as many as the handle's 12 class bits
 * allow); a page's lane is its slot in its tree shard modulo the lanes, so the allocation of a
 * page of class c in slot s goes to actor {@code c * lanes + s % lanes}; the handle it gets back
 * names that actor, so every load of the page goes to the lane that stored it. Checked with
 * {@link GatedActors} watching the size-class actors: the lane count follows the rule, every
 * allocation goes to its page's lane, pages of one class reach every lane of it, and each read
 * goes to the actor the page's allocation went to; the pages read back, and the stats show one
 * row per class size with the lanes' figures summed.
 *
 * <p>Fails when lanes are removed ({@code Pool.lanes} gives 1), when every page goes to the
 * first lane, and when a lane hands out handles that name another lane. The lane count is set
 * by the cores the JVM sees ({@code -XX:ActiveProcessorCount}), not by the engine's
 * configuration; on a one-core machine the rule gives one lane and the spreading part is
 * skipped, saying so.
 */
class ClassLanesTest {

  @Test
  void pagesOfOneClassSpreadOverItsLanesAndAreReadFromTheLaneThatStoredThem() {
    GatedActors actors = new GatedActors();
    MessageGate works = actors.watch("a shard's work at a size class",
        GatedActors.role(EngineActor.Role.SIZE_CLASS), SizeClass.Work.class);
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 64 MiB\n", ZswapdSetup.of(actors))) {
      Zswapd z = engine.zswapd();
      PoolGeometry geometry = PoolGeometry.of(z.settings().pool().maxPagesPerZspage());
      int cores = Runtime.getRuntime().availableProcessors();
      int classes = geometry.classes().size();
      int lanes = Math.max(1, Math.min(cores, 4096 / classes));
      assertThat(Pool.lanes(geometry)).as("lanes per class with %d cores and %d classes", cores, classes)
          .isEqualTo(lanes);
      await(z.stats()); // answered through the pool's size classes: they are spawned by now
      assertThat(actors.spawned().stream().filter(a -> a.role() == EngineActor.Role.SIZE_CLASS).count())
          .as("size-class actors: %d classes of %d lanes", classes, lanes).isEqualTo((long) classes * lanes);

      PageGenerator gen = new PageGenerator(21);
      PageGenerator.Kind[] kinds = {PageGenerator.Kind.C25, PageGenerator.Kind.C50, PageGenerator.Kind.C75,
          PageGenerator.Kind.TEXT};
      int pages = 600; // all in tree shard 0: a page's slot is its index; a run of pages per kind
      assertThat(pages).isLessThanOrEqualTo(TreeShard.PAGES);
      for (int i = 0; i < pages; i++) {
        await(z.store("swap0", i, gen.page(i, kindOf(i, kinds, pages))), "a store");
      }
      // Loaded now, checked after the routing (a load from the wrong lane fails or gives other bytes).
      Object[] loaded = new Object[pages];
      for (int i = 0; i < pages; i++) {
        try {
          loaded[i] = await(z.load("swap0", i), "a load");
        } catch (RuntimeException e) {
          loaded[i] = e;
        }
      }

      // Every allocation at its page's lane; the lanes each class's pages reached.
      Map<Long, EngineActor> storedAt = new HashMap<>();
      Map<Integer, Set<Integer>> lanesOfClass = new TreeMap<>();
      Map<Integer, Integer> pagesOfClass = new TreeMap<>();
      Set<Long> read = new TreeSet<>();
      for (int k = 0; k < works.arrived(); k++) {
        GatedActors.Arrival a = works.arrival(k).getNow(null);
        ClassWork work = ((SizeClass.Work) a.message()).work();
        for (int i = 0; i < work.allocs(); i++) {
          long page = work.allocTag(i);
          int geometryClass = geometry.classFor(work.allocLength(i)).index();
          int lane = (int) (page % lanes);
          assertThat(a.actor().index())
              .as("page %d (%d bytes, class %d): allocated by lane slot %% lanes = %d of %d", page,
                  work.allocLength(i), geometryClass, lane, lanes)
              .isEqualTo(geometryClass * lanes + lane);
          storedAt.put(page, a.actor());
          lanesOfClass.computeIfAbsent(geometryClass, c -> new TreeSet<>()).add(a.actor().index() % lanes);
          pagesOfClass.merge(geometryClass, 1, Integer::sum);
        }
      }
      assertThat(storedAt).as("pages allocated").hasSize(pages);

      // Every load at the lane that stored the page.
      for (int k = 0; k < works.arrived(); k++) {
        GatedActors.Arrival a = works.arrival(k).getNow(null);
        ClassWork work = ((SizeClass.Work) a.message()).work();
        for (int i = 0; i < work.reads(); i++) {
          long page = work.readPage(i);
          assertThat(a.actor()).as("the read of page %d goes to the lane that stored it", page)
              .isEqualTo(storedAt.get(page));
          read.add(page);
        }
      }
      assertThat(read).as("pages read at the size classes").hasSize(pages);
      for (int i = 0; i < pages; i++) {
        assertThat(loaded[i]).as("page %d", i).isEqualTo(gen.page(i, kindOf(i, kinds, pages)));
      }

      EngineStats s = await(z.stats());
      List<Integer> sizes = s.classes().stream().map(SizeClassStats::size).toList();
      assertThat(sizes).as("one row per class size").doesNotHaveDuplicates().isSorted();
      assertThat(s.classes().stream().mapToLong(SizeClassStats::objsUsed).sum()).isEqualTo(pages);
      // Each lane of a class keeps at most one zspage partly used while pages only arrive.
      for (SizeClassStats c : s.classes()) {
        long partly = c.zspages() - c.zspagesByFullness().get(c.zspagesByFullness().size() - 1);
        assertThat(partly).as("class %d", c.size()).isLessThanOrEqualTo(lanes);
      }

      assumeTrue(lanes > 1, "one lane per class on " + cores + " core(s) (" + classes
          + " classes): nothing to spread; the rule and the routing were checked");
      pagesOfClass.forEach((c, n) -> {
        if (n >= 4 * lanes) {
          assertThat(lanesOfClass.get(c)).as("lanes that class %d's %d pages reached", c, n).hasSize(lanes);
        }
      });
      assertThat(pagesOfClass.values()).as("pages per class (some class must have enough to spread)")
          .anyMatch(n -> n >= 4 * lanes);
    }
  }

  /** Runs of consecutive pages of one kind, so that each kind's class gets pages of every slot modulo the lanes. */
  private static PageGenerator.Kind kindOf(int page, PageGenerator.Kind[] kinds, int pages) {
    return kinds[page * kinds.length / pages];
  }
}
