package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.zswapd.actors.ZswapGuardian;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ExportStats;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Zswapd.set} and {@code resetMax}: a live pool limit below the memory in use engages the
 * same machinery as a pool that fills up (refusal without a backing file, writeback with one,
 * pool_limit_hit either way); a bad value changes nothing.
 */
class LiveSettingsTest {
  private static final PageGenerator GEN = new PageGenerator(61);

  private static void storeC50(Zswapd z, int from, int count) {
    for (int i = from; i < from + count; i++) {
      await(z.store("swap0", i, GEN.page(i, PageGenerator.Kind.C50)));
    }
  }

  @Test
  void limitBelowUsageRefusesStoresWithoutABackingFileUntilRaisedAgain() {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 8 MiB")) {
      Zswapd z = engine.zswapd();
      storeC50(z, 0, 800); // about 1 MiB of pool pages
      EngineStats before = await(z.stats());
      assertThat(before.pool().memUsedTotal()).isGreaterThan(512 << 10);
      assertThat(before.pool().poolLimitHit()).isZero();

      ZswapGuardian.SettingChanged changed = await(z.set("pool.max-size", "256 KiB"));
      assertThat(changed.poolLimitBytes()).isEqualTo(256 << 10);
      assertThat(changed.acceptBelowBytes()).isEqualTo((long) (256 * 1024 * 0.9) / 4096 * 4096);
      assertThat(await(z.stats()).pool().memLimit()).isEqualTo(256 << 10);

      ZswapdException refused = null;
      for (int i = 0; i < 200 && refused == null; i++) {
        try {
          await(z.store("swap0", 10_000 + i, GEN.page(10_000 + i, PageGenerator.Kind.RANDOM)));
        } catch (ZswapdException e) {
          refused = e;
        }
      }
      assertThat(refused).as("a store past the lowered limit is refused").isNotNull();
      assertThat(refused.code()).isEqualTo(ErrorCode.POOL_FULL);
      EngineStats after = await(z.stats());
      assertThat(after.pool().poolLimitHit()).isPositive();
      assertThat(after.export("swap0").orElseThrow().rejectAllocFail()).isPositive();
      assertThat(await(z.load("swap0", 5))).as("held pages stay").isEqualTo(GEN.page(5, PageGenerator.Kind.C50));

      await(z.set("zswapd.pool.max-size", "8 MiB"));
      await(z.store("swap0", 20_000, GEN.page(20_000, PageGenerator.Kind.RANDOM)));
      assertThat(await(z.load("swap0", 20_000))).isEqualTo(GEN.page(20_000, PageGenerator.Kind.RANDOM));
    }
  }

  /**
   * A limit change is answered once the arena has it in force. The pool forwards the limit to
   * the arena, so an answer sent when the change was only on its way let a store sent after it
   * be refused by the old limit (CI on 2026-12-07: the store right after raising the limit again
   * in the test above was refused, "1900544 of 262144 bytes"). Replayed with a gate holding the
   * new limit at the arena: the change must not be answered while it is held, and once it is
   * answered a store that only the new limit allows goes through.
   */
  @Test
  void aLimitChangeIsAnsweredOnceTheArenaHasIt() {
    GatedActors actors = new GatedActors();
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 8 MiB",
        io.zswapd.actors.embedded.ZswapdSetup.of(actors))) {
      Zswapd z = engine.zswapd();
      storeC50(z, 0, 800); // about 1 MiB of pool pages
      await(z.set("pool.max-size", "256 KiB"));
      MessageGate limit = actors.hold("the arena's new limit",
          GatedActors.actor(io.zswapd.actors.support.EngineActor.of(io.zswapd.actors.support.EngineActor.Role.ARENA)),
          io.zswapd.actors.arena.PageArena.SetLimit.class);
      java.util.concurrent.CompletableFuture<ZswapGuardian.SettingChanged> raised =
          z.set("pool.max-size", "8 MiB").toCompletableFuture();
      limit.awaitArrival(0);
      assertThat(raised).as("the change answered while the arena still has the old limit").isNotDone();

      limit.open();
      limit.releaseAll();
      assertThat(await(raised).poolLimitBytes()).isEqualTo(8 << 20);
      await(z.store("swap0", 20_000, GEN.page(20_000, PageGenerator.Kind.RANDOM))); // past 256 KiB: the new limit
      assertThat(await(z.load("swap0", 20_000))).isEqualTo(GEN.page(20_000, PageGenerator.Kind.RANDOM));
    }
  }

  @Test
  void limitBelowUsageWritesBackWithABackingFile(@TempDir Path dir) {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 8 MiB\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 1 GiB, backing-file = \"" + dir.resolve("swap0.img") + "\" } ]")) {
      Zswapd z = engine.zswapd();
      storeC50(z, 0, 1_000);
      assertThat(await(z.stats()).export("swap0").orElseThrow().backing().writtenBackPages()).isZero();

      await(z.set("pool.max-size", "1 MiB"));
      // ~600 KiB more: past what the size classes keep in reserve, so the pool must grow and finds no room
      storeC50(z, 1_000, 300);
      EngineStats s = await(z.stats());
      ExportStats swap0 = s.export("swap0").orElseThrow();
      assertThat(s.pool().poolLimitHit()).isPositive();
      assertThat(swap0.rejectAllocFail()).as("writeback made room, nothing refused").isZero();
      assertThat(swap0.backing().writtenBackPages()).isPositive();
      assertThat(s.pool().memUsedTotal()).isLessThanOrEqualTo(1 << 20);
      for (int i = 0; i < 1_300; i += 7) {
        assertThat(await(z.load("swap0", i))).as("page %d", i).isEqualTo(GEN.page(i, PageGenerator.Kind.C50));
      }
    }
  }

  @Test
  void idleAfterSetWhileRunningStartsIdleWriteback(@TempDir Path dir) {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 8 MiB\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 1 GiB, backing-file = \"" + dir.resolve("swap0.img") + "\" } ]")) {
      Zswapd z = engine.zswapd();
      storeC50(z, 0, 100);
      assertThat(await(z.set("pool.writeback.idle-after", "1s")).pool().writeback().idleAfter())
          .contains(Duration.ofSeconds(1));
      // the first tick marks every page idle; the next writes the untouched ones back
      Awaitility.await().atMost(Duration.ofSeconds(20)).until(
          () -> await(z.stats()).export("swap0").orElseThrow().backing().writtenBackPages() == 100);
      await(z.set("pool.writeback.idle-after", "off"));
      assertThat(await(z.load("swap0", 42))).isEqualTo(GEN.page(42, PageGenerator.Kind.C50));
    }
  }

  @Test
  void badKeyOrValueIsRefusedWithItsMessageAndChangesNothing() {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 8 MiB")) {
      Zswapd z = engine.zswapd();
      ZswapdException bad = catchThrowableOfType(ZswapdException.class, () -> await(z.set("pool.max-size", "lots")));
      assertThat(bad.code()).isEqualTo(ErrorCode.INVALID);
      assertThat(bad.getMessage()).startsWith("zswapd.pool.max-size = \"lots\": not a byte size;");
      ZswapdException notLive = catchThrowableOfType(ZswapdException.class,
          () -> await(z.set("pool.compressor", "zstd")));
      assertThat(notLive.getMessage()).startsWith("zswapd.pool.compressor cannot change while running");
      assertThat(await(z.stats()).pool().memLimit()).isEqualTo(8 << 20);
    }
  }

  @Test
  void resetMaxStartsMemUsedMaxFromTheCurrentUsage() {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 8 MiB")) {
      Zswapd z = engine.zswapd();
      storeC50(z, 0, 800);
      await(z.invalidateRange("swap0", 0, 800));
      await(z.compact());
      EngineStats before = await(z.stats());
      assertThat(before.pool().memUsedMax()).isGreaterThan(before.pool().memUsedTotal());
      await(z.resetMax());
      EngineStats after = await(z.stats());
      assertThat(after.pool().memUsedMax()).isEqualTo(after.pool().memUsedTotal());
    }
  }
}
