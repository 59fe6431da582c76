package io.zswapd.testkit.cluster;

import akka.actor.BootstrapSetup;
import akka.actor.setup.ActorSystemSetup;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.zswapd.actors.cluster.ClusterShards;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.config.ZswapdSettings;
import io.zswapd.protocol.engine.RemoteShardFigures;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.daemon.Daemon;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Cluster nodes as actor systems in the test's JVM (loopback, each on a port of its own), for
 * race tests that hold a front's backing-file I/O behind a {@link GatedBackingIo}: memory nodes
 * that join the first, and a front serving {@code swap0} (one 64 MiB shard) placed on them.
 */
final class InJvmNodes implements AutoCloseable {
  private static final String NAME = "zswapd-nodes";
  private final int seed = Daemon.freePort();
  private final List<ActorSystem<Void>> systems = new ArrayList<>();
  private final List<ActorSystem<Void>> memoryNodes = new ArrayList<>();
  private ActorSystem<Void> frontSystem;
  private Zswapd front;

  /**
   * The race tests' usual cluster, started: two memory nodes whose engine actors (the tree
   * shards they host among them) are wrapped by {@code hook}, and the front ({@link #front(Path,
   * GatedBackingIo)}) on them; {@link #zswapd()} is the front's engine.
   */
  static InJvmNodes twoMemoryNodesAndFront(Path dir, GatedBackingIo io, SpawnHook hook) {
    return twoMemoryNodesAndFront(dir, io, hook, "64 MiB");
  }

  /** As {@link #twoMemoryNodesAndFront(Path, GatedBackingIo, SpawnHook)}, each memory node's pool {@code pool} large. */
  static InJvmNodes twoMemoryNodesAndFront(Path dir, GatedBackingIo io, SpawnHook hook, String pool) {
    InJvmNodes nodes = new InJvmNodes();
    try {
      nodes.memoryNode(hook, pool);
      nodes.memoryNode(hook, pool);
      nodes.front(dir, io);
      return nodes;
    } catch (RuntimeException | Error e) {
      nodes.close();
      throw e;
    }
  }

  private static Config node(String zswapd) {
    Config settings = ConfigFactory.parseString(zswapd);
    String akka = ClusterShards.akkaConfig(ZswapdSettings.fromConfig(settings).cluster(), NAME);
    return ConfigFactory.parseString(akka + "akka.cluster.jmx.multi-mbeans-in-same-jvm = on\n")
        .withFallback(settings).withFallback(ConfigFactory.load());
  }

  /** A memory node with a 64 MiB pool, once it can take shards; it stops as if killed ({@link #crash}). */
  ActorSystem<Void> memoryNode() {
    return memoryNode(SpawnHook.NONE);
  }

  /** As {@link #memoryNode()}, its engine actors (the tree shards it hosts among them) wrapped by {@code hook}. */
  ActorSystem<Void> memoryNode(SpawnHook hook) {
    return memoryNode(hook, "64 MiB");
  }

  /** As {@link #memoryNode(SpawnHook)}, its pool {@code pool} large ({@code pool.max-size}). */
  ActorSystem<Void> memoryNode(SpawnHook hook, String pool) {
    int port = systems.isEmpty() ? seed : Daemon.freePort();
    ActorSystem<Void> s = ActorSystem.create(Behaviors.empty(), NAME, ActorSystemSetup.create(BootstrapSetup.create(
        node("""
            zswapd { pool.max-size = %s, exports = [],
              cluster { role = memory, bind = "127.0.0.1:%d", seed-nodes = ["127.0.0.1:%d"], down-unreachable-after = 20s } }
            akka.coordinated-shutdown.run-by-actor-system-terminate = off
            """.formatted(pool, port, seed))))
        .and(ZswapdSetup.of(hook)));
    systems.add(s);
    memoryNodes.add(s);
    Zswapd.get(s);
    ClusterShards.whenHosting(s).toCompletableFuture().join();
    return s;
  }

