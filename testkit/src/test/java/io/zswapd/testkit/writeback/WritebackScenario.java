package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.ZswapGuardian;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.ShutdownReport;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.PageGenerator;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * One engine with export {@code swap0} backed by a {@link GatedBackingIo}, for the writeback
 * race replays: the test holds each backing write until it releases it, so the interleavings
 * of the seed threads happen in exactly the order the test chooses.
 */
final class WritebackScenario implements AutoCloseable {
  static final String EXPORT = "swap0";
  final GatedBackingIo io;
  final EngineFixture engine;
  final Zswapd z;
  final PageGenerator pages = new PageGenerator(2013);

  WritebackScenario(String extraHocon, GatedBackingIo io) {
    this(extraHocon, io, SpawnHook.NONE);
  }

  /** With {@code actors} between the engine actors' mailboxes and their behaviors, to hold their messages. */
  WritebackScenario(String extraHocon, GatedBackingIo io, SpawnHook actors) {
    this.io = io;
    this.engine = EngineFixture.start("""
        zswapd.pool.max-size = 64 MiB
        zswapd.exports = [ { name = "swap0", size = 1 GiB, backing-file = "/nonexistent/zswapd-test-backing" } ]
        """ + extraHocon, new ZswapdSetup(export -> io).withSpawnHook(actors));
    this.z = engine.zswapd();
  }

  WritebackScenario() {
    this("", GatedBackingIo.inMemory().holdWrites(true));
  }

  byte[] page(long id) {
    return pages.page(id, PageGenerator.Kind.C50);
  }

  ExportStats stats() {
    return await(z.stats()).export(EXPORT).orElseThrow();
  }

  EngineStats engineStats() {
    return await(z.stats());
  }

  /** Waits until backing write number {@code index} has been issued (and is held). */
  void awaitWriteIssued(int index) {
    await(io.writeCall(index));
  }

  /** Eventually (frees travel as messages) the export's backing file holds exactly {@code bytes}. */
  void eventuallyBackingBytes(long bytes) {
    Awaitility.await().atMost(10, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(20))
        .untilAsserted(() -> assertThat(stats().backing().bytesUsed()).isEqualTo(bytes));
  }

  /**
   * The end of every scenario: remove the export (swapoff), then shut the engine down; nothing
   * may be left: no handle, no arena page, no chunk, no backing slot.
   */
  void assertNothingLeaks() {
    ZswapGuardian.ExportRemoved removed = await(z.removeExport(EXPORT));
    assertThat(removed.existed()).isTrue();
    assertThat(removed.backingSlotsInUse()).as("backing slots left after removal").isZero();
    assertThat(engineStats().pool().handlesInUse()).as("handles left after removal").isZero();
    ShutdownReport report = await(z.shutdown());
    assertThat(report.clean()).as("after shutdown: %s", report).isTrue();
    assertThat(io.isClosed()).isTrue();
  }

  @Override
  public void close() {
    io.releaseAllWrites();
    io.releaseAllReads();
    engine.close();
  }
}
