package io.zswapd.actors.cluster;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.cluster.sharding.ShardCoordinator;
import akka.cluster.sharding.ShardRegion;
import akka.cluster.sharding.typed.ClusterShardingSettings;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.sharding.typed.ShardingMessageExtractor;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.config.ClusterSettings;
import akka.pattern.Patterns;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import scala.concurrent.Future;

/**
 * Tree shards as Cluster Sharding entities: the entity type, how an entity id names a tree shard
 * ({@code export#index}), where a new shard goes, and the Akka settings of a zswapd node.
 *
 * <p>Each tree shard is a sharding shard of its own (the shard id is the entity id), so shards
 * are placed one by one: a new one goes to the memory node with fewer shards of two picked at
 * random (the power of two choices, as Infiniswap places slabs). Shards are never rebalanced: a
 * move would start the entity empty elsewhere, and copying its pages to the new owner is not
 * built yet; a node that leaves takes its shards with it (docs/CLUSTER.md).
 */
public final class ClusterShards {
  /** The entity type every node registers; only memory nodes host its entities. */
  public static final EntityTypeKey<ShardHost.Command> ENTITY =
      EntityTypeKey.create(ShardHost.Command.class, "zswapd-tree-shard");

  private ClusterShards() {}

  /**
   * What a memory node's entities need of its engine: the pool's size-class actors, its geometry
   * and the compressor (patches recompress on the memory node). Asked once by each new entity.
   */
  public record PoolParts(List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry,
      PageCompressor compressor) {}

