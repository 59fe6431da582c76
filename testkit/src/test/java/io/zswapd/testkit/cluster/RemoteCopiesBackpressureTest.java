package io.zswapd.testkit.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.setup.ActorSystemSetup;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.BootstrapSetup;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.zswapd.actors.cluster.ClusterShards;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.config.ZswapdSettings;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.daemon.Daemon;
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
  private static ActorSystem<Void> memory;
  private static ActorSystem<Void> front;
  private static final GatedBackingIo io = GatedBackingIo.inMemory();

  private static Config node(String zswapd) {
    Config settings = ConfigFactory.parseString(zswapd);
    String akka = ClusterShards.akkaConfig(ZswapdSettings.fromConfig(settings).cluster(), "zswapd-copies");
    return ConfigFactory.parseString(akka + "akka.cluster.jmx.multi-mbeans-in-same-jvm = on\n")
        .withFallback(settings).withFallback(ConfigFactory.load());
  }

  @BeforeAll
  static void start() {
    int seed = Daemon.freePort();
    memory = ActorSystem.create(Behaviors.empty(), "zswapd-copies", node("""
        zswapd { pool.max-size = 64 MiB, exports = [],
          cluster { role = memory, bind = "127.0.0.1:%d", down-unreachable-after = 2s } }
        """.formatted(seed)));
    Zswapd.get(memory);
    ClusterShards.whenHosting(memory).toCompletableFuture().join();
    Config frontConfig = node("""
        zswapd { pool.max-size = 64 MiB,
          exports = [ { name = swap0, size = 64 MiB, placement = cluster, backing-file = "%s" } ]
          cluster { role = front, bind = "127.0.0.1:%d", seed-nodes = ["127.0.0.1:%d"], down-unreachable-after = 2s } }
        """.formatted(dir.resolve("swap0.backing"), Daemon.freePort(), seed));
    front = ActorSystem.create(Behaviors.empty(), "zswapd-copies", ActorSystemSetup.create(
        BootstrapSetup.create(frontConfig)).and(new ZswapdSetup(export -> io)));
  }

  @AfterAll
  static void stop() {
    for (ActorSystem<Void> s : new ArrayList<>(java.util.Arrays.asList(front, memory))) {
      if (s != null) {
        s.terminate();
        s.getWhenTerminated().toCompletableFuture().join();
      }
    }
  }

  @Test
  void heldBackingWritesStopTheStoresAtTheBoundAndReleasedTheyAllComplete() throws Exception {
    Zswapd zswapd = Zswapd.get(front);
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
