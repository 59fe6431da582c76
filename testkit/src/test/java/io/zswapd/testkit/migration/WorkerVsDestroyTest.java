package io.zswapd.testkit.migration;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import io.zswapd.actors.arena.OffHeap;
import io.zswapd.actors.migration.MigrationWorker;
import io.zswapd.actors.pool.AllocReply;
import io.zswapd.actors.pool.ClassGeometry;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.Pool;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.config.MigrationSettings;
import io.zswapd.config.OffHeapKind;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.MigrationResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * DestroyVsMigration with the real {@link MigrationWorker} and the real pool: between the
 * worker and each size class sits a gate that passes every message at once except
 * {@code Migrate}, which it holds until the test opens it. So the destroy (shutdown, or an
 * export's pages freed) happens exactly while a migration is queued for its pages, and the
 * test sees that the worker waits for it before it answers.
 */
class WorkerVsDestroyTest {
  private static final int CHUNK_BYTES = 64 * 1024;
  private static final Duration QUIET = Duration.ofMillis(300);
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private record Open() {}

  /** Forwards to {@code target}, holding Migrates (reported to {@code held}) until {@link Open}. */
  private static Behavior<Object> gate(ActorRef<SizeClass.Command> target, ActorRef<SizeClass.Migrate> held) {
    List<SizeClass.Migrate> queue = new ArrayList<>();
    return Behaviors.receiveMessage(m -> {
      if (m instanceof SizeClass.Migrate migrate) {
        queue.add(migrate);
        held.tell(migrate);
      } else if (m instanceof Open) {
        queue.forEach(target::tell);
        queue.clear();
      } else {
        target.tell((SizeClass.Command) m);
      }
      return Behaviors.same();
    });
  }

  /** Answers the worker's stats requests from the pool's own figures (no exports here). */
  private static Behavior<Object> statsFrom(ActorRef<Pool.Command> pool) {
    List<ActorRef<EngineStats>> waiting = new ArrayList<>();
    return Behaviors.setup(ctx -> Behaviors.receiveMessage(m -> {
      if (m instanceof Pool.PoolReport r) {
        waiting.remove(0).tell(new EngineStats(r.pool(), List.of(), r.classes()));
      } else {
        @SuppressWarnings("unchecked")
        ActorRef<EngineStats> replyTo = (ActorRef<EngineStats>) m;
        waiting.add(replyTo);
        pool.tell(new Pool.GetStats(ctx.getSelf().narrow()));
      }
      return Behaviors.same();
    }));
  }

  private static final class Scene {
    final ActorRef<Pool.Command> pool;
    final ActorRef<SizeClass.Command> cls;
    final ActorRef<Object> gate;
    final TestProbe<SizeClass.Migrate> held = kit.createTestProbe();
    final ActorRef<MigrationWorker.Command> worker;
    final List<Integer> slots = new ArrayList<>();
    final List<Boolean> freed = new ArrayList<>();
    final int objs;

    /** Chunk 0 holds only zspage 1 (as in {@link PoolUnderTest}); the worker is told to migrate. */
    Scene() {
      TestProbe<Pool.Ready> ready = kit.createTestProbe();
      PoolGeometry geometry = PoolGeometry.of(4);
      pool = kit.spawn(Pool.create(geometry, CHUNK_BYTES, 64 << 20, 60 << 20,
          OffHeap.choose(OffHeapKind.AUTO, true), ready.getRef(), SpawnHook.NONE));
      Pool.Ready r = ready.receiveMessage();
      ClassGeometry g = geometry.classes().stream()
          .filter(c -> c.pagesPerZspage() == 4 && 4096 % c.size() != 0 && c.size() > 1000 && c.objsPerZspage() > 4)
          .findFirst().orElseThrow();
      objs = g.objsPerZspage();
      cls = r.classes().get(g.index() * Pool.lanes(geometry)); // the class's first lane
      List<ActorRef<SizeClass.Command>> gates = new ArrayList<>();
      ActorRef<Object> mine = null;
      for (ActorRef<SizeClass.Command> c : r.classes()) {
        ActorRef<Object> gt = kit.spawn(gate(c, held.getRef()));
        gates.add(gt.narrow());
        if (c.equals(cls)) {
          mine = gt;
        }
      }
      gate = mine;
      ActorRef<Object> stats = kit.spawn(statsFrom(pool));
      MigrationSettings settings = new MigrationSettings(Optional.empty(), 1.2, 0.5, 1 << 20, true);
      worker = kit.spawn(MigrationWorker.create(settings, stats::tell, pool, r.arena(), gates));

      TestProbe<AllocReply> allocs = kit.createTestProbe();
      SplittableRandom rnd = new SplittableRandom(5);
      for (int i = 0; i < 9 * objs; i++) {
        byte[] bytes = new byte[g.size()];
        rnd.nextBytes(bytes);
        cls.tell(new SizeClass.Alloc(bytes, i, i, allocs.getRef()));
      }
      for (int i = 0; i < 9 * objs; i++) {
        slots.add(Handle.slot(allocs.expectMessageClass(AllocReply.Allocated.class).handle()));
        freed.add(false);
      }
      for (int z : new int[] {0, 2, 3}) {
        free(z * objs, (z + 1) * objs);
      }
    }

    /** Frees the objects in [from, to) not freed yet, as their tree shard would. */
    void free(int from, int to) {
      for (int i = from; i < to; i++) {
        if (!freed.get(i)) {
          freed.set(i, true);
          cls.tell(SizeClass.Work.free(slots.get(i)));
        }
      }
    }

    /** The worker compacts (nothing to do here), plans chunk 0, isolates zspage 1: its Migrate is held. */
    TestProbe<MigrationResult> migrationQueued() {
      TestProbe<MigrationResult> result = kit.createTestProbe();
      worker.tell(new MigrationWorker.MigrateNow(result.getRef()));
      SizeClass.Migrate m = held.receiveMessage();
      assertThat(m.oldPages()).hasSize(4);
      held.expectNoMessage(QUIET);
      return result;
    }

    Pool.DrainReport drain() {
      TestProbe<Pool.DrainReport> probe = kit.createTestProbe();
      pool.tell(new Pool.Drain(probe.getRef()));
      return probe.receiveMessage();
    }
  }

  @Test
  void shutdownWithAMigrationQueuedWaitsForItsRefusalThenDrainsWithNothingLeft() {
    Scene s = new Scene();
    TestProbe<MigrationResult> result = s.migrationQueued();
    s.free(0, s.slots.size()); // shutdown: every export invalidated
    TestProbe<MigrationWorker.Stopped> stopped = kit.createTestProbe();
    s.worker.tell(new MigrationWorker.Stop(stopped.getRef())); // StopMigrations passes the gate at once
    stopped.expectNoMessage(QUIET); // the destroy waits: a Migrate can still name zspage 1's pages

    s.gate.tell(new Open());
    MigrationWorker.Stopped st = stopped.receiveMessage();
    assertThat(st.migrationsRefused()).isEqualTo(1);
    assertThat(st.pagesMigrated()).isZero();
    assertThat(result.receiveMessage().pagesMigrated()).isZero();

    Pool.DrainReport d = s.drain();
    assertThat(d.handlesInUse()).isZero();
    assertThat(d.arena().pagesInUse()).isZero();
    assertThat(d.arena().chunksHeld()).isZero();
    assertThat(d.arena().chunksReleased()).isEqualTo(d.arena().chunksAllocated());
  }

  @Test
  void exportFreedWithAMigrationQueuedIsAnsweredOnlyWhenTheMigrationHandedTheZspageBack() {
    Scene s = new Scene();
    TestProbe<MigrationResult> result = s.migrationQueued();
    s.free(s.objs, 2 * s.objs); // the removed export owned every object of the isolated zspage
    TestProbe<MigrationWorker.Idle> idle = kit.createTestProbe();
    s.worker.tell(new MigrationWorker.AwaitIdle(idle.getRef()));
    idle.expectNoMessage(QUIET);

    s.gate.tell(new Open());
    idle.receiveMessage();
    MigrationResult r = result.receiveMessage();
    assertThat(r.pagesMigrated()).as("emptied while queued: released, nothing copied").isZero();
    assertThat(r.chunksReleased()).as("chunk 0").isEqualTo(1);

    s.free(4 * s.objs, 9 * s.objs);
    Pool.DrainReport d = s.drain();
    assertThat(d.handlesInUse()).isZero();
    assertThat(d.arena().pagesInUse()).isZero();
    assertThat(d.arena().chunksHeld()).isZero();
  }
}
