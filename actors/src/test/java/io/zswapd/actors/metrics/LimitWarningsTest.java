package io.zswapd.actors.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.protocol.engine.BackingFigures;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.RecompressFigures;
import io.zswapd.protocol.engine.RemoteShardFigures;
import io.zswapd.protocol.engine.PoolStats;
import java.util.List;
import org.junit.jupiter.api.Test;

class LimitWarningsTest {
  private static EngineStats stats(long limitHit, long allocFail, long reclaimFail, long writeErrors, long readErrors) {
    PoolStats pool = new PoolStats(4096, 8192, 4096, 0, limitHit, 1, 1, 1 << 20, 0, 1, reclaimFail, 0, 0, 1, 4096, 0, "mmap", 3686);
    BackingFigures backing = new BackingFigures(0, 0, 0, writeErrors, readErrors, 0, 0, 0, 0, 0, 0);
    ExportStats e = new ExportStats("swap0", 1, 4096, 100, 0, 0, 0, 0, allocFail, 0, 0, 1, backing, RecompressFigures.NONE);
    return new EngineStats(pool, List.of(e), List.of());
  }

  @Test
  void quietEngineLogsNothing() {
    LimitWarnings w = new LimitWarnings();
    assertThat(w.check(stats(0, 0, 0, 0, 0))).isEmpty();
    assertThat(w.check(stats(0, 0, 0, 0, 0))).isEmpty();
  }

  @Test
  void growthSinceTheLastTickIsOneLineNamingEachCounterAndItsGrowth() {
    LimitWarnings w = new LimitWarnings();
    assertThat(w.check(stats(2, 0, 0, 0, 0))).hasValueSatisfying(l -> assertThat(l).contains("pool limit hit 2 times"));
    assertThat(w.check(stats(2, 0, 0, 0, 0))).as("nothing grew").isEmpty();
    assertThat(w.check(stats(7, 30, 1, 4, 2))).hasValueSatisfying(l -> assertThat(l)
        .contains("pool limit hit 5 times (limit 8192 bytes, in use 4096 bytes)", "30 stores refused: pool full",
            "1 stores the pool could not take: writeback made no room in time, so they went straight to the "
                + "backing file", "4 backing-file write errors", "2 backing-file read errors")
        .doesNotContain("\n"));
  }

  /** An export on memory nodes whose full pools refused stores the front kept in its backing file. */
  private static EngineStats clustered(long allocFail, long fileBytes) {
    PoolStats pool = new PoolStats(4096, 8192, 4096, 0, 0, 1, 1, 1 << 20, 0, 1, 0, 0, 0, 1, 4096, 0, "mmap", 3686);
    BackingFigures backing = new BackingFigures(0, 0, 0, 0, 0, 0, 0, fileBytes, fileBytes, 0, 0);
    ExportStats e = new ExportStats("swap0", 1, 4096, 100, 0, 0, 0, 0, allocFail, 0, 0, 1, backing,
        RecompressFigures.NONE, List.of(new RemoteShardFigures(0, "10.0.0.1:25520", 1, 100, 1, 1000, 100, 100)));
    return new EngineStats(pool, List.of(e), List.of());
  }

  @Test
  void storesMemoryNodesRefusedAreNamedKeptInTheFileWhenTheFrontKeepsCopies() {
    LimitWarnings w = new LimitWarnings();
    assertThat(w.check(clustered(12, 1 << 20))).hasValueSatisfying(l -> assertThat(l)
        .contains("12 stores refused by full memory nodes, kept in the backing file only")
        .doesNotContain("pool full (reject_alloc_fail)"));
    LimitWarnings without = new LimitWarnings();
    assertThat(without.check(clustered(12, 0))).as("no backing file: the callers were refused")
        .hasValueSatisfying(l -> assertThat(l).contains("12 stores refused: pool full"));
  }
}