  /**
   * Registers the entity type with Cluster Sharding on this node. A memory node hosts entities,
   * each asking {@code poolParts} for the pool; any other node only sends to them. Called once
   * per engine, before any page request.
   *
   * @throws IllegalStateException when the actor system is not a cluster node
   */
  public static void start(ActorSystem<?> system, ClusterSettings settings,
      java.util.function.Consumer<ActorRef<PoolParts>> poolParts) {
    String provider = system.settings().config().getString("akka.actor.provider");
    if (!provider.equals("cluster") && !provider.equals("akka.cluster.ClusterActorRefProvider")) {
      throw new IllegalStateException("zswapd.cluster.role = " + settings.role().configName()
          + " needs akka.actor.provider = cluster (it is " + provider + "); the daemon sets it, an application "
          + "adds ClusterShards.akkaConfig(settings, systemName) to its configuration");
    }
    ClusterSharding.get(system).init(Entity.of(ENTITY, ctx -> ShardHost.create(ctx.getEntityId(), poolParts))
        .withRole(ClusterSettings.Role.MEMORY_ROLE)
        .withMessageExtractor(new OneShardPerEntity())
        .withAllocationStrategy(new TwoChoices())
        .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy()));
  }

  /**
   * Completes once this memory node can take shards: it is a member of the cluster and the
   * sharding coordinator lists its region. Asked every 200 ms (a node whose seed nodes are not
   * up yet keeps waiting, as Akka keeps trying to join); fails if the actor system stops first.
   */
  public static CompletionStage<Done> whenHosting(ActorSystem<?> system) {
    akka.actor.ActorSystem classic = Adapter.toClassic(system);
    akka.actor.ActorRef region = akka.cluster.sharding.ClusterSharding.get(classic).shardRegion(ENTITY.name());
    akka.actor.Address self = akka.cluster.Cluster.get(classic).selfAddress();
    CompletableFuture<Done> hosting = new CompletableFuture<>();
    askRegions(system, region, self, hosting);
    return hosting;
  }

  private static void askRegions(ActorSystem<?> system, akka.actor.ActorRef region, akka.actor.Address self,
      CompletableFuture<Done> hosting) {
    Patterns.ask(region, ShardRegion.getCurrentRegionsInstance(), Duration.ofSeconds(2)).whenComplete((answer, e) -> {
      if (answer instanceof ShardRegion.CurrentRegions regions && regions.getRegions().contains(self)) {
        hosting.complete(Done.getInstance());
      } else if (system.whenTerminated().isCompleted()) {
        hosting.completeExceptionally(new IllegalStateException("the actor system stopped before the node joined"));
      } else {
        try {
          system.scheduler().scheduleOnce(Duration.ofMillis(200), () -> askRegions(system, region, self, hosting),
              system.executionContext());
        } catch (IllegalStateException stopping) { // the scheduler refuses once the system stops
          hosting.completeExceptionally(stopping);
        }
      }
    });
  }

  /** The entity of shard {@code index} of {@code export}. */
  public static EntityRef<ShardHost.Command> shard(ActorSystem<?> system, String export, long index) {
    return ClusterSharding.get(system).entityRefFor(ENTITY, entityId(export, index));
  }

  /** A number for one run of a front's engine, so memory nodes can tell its runs apart. */
  public static long newRun() {
    long run;
    do {
      run = ThreadLocalRandom.current().nextLong();
    } while (run == 0);
    return run;
  }

  static String entityId(String export, long index) {
    return export + "#" + index;
  }

  static String exportOf(String entityId) {
    int hash = entityId.lastIndexOf('#');
    if (hash <= 0) {
      throw new IllegalArgumentException("not a tree shard's entity id: " + entityId);
    }
    return entityId.substring(0, hash);
  }

  /**
   * The Akka settings that make an actor system named {@code systemName} the node {@code c}
   * describes: the cluster provider, Artery TCP on {@code c.bind()}, the seed nodes (this node
   * itself when none), its role, and the split brain resolver (keep-majority) that downs a node
   * unreachable for {@code c.downUnreachableAfter()}. The daemon lays it over its configuration;
   * an application embedding a clustered engine does the same, or sets these keys itself.
   */
  public static String akkaConfig(ClusterSettings c, String systemName) {
    List<String> seeds = new ArrayList<>();
    for (InetSocketAddress s : c.seedNodes().isEmpty() ? List.of(c.bind()) : c.seedNodes()) {
      seeds.add("\"akka://" + systemName + "@" + host(s) + ":" + s.getPort() + "\"");
    }
    String roles = c.role() == ClusterSettings.Role.MEMORY ? "[\"" + ClusterSettings.Role.MEMORY_ROLE + "\"]" : "[]";
    return "akka.actor.provider = cluster\n"
        + "akka.remote.artery.transport = tcp\n"
        + "akka.remote.artery.canonical.hostname = \"" + host(c.bind()) + "\"\n"
        + "akka.remote.artery.canonical.port = " + c.bind().getPort() + "\n"
        + "akka.cluster.seed-nodes = " + seeds + "\n"
        + "akka.cluster.roles = " + roles + "\n"
        + "akka.cluster.downing-provider-class = \"akka.cluster.sbr.SplitBrainResolverProvider\"\n"
        + "akka.cluster.split-brain-resolver.active-strategy = keep-majority\n"
        + "akka.cluster.split-brain-resolver.stable-after = " + c.downUnreachableAfter().toMillis() + "ms\n";
  }

  private static String host(InetSocketAddress a) {
    String h = a.getHostString();
    return h.contains(":") ? "[" + h + "]" : h;
  }

  /** One sharding shard per tree shard: placement decides tree shard by tree shard. */
  private static final class OneShardPerEntity
      extends ShardingMessageExtractor<ShardingEnvelope<ShardHost.Command>, ShardHost.Command> {
    @Override
    public String entityId(ShardingEnvelope<ShardHost.Command> envelope) {
      return envelope.entityId();
    }

    @Override
    public String shardId(String entityId) {
      return entityId;
    }

    @Override
    public ShardHost.Command unwrapMessage(ShardingEnvelope<ShardHost.Command> envelope) {
      return envelope.message();
    }
  }

  /**
   * A new shard goes to the memory node holding fewer shards of two picked at random (all of
   * them when there are two or fewer); shards never move once placed.
   */
  static final class TwoChoices extends ShardCoordinator.AbstractShardAllocationStrategy {
    @Override
    public Future<akka.actor.ActorRef> allocateShard(akka.actor.ActorRef requester, String shardId,
        Map<akka.actor.ActorRef, scala.collection.immutable.IndexedSeq<String>> current) {
      return Future.successful(choose(current));
    }

    static akka.actor.ActorRef choose(Map<akka.actor.ActorRef, scala.collection.immutable.IndexedSeq<String>> current) {
      List<akka.actor.ActorRef> regions = new ArrayList<>(current.keySet());
      if (regions.isEmpty()) {
        throw new IllegalStateException("no memory node to place a tree shard on");
      }
      ThreadLocalRandom random = ThreadLocalRandom.current();
      akka.actor.ActorRef a = regions.get(random.nextInt(regions.size()));
      akka.actor.ActorRef b = regions.get(random.nextInt(regions.size()));
      if (regions.size() == 2 && a.equals(b)) {
        b = regions.get(0).equals(a) ? regions.get(1) : regions.get(0);
      }
      return current.get(b).size() < current.get(a).size() ? b : a;
    }

    @Override
    public Future<Set<String>> rebalance(Map<akka.actor.ActorRef, scala.collection.immutable.IndexedSeq<String>> current,
        Set<String> inProgress) {
      return Future.successful(new HashSet<>());
    }
  }
}
