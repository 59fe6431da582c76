package io.zswapd.testkit.migration;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.protocol.engine.MigrationResult;
import io.zswapd.protocol.engine.ShutdownReport;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.MessageGate;
import io.zswapd.testkit.PageGenerator;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * Shutdown's steps each answer, whatever is in flight (issue 15: the intermittent 30-40 s
 * drain). It was two things: a migration pass waiting for the engine's stats when Stop came
 * waited for them, and the stats of an export whose backing store had just closed (and stopped)
 * waited 60 s for that store. A shutdown whose every step answered is clean; one that had to
 * pass a step over says which, and is not.
 */
class ShutdownStepsTest {
  static final String HOCON = """
      zswapd.pool.max-size = 64 MiB
      zswapd.pool.migration.period = off
      zswapd.exports = [ { name = "swap0", size = 256 MiB, backing-file = "/nonexistent/zswapd-steps" } ]
      """;
  final PageGenerator pages = new PageGenerator(1540);

  @Test
  void aShutdownDuringAPassThatWaitsForStatsEndsThePassAndIsClean() throws Exception {
    GatedActors actors = new GatedActors();
    GatedBackingIo io = GatedBackingIo.inMemory().holdWrites(false);
    try (EngineFixture engine = EngineFixture.start(HOCON,
        new ZswapdSetup(export -> io).withSpawnHook(actors))) {
      Zswapd z = engine.zswapd();
      await(z.store("swap0", 1, pages.page(1, PageGenerator.Kind.C50)));
      MessageGate stats = actors.hold("the migration pass's engine stats",
          GatedActors.role(EngineActor.Role.MIGRATION_WORKER), GatedActors.named("StatsArrived"));
      CompletionStage<MigrationResult> pass = z.migrate();
      stats.awaitArrival(0); // the pass waits for its stats, which the gate holds

      ShutdownReport report = await(z.shutdown());
      assertThat(report.stepsSkipped()).as("every step answered").isEmpty();
      assertThat(report.clean()).as("%s", report).isTrue();
      assertThat(stats.isHeld(0)).as("the stats never reached the worker").isTrue();
      await(pass);
    }
  }

  @Test
  void statsAfterShutdownReportTheClosedBackingStoresLastFigures() throws Exception {
    GatedBackingIo io = GatedBackingIo.inMemory().holdWrites(false);
    try (EngineFixture engine = EngineFixture.start(HOCON, new ZswapdSetup(export -> io))) {
      Zswapd z = engine.zswapd();
      for (int p = 0; p < 4; p++) {
        await(z.store("swap0", p, pages.page(p, PageGenerator.Kind.C50)));
      }
      assertThat(await(z.writeback(WritebackMode.ALL)).writtenBack()).isEqualTo(4);
      assertThat(await(z.shutdown()).clean()).isTrue();

      var backing = await(z.stats()).export("swap0").orElseThrow().backing();
      assertThat(backing.bytesUsed()).as("every slot freed before the store closed").isZero();
      assertThat(backing.writes()).as("the store's last figures, not an empty row").isEqualTo(4);
    }
  }
}
