package io.zswapd.actors.pool;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.zswapd.actors.arena.ArenaStats;
import io.zswapd.actors.arena.OffHeap;
import io.zswapd.actors.arena.PageArena;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.codec.PageCodecs;
import io.zswapd.config.OffHeapKind;
import io.zswapd.protocol.engine.CompactionResult;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.SizeClassStats;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A size class with objects that straddle pages: bytes survive allocation, compaction and drain. */
class SizeClassTest {
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  /** A class of {@code ppz} pages whose size does not divide the page: objects straddle. */
  static ClassGeometry straddlingClass(int ppz) {
    return PoolGeometry.of(4).classes().stream()
        .filter(c -> c.pagesPerZspage() == ppz && 4096 % c.size() != 0 && c.size() > 1000)
        .findFirst().orElseThrow();
  }

  /**
   * Three hundred zspages: more than a block (256) of zspage states, and with three pages a
   * zspage, some zspages' page ids split between two blocks.
   */
  @ParameterizedTest(name = "{0} pages per zspage")
  @ValueSource(ints = {3, 4})
  void straddlingObjectsRoundTripByteForByteThroughCompaction(int ppz) {
    long seed = 77;
    ClassGeometry g = straddlingClass(ppz);
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(2 << 20, 64 << 20, 60 << 20, OffHeap.choose(OffHeapKind.AUTO, true)));
    ActorRef<SizeClass.Command> cls = kit.spawn(SizeClass.create(g, arena, 2 << 20));
    TestProbe<AllocReply> allocs = kit.createTestProbe();
    SplittableRandom rnd = new SplittableRandom(seed);
    int n = g.objsPerZspage() * 300;
    List<byte[]> data = new ArrayList<>();
    List<Long> handles = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] bytes = new byte[g.size() - rnd.nextInt(16)];
      rnd.nextBytes(bytes);
      data.add(bytes);
      cls.tell(new SizeClass.Alloc(bytes, i, i, allocs.getRef()));
    }
    for (int i = 0; i < n; i++) {
      AllocReply.Allocated a = (AllocReply.Allocated) allocs.receiveMessage();
      assertThat(a.tag()).isEqualTo(i);
      handles.add(a.handle());
    }
    assertReadBack(cls, data, handles, seed);
    TestProbe<SizeClassStats> stats = kit.createTestProbe();
    cls.tell(new SizeClass.GetStats(stats.getRef()));
    assertThat(stats.receiveMessage().zspagesListed()).as("zspages of a fresh arena sit on runs of pages").isZero();

    // Free two objects of every three; compaction must move the rest without changing a byte.
    List<byte[]> keptData = new ArrayList<>();
    List<Long> keptHandles = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (i % 3 == 0) {
        keptData.add(data.get(i));
        keptHandles.add(handles.get(i));
      } else {
        cls.tell(SizeClass.Work.free(Handle.slot(handles.get(i))));
      }
    }
    TestProbe<CompactionResult> compacted = kit.createTestProbe();
    cls.tell(new SizeClass.Compact(compacted.getRef()));
    CompactionResult r = compacted.receiveMessage();
    assertThat(r.objectsMoved()).isPositive();
    assertThat(r.pagesFreed()).isPositive();
    assertReadBack(cls, keptData, keptHandles, seed);

    cls.tell(new SizeClass.GetStats(stats.getRef()));
    SizeClassStats s = stats.receiveMessage();
    assertThat(s.objsUsed()).isEqualTo(keptData.size());
    // Packed: at most one zspage is partly used.
    assertThat(s.zspages()).isEqualTo((keptData.size() + g.objsPerZspage() - 1) / g.objsPerZspage());
    assertThat(s.pagesCompacted()).isPositive();

    for (long h : keptHandles) {
      cls.tell(SizeClass.Work.free(Handle.slot(h)));
    }
    TestProbe<SizeClass.Drained> drained = kit.createTestProbe();
    cls.tell(new SizeClass.Drain(drained.getRef()));
    assertThat(drained.receiveMessage().handlesInUse()).isZero();
    TestProbe<ArenaStats> arenaStats = kit.createTestProbe();
    arena.tell(new PageArena.GetStats(arenaStats.getRef()));
    ArenaStats a = arenaStats.receiveMessage();
    assertThat(a.pagesInUse()).isZero();
    assertThat(a.chunksHeld()).isZero();
    assertThat(a.chunksReleased()).isEqualTo(a.chunksAllocated());
  }

  private static void assertReadBack(ActorRef<SizeClass.Command> cls, List<byte[]> data, List<Long> handles,
      long seed) {
    TestProbe<SizeClass.StoredBytes> reads = kit.createTestProbe();
    for (int i = 0; i < data.size(); i++) {
      cls.tell(new SizeClass.ReadStored(Handle.slot(handles.get(i)), data.get(i).length, i, 0, reads.getRef()));
      assertThat(reads.receiveMessage().bytes()).as("object %d, seed %d", i, seed).isEqualTo(data.get(i));
    }
  }

  /**
   * A load decompresses in the class, or (detached, for requesters outside the engine) on a
   * dispatcher task from bytes the class copied out: the same page either way, a huge object
   * comes back as stored, and bytes that are not a compressed page fail as CORRUPT, naming it.
   */
  @Test
  void aReadGivesThePageOrCorruptInlineAndDetached() {
    byte[] page = new byte[4096];
    for (int i = 0; i < page.length; i++) {
      page[i] = (byte) (i % 251 < 200 ? 'a' + i % 7 : i * 31);
    }
    byte[] out = new byte[4096];
    int n = PageCodecs.forCurrentThread(CodecKind.LZ4, OptionalInt.empty()).compress(page, 0, 4096, out, 3072);
    assertThat(n).isPositive();
    byte[] compressed = java.util.Arrays.copyOf(out, n);
    byte[] huge = new byte[4096];
    new SplittableRandom(3).nextBytes(huge);
    byte[] garbage = new byte[compressed.length];
    java.util.Arrays.fill(garbage, (byte) 0xF0); // a literal run longer than the input
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(2 << 20, 64 << 20, 60 << 20, OffHeap.choose(OffHeapKind.AUTO, true)));
    PoolGeometry geometry = PoolGeometry.of(4);
    TestProbe<AllocReply> allocs = kit.createTestProbe();
    TestProbe<LoadReply> loads = kit.createTestProbe();
    byte[][] objects = {compressed, huge, garbage};
    for (int k = 0; k < objects.length; k++) {
      ActorRef<SizeClass.Command> cls = kit.spawn(SizeClass.create(geometry.classFor(objects[k].length), arena,
          2 << 20));
      cls.tell(new SizeClass.Alloc(objects[k], k, 0, allocs.getRef()));
      int slot = Handle.slot(((AllocReply.Allocated) allocs.receiveMessage()).handle());
      for (boolean detached : new boolean[] {false, true}) {
        if (detached) { // a load in a shard's work: copied out here, decompressed by a task
          ClassWork work = new ClassWork(null, null);
          work.read(slot, objects[k].length, CodecKind.LZ4, 40 + k, loads.getRef());
          cls.tell(new SizeClass.Work(work));
        } else {
          cls.tell(new SizeClass.Read(slot, objects[k].length, CodecKind.LZ4, 40 + k, loads.getRef()));
        }
        LoadReply r = loads.receiveMessage();
        assertThat(r.pageIndex()).isEqualTo(40 + k);
        if (k == 2) {
          assertThat(r).as("detached %s", detached).isInstanceOf(LoadReply.LoadFailed.class);
          assertThat(((LoadReply.LoadFailed) r).error().code()).isEqualTo(ErrorCode.CORRUPT);
          assertThat(((LoadReply.LoadFailed) r).error().message()).startsWith("page 42: ");
        } else {
          assertThat(((LoadReply.Loaded) r).page()).as("object %d, detached %s", k, detached)
              .isEqualTo(k == 0 ? page : huge);
        }
      }
    }
  }

  @Test
  void aRefusedGrantRefusesTheWaitingAllocations() {
    ClassGeometry g = PoolGeometry.of(4).classFor(4096);
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(64 << 10, 64 << 10, 32 << 10, OffHeap.choose(OffHeapKind.AUTO, true)));
    ActorRef<SizeClass.Command> cls = kit.spawn(SizeClass.create(g, arena, 64 << 10));
    TestProbe<AllocReply> allocs = kit.createTestProbe();
    byte[] raw = new byte[4096];
    int ok = 0;
    AllocReply last = null;
    for (int i = 0; i < 20; i++) {
      cls.tell(new SizeClass.Alloc(raw, i, i, allocs.getRef()));
      last = allocs.receiveMessage();
      if (last instanceof AllocReply.Allocated) {
        ok++;
      }
    }
    assertThat(ok).isEqualTo(16); // 64 KiB limit = 16 pages
    assertThat(last).isInstanceOf(AllocReply.AllocRefused.class);
    assertThat(((AllocReply.AllocRefused) last).error().message()).contains("65536");
  }

  private static long[] allocAll(ActorRef<SizeClass.Command> cls, List<byte[]> data) {
    TestProbe<AllocReply> allocs = kit.createTestProbe();
    for (int i = 0; i < data.size(); i++) {
      cls.tell(new SizeClass.Alloc(data.get(i), i, i, allocs.getRef()));
    }
    long[] handles = new long[data.size()];
    for (int i = 0; i < data.size(); i++) {
      AllocReply.Allocated a = (AllocReply.Allocated) allocs.receiveMessage();
      handles[a.tag()] = a.handle();
    }
    return handles;
  }

  private static List<byte[]> randomObjects(SplittableRandom rnd, int n, int size) {
    List<byte[]> data = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] bytes = new byte[size - rnd.nextInt(16)];
      rnd.nextBytes(bytes);
      data.add(bytes);
    }
    return data;
  }

  private static SizeClassStats statsOf(ActorRef<SizeClass.Command> cls) {
    TestProbe<SizeClassStats> stats = kit.createTestProbe();
    cls.tell(new SizeClass.GetStats(stats.getRef()));
    return stats.receiveMessage();
  }

  @Test
  void freedObjectsAreReusedFromTheFreeListKeptInTheirOwnBytes() {
    long seed = 78;
    ClassGeometry g = straddlingClass(4);
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(2 << 20, 64 << 20, 60 << 20, OffHeap.choose(OffHeapKind.AUTO, true)));
    ActorRef<SizeClass.Command> cls = kit.spawn(SizeClass.create(g, arena, 2 << 20));
    SplittableRandom rnd = new SplittableRandom(seed);
    int n = g.objsPerZspage() * 3;
    List<byte[]> data = randomObjects(rnd, n, g.size());
    long[] handles = allocAll(cls, data);
    assertThat(statsOf(cls).zspages()).isEqualTo(3);

    // Free every other object: the free list now runs through the freed objects' bytes.
    List<byte[]> keptData = new ArrayList<>();
    List<Long> keptHandles = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (i % 2 == 0) {
        cls.tell(SizeClass.Work.free(Handle.slot(handles[i])));
      } else {
        keptData.add(data.get(i));
        keptHandles.add(handles[i]);
      }
    }
    List<byte[]> more = randomObjects(rnd, n - keptData.size(), g.size());
    long[] moreHandles = allocAll(cls, more);
    SizeClassStats s = statsOf(cls);
    assertThat(s.zspages()).as("freed objects reused, no new zspage; seed %d", seed).isEqualTo(3);
    assertThat(s.objsUsed()).isEqualTo(n);
    assertThat(s.zspagesByFullness().get(ZsPages.FULL)).isEqualTo(3);
    for (int i = 0; i < more.size(); i++) {
      keptData.add(more.get(i));
      keptHandles.add(moreHandles[i]);
    }
    assertReadBack(cls, keptData, keptHandles, seed);
  }

  @Test
  void aClassUsesTheNewChunkWhenTheArenaReusesAReleasedChunksId() {
    long seed = 79;
    ClassGeometry g = straddlingClass(4);
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(64 << 10, 64 << 20, 60 << 20, OffHeap.choose(OffHeapKind.AUTO, true))); // 16 pages a chunk
    ActorRef<SizeClass.Command> cls = kit.spawn(SizeClass.create(g, arena, 64 << 10));
    SplittableRandom rnd = new SplittableRandom(seed);
    List<byte[]> first = randomObjects(rnd, g.objsPerZspage() * 2, g.size());
    for (long h : allocAll(cls, first)) {
      cls.tell(SizeClass.Work.free(Handle.slot(h)));
    }
    TestProbe<CompactionResult> compacted = kit.createTestProbe();
    cls.tell(new SizeClass.Compact(compacted.getRef())); // gives the reserve back: chunk 0 is released
    compacted.receiveMessage();
    TestProbe<ArenaStats> arenaStats = kit.createTestProbe();
    arena.tell(new PageArena.GetStats(arenaStats.getRef()));
    assertThat(arenaStats.receiveMessage().chunksReleased()).isEqualTo(1);

    List<byte[]> second = randomObjects(rnd, g.objsPerZspage() * 2, g.size());
    long[] handles = allocAll(cls, second); // pages of a new chunk under the reused id 0
    List<Long> list = new ArrayList<>();
    for (long h : handles) {
      list.add(h);
    }
    assertReadBack(cls, second, list, seed);
  }

  @Test
  void freeingAHandleTwiceStopsTheClassInsteadOfCorruptingIt() {
    ClassGeometry g = straddlingClass(4);
    ActorRef<PageArena.Command> arena = kit.spawn(PageArena.create(2 << 20, 64 << 20, 60 << 20, OffHeap.choose(OffHeapKind.AUTO, true)));
    ActorRef<SizeClass.Command> cls = kit.spawn(SizeClass.create(g, arena, 2 << 20));
    long[] handles = allocAll(cls, randomObjects(new SplittableRandom(80), 2, g.size()));
    TestProbe<Object> watcher = kit.createTestProbe();
    cls.tell(SizeClass.Work.free(Handle.slot(handles[0])));
    assertThat(statsOf(cls).objsUsed()).isEqualTo(1);
    cls.tell(SizeClass.Work.free(Handle.slot(handles[0])));
    watcher.expectTerminated(cls);
  }
}
