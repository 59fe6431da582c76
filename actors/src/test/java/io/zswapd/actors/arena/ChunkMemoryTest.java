package io.zswapd.actors.arena;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.zswapd.config.OffHeapKind;
import io.zswapd.config.SettingsException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The two kinds of chunk memory: which one a JVM gets, and that mmap chunks give free pages
 * back. The build runs this class on JDK 17 (direct) and again on JDK 25 (mmap); see
 * actors/pom.xml.
 */
class ChunkMemoryTest {
  private static final int MIB = 1 << 20;
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static boolean jdk22() {
    return Runtime.version().feature() >= 22;
  }

  /** On JDK 22+ the build compiled src/main/java22, so mmap must be there (fails in CI otherwise). */
  private static void assumeMmap() {
    assumeTrue(jdk22(), "mmap chunks need JDK 22+; this is " + Runtime.version());
    if (!OffHeap.mmapAvailable() && !"true".equals(System.getenv("CI"))) {
      assumeTrue(false, OffHeap.whyNoMmap().orElse(""));
    }
    assertThat(OffHeap.whyNoMmap()).as("mmap on JDK %s", Runtime.version()).isEmpty();
  }

  @Test
  void autoTakesMmapOnJdk22AndDirectBuffersBefore() {
    ChunkMemory auto = OffHeap.choose(OffHeapKind.AUTO, false);
    if (jdk22() && OffHeap.mmapAvailable()) {
      assertThat(auto.kind()).isEqualTo("mmap");
      assertThat(auto.limitedByDirectMemory()).isFalse();
    } else {
      assertThat(auto.kind()).isEqualTo("direct");
      assertThat(auto.limitedByDirectMemory()).isTrue();
    }
    assertThat(OffHeap.choose(OffHeapKind.DIRECT, false).kind()).isEqualTo("direct");
  }

  @Test
  void mmapOnJdk17IsAConfigErrorNamingTheKeyAndTheJdk() {
    assumeTrue(!jdk22(), "this JVM has the FFM API");
    assertThatThrownBy(() -> OffHeap.choose(OffHeapKind.MMAP, false))
        .isInstanceOf(SettingsException.class)
        .hasMessageContaining("zswapd.pool.off-heap = mmap")
        .hasMessageContaining("JDK 22")
        .hasMessageContaining("allowed here: auto, direct");
    assertThat(OffHeap.lockAll()).get().asString().contains("memory not locked", "JDK 22");
  }

  @Test
  void aDiscardedRangeReadsZerosAndItsMemoryGoesBackToTheOs() throws IOException {
    assumeMmap();
    ChunkMemory mmap = OffHeap.choose(OffHeapKind.MMAP, false);
    List<ByteBuffer> chunks = new ArrayList<>();
    long before = rssBytes();
    for (int i = 0; i < 32; i++) { // 64 MiB
      ByteBuffer c = mmap.allocate(2 * MIB);
      for (int off = 0; off < c.capacity(); off += 4096) {
        c.putLong(off, 0x5A5A5A5A5A5A5A5AL + off);
      }
      chunks.add(c);
    }
    long written = rssBytes();
    assertThat(written - before).as("64 MiB written").isGreaterThan(48L * MIB);
    for (ByteBuffer c : chunks) {
      assertThat(mmap.discard(c, 4096, c.capacity() - 4096)).isTrue(); // all but each chunk's first page
    }
    long discarded = rssBytes();
    assertThat(written - discarded).as("RSS given back by madvise").isGreaterThan(48L * MIB);
    for (ByteBuffer c : chunks) {
      assertThat(c.getLong(0)).isEqualTo(0x5A5A5A5A5A5A5A5AL); // the page kept
      assertThat(c.getLong(4096)).isZero();
      assertThat(c.getLong(c.capacity() - 8)).isZero();
      c.putLong(8192, 7); // a discarded page is memory again once written
      assertThat(c.getLong(8192)).isEqualTo(7);
      mmap.free(c);
    }
  }

  @Test
  void theArenaDiscardsFreePagesInsideAChunkAfterAWhile() {
    assumeMmap();
    ActorRef<PageArena.Command> arena =
        kit.spawn(PageArena.create(2 * MIB, 64L * MIB, 60L * MIB, OffHeap.choose(OffHeapKind.MMAP, true)));
    TestProbe<PageArena.GrantReply> g = kit.createTestProbe();
    arena.tell(new PageArena.Grant(512, 512, g.getRef()));
    PageArena.Granted granted = (PageArena.Granted) g.receiveMessage();
    Chunk chunk = granted.chunks()[0];
    assertThat(stats(arena).bytesResident()).as("granted pages count as resident").isEqualTo(2L * MIB);
    for (int id : granted.pageIds()) {
      chunk.memory().putLong(chunk.byteOffset(id), id);
    }
    int[] back = new int[384]; // three quarters back; the chunk stays
    System.arraycopy(granted.pageIds(), 128, back, 0, back.length);
    arena.tell(new PageArena.Return(back, back.length));
    assertThat(stats(arena).bytesResident()).as("resident until the discard").isEqualTo(2L * MIB);
    Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      ArenaStats s = stats(arena);
      assertThat(s.pagesDiscarded()).isEqualTo(384);
      assertThat(s.bytesResident()).isEqualTo(128L * 4096);
      assertThat(s.memoryKind()).isEqualTo("mmap");
    });
    for (int i = 0; i < 128; i++) {
      int id = granted.pageIds()[i];
      assertThat(chunk.memory().getLong(chunk.byteOffset(id))).as("page %d kept", id).isEqualTo(id);
    }
    arena.tell(new PageArena.Grant(4, 4, g.getRef()));
    PageArena.Granted again = (PageArena.Granted) g.receiveMessage();
    assertThat(again.pageIds()).containsExactly(granted.pageIds()[128], granted.pageIds()[129],
        granted.pageIds()[130], granted.pageIds()[131]);
    assertThat(chunk.memory().getLong(chunk.byteOffset(again.pageIds()[0]))).as("a discarded page reads 0").isZero();
    assertThat(stats(arena).bytesResident()).isEqualTo(132L * 4096);
  }

  private static ArenaStats stats(ActorRef<PageArena.Command> arena) {
    TestProbe<ArenaStats> p = kit.createTestProbe();
    arena.tell(new PageArena.GetStats(p.getRef()));
    return p.receiveMessage();
  }

  private static long rssBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }
}
