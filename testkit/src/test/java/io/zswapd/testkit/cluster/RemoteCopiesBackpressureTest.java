package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.testkit.GatedBackingIo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The front's write-behind copy is bounded: while the backing file does not complete its writes
 * (held by a gate), a remote shard stops sending once half a megabyte of copies of answered
 * stores waits in memory, so stores stop being answered and callers (an NBD connection, through
 * its buffer-memory) stop sending more. Released, every store
 * completes and every page reads back. Two cluster nodes in this JVM: a memory node and a front
 * whose export's backing file is a {@link GatedBackingIo}.
 */
class RemoteCopiesBackpressureTest {
  private static final int PAGES = 400;
  /** Stores the bound lets through while writes are held: its 128 pages and a batch in flight. */
  private static final int MOST_ANSWERED = 128 + 64;

  @TempDir
  static Path dir;
  private static final GatedBackingIo io = GatedBackingIo.inMemory();
  private static InJvmNodes nodes;
  private static Zswapd zswapd;

  @BeforeAll
  static void start() {
    nodes = new InJvmNodes();
    nodes.memoryNode();
    zswapd = nodes.front(dir, io);
  }

  @AfterAll
  static void stop() {
    if (nodes != null) {
      nodes.close();
    }
  }

  @Test
  void heldBackingWritesStopTheStoresAtTheBoundAndReleasedTheyAllComplete() throws Exception {
    // one page first, so that the shard is placed and the cluster is warm before the gate
    byte[] warm = new byte[4096];
    new Random(1).nextBytes(warm);
    zswapd.store("swap0", PAGES, warm).toCompletableFuture().get(60, TimeUnit.SECONDS);
    io.holdWrites(true);

    List<byte[]> pages = new ArrayList<>();
    List<CompletableFuture<Void>> stores = new ArrayList<>();
    Random random = new Random(2);
    for (int i = 0; i < PAGES; i++) {
      byte[] page = new byte[4096];
      random.nextBytes(page); // incompressible: 4 KiB of copy each
      pages.add(page);
      stores.add(zswapd.store("swap0", i, page).toCompletableFuture());
    }
    // the stores answered before the bound stopped the shard, and no more while writes are held
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> io.heldWrites() >= 128);
    Awaitility.await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10)).until(() ->
        stores.stream().filter(CompletableFuture::isDone).count() <= MOST_ANSWERED);
    assertThat(stores.stream().filter(CompletableFuture::isDone).count()).as("stores answered while writes wait")
        .isLessThanOrEqualTo(MOST_ANSWERED);

    io.holdWrites(false);
    io.releaseAllWrites();
    CompletableFuture.allOf(stores.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    for (int i = 0; i < PAGES; i++) {
      assertThat(zswapd.load("swap0", i).toCompletableFuture().get(60, TimeUnit.SECONDS)).as("page %d", i)
          .isEqualTo(pages.get(i));
    }
    assertThat(io.writeCalls()).as("a copy of every page").isGreaterThanOrEqualTo(PAGES + 1);
  }
}
