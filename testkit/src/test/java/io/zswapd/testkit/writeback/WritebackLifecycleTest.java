package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.actors.ZswapGuardian;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.PageGenerator;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/** Loads, removal and faults around writeback; every scenario ends with nothing leaked. */
class WritebackLifecycleTest {

  @Test
  void aLoadDuringWritebackIsServedFromMemoryAndAfterItFromTheBackingFile() {
    try (WritebackScenario s = new WritebackScenario()) {
      await(s.z.store(WritebackScenario.EXPORT, 5, s.page(5)));
      CompletionStage<WritebackResult> writeback = s.z.writeback(WritebackMode.ALL);
      s.awaitWriteIssued(0);
      assertThat(await(s.z.load(WritebackScenario.EXPORT, 5))).isEqualTo(s.page(5));
      assertThat(s.stats().backing().loadsFromBacking()).as("served from memory").isZero();
      s.io.releaseWrite(0);
      assertThat(await(writeback).writtenBack()).isEqualTo(1);
      assertThat(await(s.z.load(WritebackScenario.EXPORT, 5))).isEqualTo(s.page(5));
      ExportStats stats = s.stats();
      assertThat(stats.backing().loadsFromBacking()).isEqualTo(1);
      assertThat(stats.backing().writtenBackPages()).isEqualTo(1);
      assertThat(stats.comprDataSize()).as("no longer in the pool").isZero();
      assertThat(stats.backing().bytesUsed()).as("packed: compressed size rounded to 64 bytes")
          .isLessThan(PageGenerator.PAGE_SIZE).isGreaterThan(1000);
      s.assertNothingLeaks();
    }
  }

  @Test
  void writebackCompletingAfterTheExportWasRemovedLeavesNothing() {
    try (WritebackScenario s = new WritebackScenario()) {
      for (int i = 0; i < 3; i++) {
        await(s.z.store(WritebackScenario.EXPORT, i, s.page(i)));
      }
      CompletionStage<WritebackResult> writeback = s.z.writeback(WritebackMode.ALL);
      s.awaitWriteIssued(2);
      CompletionStage<ZswapGuardian.ExportRemoved> removal = s.z.removeExport(WritebackScenario.EXPORT);
      s.io.releaseAllWrites();                                  // the writes finish after removal began
      ZswapGuardian.ExportRemoved removed = await(removal);
      assertThatThrownBy(() -> await(s.z.load(WritebackScenario.EXPORT, 0)))
          .isInstanceOf(ZswapdException.class)
          .satisfies(e -> assertThat(((ZswapdException) e).code()).isEqualTo(ErrorCode.NO_SUCH_EXPORT));
      assertThat(removed.pagesFreed()).isEqualTo(3);
      assertThat(removed.backingSlotsInUse()).isZero();
      await(writeback);
      assertThat(s.engineStats().pool().handlesInUse()).isZero();
      assertThat(await(s.z.shutdown()).clean()).isTrue();
      assertThat(s.io.isClosed()).isTrue();
    }
  }

  @Test
  void aWriteErrorKeepsThePageInMemoryAndIsCounted() {
    try (WritebackScenario s = new WritebackScenario("", GatedBackingIo.inMemory().failNextWrites(1))) {
      await(s.z.store(WritebackScenario.EXPORT, 9, s.page(9)));
      WritebackResult result = await(s.z.writeback(WritebackMode.ALL));
      assertThat(result.failed()).isEqualTo(1);
      assertThat(result.writtenBack()).isZero();
      assertThat(await(s.z.load(WritebackScenario.EXPORT, 9))).isEqualTo(s.page(9));
      ExportStats stats = s.stats();
      assertThat(stats.backing().writeErrors()).isEqualTo(1);
      assertThat(stats.backing().writtenBackPages()).isZero();
      assertThat(stats.comprDataSize()).isPositive();
      assertThat(await(s.z.writeback(WritebackMode.ALL)).writtenBack()).as("the next attempt succeeds").isEqualTo(1);
      s.assertNothingLeaks();
    }
  }

  @Test
  void aReadErrorFailsOnlyThatLoadWithAnIoError() {
    try (WritebackScenario s = new WritebackScenario("", GatedBackingIo.inMemory())) {
      await(s.z.store(WritebackScenario.EXPORT, 4, s.page(4)));
      assertThat(await(s.z.writeback(WritebackMode.ALL)).writtenBack()).isEqualTo(1);
      s.io.failNextReads(1);
      assertThatThrownBy(() -> await(s.z.load(WritebackScenario.EXPORT, 4)))
          .isInstanceOf(ZswapdException.class)
          .satisfies(e -> assertThat(((ZswapdException) e).code()).isEqualTo(ErrorCode.IO_ERROR))
          .hasMessageContaining("backing file");
      assertThat(await(s.z.load(WritebackScenario.EXPORT, 4))).isEqualTo(s.page(4));
      assertThat(s.stats().backing().readErrors()).isEqualTo(1);
      s.assertNothingLeaks();
    }
  }

  @Test
  void aFullBackingFileStopsWritebackAndTheEngineKeepsServingFromMemory() {
    try (WritebackScenario s = new WritebackScenario("""
        zswapd.exports = [ { name = "swap0", size = 1 GiB, backing-file = "/nonexistent/b", backing-size = 8 KiB } ]
        """, GatedBackingIo.inMemory())) {
      for (int i = 0; i < 10; i++) {
        await(s.z.store(WritebackScenario.EXPORT, i, s.page(i)));
      }
      WritebackResult result = await(s.z.writeback(WritebackMode.ALL));
      assertThat(result.writtenBack()).as("8 KiB holds a few ~2 KiB pages").isBetween(1L, 4L);
      assertThat(result.refused()).isEqualTo(10 - result.writtenBack());
      for (int i = 0; i < 10; i++) {
        assertThat(await(s.z.load(WritebackScenario.EXPORT, i))).as("page %d", i).isEqualTo(s.page(i));
      }
      assertThat(s.stats().backing().backingFull()).isEqualTo(result.refused());
      s.assertNothingLeaks();
    }
  }

  @Test
  void incompressiblePagesGoStraightToTheBackingFile() {
    try (WritebackScenario s = new WritebackScenario("", GatedBackingIo.inMemory())) {
      byte[] random = s.pages.page(1, PageGenerator.Kind.RANDOM);
      await(s.z.store(WritebackScenario.EXPORT, 1, random));
      ExportStats stats = s.stats();
      assertThat(stats.backing().writtenBackPages()).isEqualTo(1);
      assertThat(stats.hugePages()).as("not in the pool").isZero();
      assertThat(stats.rejectCompressPoor()).isEqualTo(1);
      assertThat(s.engineStats().pool().handlesInUse()).isZero();
      assertThat(await(s.z.load(WritebackScenario.EXPORT, 1))).isEqualTo(random);
      s.assertNothingLeaks();
    }
  }
}
