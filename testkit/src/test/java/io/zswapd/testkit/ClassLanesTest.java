package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.pool.Pool;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.SizeClassStats;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A size class served by several actors (lanes, one per core up to four) still looks like one
 * class from outside: pages of one class land in every lane and read back, and the stats show
 * one row per class size with the lanes' figures summed.
 */
class ClassLanesTest {

  @Test
  void pagesOfOneClassSpreadOverItsLanesAndItsStatsAreOneRow() {
    int lanes = Pool.lanes(PoolGeometry.of(4));
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 64 MiB\n")) {
      Zswapd z = engine.zswapd();
      PageGenerator gen = new PageGenerator(21);
      int pages = 600;
      for (int i = 0; i < pages; i++) {
        await(z.store("swap0", i, gen.page(i, PageGenerator.Kind.C25)));
      }
      for (int i = 0; i < pages; i++) {
        assertThat(await(z.load("swap0", i))).as("page %d", i).isEqualTo(gen.page(i, PageGenerator.Kind.C25));
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
    }
  }
}