  /** The front: {@code swap0}, 64 MiB on the cluster, its backing file {@code io}. */
  Zswapd front(Path dir, GatedBackingIo io) {
    return front(dir, io, SpawnHook.NONE);
  }

  /** As {@link #front(Path, GatedBackingIo)}, its engine actors (the shards' proxies among them) wrapped by {@code hook}. */
  Zswapd front(Path dir, GatedBackingIo io, SpawnHook hook) {
    ActorSystem<Void> s = ActorSystem.create(Behaviors.empty(), NAME, ActorSystemSetup.create(BootstrapSetup.create(
        node("""
            zswapd { pool.max-size = 64 MiB,
              exports = [ { name = swap0, size = 64 MiB, placement = cluster, backing-file = "%s" } ]
              cluster { role = front, bind = "127.0.0.1:%d", seed-nodes = ["127.0.0.1:%d"],
                down-unreachable-after = 20s } }
            """.formatted(dir.resolve("swap0.backing"), Daemon.freePort(), seed))))
        .and(new ZswapdSetup(export -> io).withSpawnHook(hook)));
    systems.add(s);
    frontSystem = s;
    front = Zswapd.get(s);
    return front;
  }

  /** The front's engine, once {@link #front(Path, GatedBackingIo)} has started it. */
  Zswapd zswapd() {
    return front;
  }

  /** Stops the front as an operator's SIGTERM does: its coordinated shutdown, then it leaves the cluster. */
  void stopFront() {
    frontSystem.terminate();
    frontSystem.getWhenTerminated().toCompletableFuture().join();
  }

  /** The memory node whose pool holds objects: where swap0's one shard lives, once a page is stored. */
  ActorSystem<Void> holder() throws Exception {
    for (ActorSystem<Void> node : memoryNodes) {
      if (!node.whenTerminated().isCompleted() && objects(node) > 0) {
        return node;
      }
    }
    throw new AssertionError("no memory node holds a page");
  }

  /** The other of two memory nodes. */
  ActorSystem<Void> other(ActorSystem<Void> node) {
    return memoryNodes.stream().filter(s -> s != node).findFirst().orElseThrow();
  }

  /** Batches of swap0's shard the front has seen accepted by a memory node. */
  long acceptedBatches() throws Exception {
    return front.stats().toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS).export("swap0")
        .orElseThrow().remoteShards().stream().mapToLong(RemoteShardFigures::batches).sum();
  }

  /**
   * Loses a memory node as SIGKILL would: its actor system stops without its coordinated
   * shutdown (memory nodes here skip it), so it hands nothing off and leaves nothing; another
   * node then downs it, as the split brain resolver would once it is unreachable long enough
   * (here at once: the test's nodes wait 20 s before downing anyone themselves, so that a slow
   * machine never downs a live one), and its shards start again elsewhere, empty.
   */
  void crash(ActorSystem<Void> node) {
    akka.actor.Address address = akka.cluster.Cluster.get(akka.actor.typed.javadsl.Adapter.toClassic(node))
        .selfAddress();
    node.terminate();
    node.getWhenTerminated().toCompletableFuture().join();
    ActorSystem<Void> other = systems.stream().filter(s -> s != node && !s.whenTerminated().isCompleted())
        .findFirst().orElseThrow();
    akka.cluster.Cluster.get(akka.actor.typed.javadsl.Adapter.toClassic(other)).down(address);
  }

  /** A page of seeded random bytes (incompressible: kept raw, 4 KiB in the pool). */
  static byte[] page(long seed) {
    byte[] p = new byte[4096];
    new java.util.Random(seed).nextBytes(p);
    return p;
  }

  /** Objects a node's pool holds ({@code handles_in_use}). */
  static long objects(ActorSystem<Void> node) throws Exception {
    return Zswapd.get(node).stats().toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS).pool()
        .handlesInUse();
  }

  @Override
  public void close() {
    for (int i = systems.size() - 1; i >= 0; i--) {
      // the front first (its coordinated shutdown drains it while its memory nodes run)
      systems.get(i).terminate();
      systems.get(i).getWhenTerminated().toCompletableFuture().join();
    }
  }
}
