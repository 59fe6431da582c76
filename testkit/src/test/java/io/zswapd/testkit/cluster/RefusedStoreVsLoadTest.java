package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.MessageGate;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A clustered export with a backing file whose memory node's pool is full: a store the pool
 * refuses is kept in the front's backing file only, as zswap sends a page its pool rejects to
 * the swap device, and is acknowledged once its copy is in the file, never before.
 *
 * <p>The race: a load of a page admitted while a store of it is out, which the node's full pool
 * then refuses. The node still holds the page's older image, and would answer the load with it,
 * behind the refused store. Replayed with a gate on the memory nodes' hosted tree shard (the
 * store is held there while the load is made), two memory nodes of 1 MiB in one JVM: the load
 * must read the bytes of the store it came after, and the older image on the node is freed.
 */
class RefusedStoreVsLoadTest {
  @TempDir
  static Path dir;
  private static final GatedActors actors = new GatedActors();
  private static final GatedActors frontActors = new GatedActors();
  private static final GatedBackingIo io = GatedBackingIo.inMemory();
  private static InJvmNodes nodes;
  private static Zswapd zswapd;
  private static ActorSystem<Void> holder;
  private static MessageGate hosted;
  /** What the memory node answers swap0's shard, as it reaches the front's proxy of the shard. */
  private static MessageGate answers;

  @BeforeAll
  static void start() throws Exception {
    nodes = new InJvmNodes();
    nodes.memoryNode(actors, "1 MiB");
    nodes.memoryNode(actors, "1 MiB");
    zswapd = nodes.front(dir, io, frontActors);
    hosted = actors.watch("the hosted tree shard's Pages", GatedActors.actor(EngineActor.treeShard("swap0", 0)),
        TreeShard.Pages.class);
    answers = frontActors.watch("the node's answers to the front's shard",
        GatedActors.actor(EngineActor.treeShard("swap0", 0)), GatedActors.named("Answered"));
    store(7, InJvmNodes.page(7));
    holder = nodes.holder();
    // incompressible pages, 1.25 MiB of them: the node's pool fills, and the rest go to the file
    for (int p = 100; p < 420; p++) {
      store(p, InJvmNodes.page(p));
    }
    assertThat(InJvmNodes.objects(holder)).as("pages on the node: its 1 MiB pool is full").isLessThan(300);
  }

  @AfterAll
  static void stop() {
    if (nodes != null) {
      nodes.close();
    }
  }

  @BeforeEach
  void openGates() {
    hosted.open();
    io.holdWrites(false);
    io.releaseAllWrites();
  }

  private static void store(long page, byte[] bytes) throws Exception {
    zswapd.store("swap0", page, bytes).toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private static byte[] load(long page) throws Exception {
    return zswapd.load("swap0", page).toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @Test
  void everyPageWrittenPastTheFullPoolReadsBack() throws Exception {
    for (int p = 100; p < 420; p++) {
      byte[] loaded = load(p);
      assertThat(Arrays.equals(loaded, InJvmNodes.page(p))).as("page %d (%s)", p,
          Arrays.equals(loaded, new byte[4096]) ? "zeros" : "other bytes").isTrue();
    }
  }

  @Test
  void aLoadBehindAStoreTheFullPoolRefusesReadsTheStoredBytes() throws Exception {
    byte[] old = InJvmNodes.page(7);
    byte[] fresh = InJvmNodes.page(70);
    long objects = InJvmNodes.objects(holder);

    hosted.close();
    int before = hosted.arrived();
    CompletableFuture<Void> overwrite = zswapd.store("swap0", 7, fresh).toCompletableFuture();
    hosted.awaitArrival(before); // the store is held at the node's tree shard, not yet refused
    CompletableFuture<byte[]> loaded = zswapd.load("swap0", 7).toCompletableFuture();
    hosted.open();

    assertThat(overwrite).as("the store the full pool refused, kept in the file").succeedsWithin(Duration.ofSeconds(60));
    byte[] read = loaded.get(60, TimeUnit.SECONDS);
    assertThat(Arrays.equals(read, fresh)).as("page 7 loaded behind its store (%s)",
        Arrays.equals(read, old) ? "the older image the node kept: the load was served by the node" : "other bytes")
        .isTrue();
    assertThat(load(7)).as("page 7 again, from the file").isEqualTo(fresh);
    Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(InJvmNodes.objects(holder))
        .as("page 7's older image on the node, freed").isEqualTo(objects - 1));
  }

  @Test
  void aStoreTheFullPoolRefusesIsAnsweredOnlyOnceItsCopyIsInTheFile() throws Exception {
    byte[] bytes = InJvmNodes.page(1000);
    io.holdWrites(true);
    int writes = io.writeCalls();
    int answered = answers.arrived();
    CompletableFuture<Void> held = zswapd.store("swap0", 1000, bytes).toCompletableFuture();
    io.writeCall(writes).get(60, TimeUnit.SECONDS); // its copy's write, held
    answers.awaitArrival(answered + 1); // the batch accepted, then the store refused
    assertThat(load(1000)).as("page 1000 from its copy, after the refusal reached the shard").isEqualTo(bytes);
    assertThat(held).as("the refused store while its copy's write is held").isNotDone();
    io.releaseWrite(writes);
    assertThat(held).as("the store, once its copy is in the file").succeedsWithin(Duration.ofSeconds(60));
    assertThat(load(1000)).isEqualTo(bytes);

    answered = answers.arrived();
    CompletableFuture<Void> failed = zswapd.store("swap0", 1001, InJvmNodes.page(1001)).toCompletableFuture();
    io.writeCall(writes + 1).get(60, TimeUnit.SECONDS);
    answers.awaitArrival(answered + 1);
    assertThat(failed).as("the refused store while its copy's write is held").isNotDone();
    io.failWrite(writes + 1);
    assertThat(failed).as("a store neither the pool nor the file took").failsWithin(Duration.ofSeconds(60))
        .withThrowableOfType(ExecutionException.class).havingCause().isInstanceOfSatisfying(ZswapdException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.POOL_FULL));
  }
}
