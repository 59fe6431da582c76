package io.zswapd.actors.cluster;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.cluster.sharding.ShardCoordinator;
import akka.cluster.sharding.ShardRegion;
import akka.cluster.ddata.DistributedData;
import akka.cluster.ddata.LWWMap;
import akka.cluster.ddata.Replicator;
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
import io.zswapd.protocol.engine.EngineStats;
import akka.actor.typed.javadsl.AskPattern;
import akka.pattern.Patterns;
import io.zswapd.actors.support.EngineDispatcher;
import io.zswapd.actors.support.SpawnHook;
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
 * ({@code front/export#index}), where a new shard goes, and the Akka settings of a zswapd node.
 *
 * <p>Each tree shard is a sharding shard of its own (the shard id is the entity id), so shards
 * are placed one by one: a new one goes to the memory node with more room of two picked at
 * random (the power of two choices, as Infiniswap places slabs; {@link NodeRoom}). A shard
 * moves only off a node past its accept threshold, or off a node that leaves, and its pages go
 * with it ({@link ShardHost}: the hand-off).
 */
public final class ClusterShards {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ClusterShards.class);

  /** The entity type every node registers; only memory nodes host its entities. */
  public static final EntityTypeKey<ShardHost.Command> ENTITY =
      EntityTypeKey.create(ShardHost.Command.class, "zswapd-tree-shard");

  private ClusterShards() {}

  /**
   * What a memory node's entities need of its engine: the pool's size-class actors, its geometry,
   * the compressor (patches recompress on the memory node) and the engine's spawn hook, which
   * wraps each hosted tree shard as it wraps the engine's own ({@link SpawnHook#NONE} but in
   * tests). Asked once by each new entity.
   */
  public record PoolParts(List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry,
      PageCompressor compressor, SpawnHook spawnHook) {}

  /**
   * Registers the entity type with Cluster Sharding on this node. A memory node hosts entities,
   * each asking {@code poolParts} for the pool, and announces its room ({@link NodeRoom}) from
   * the figures {@code stats} gives; any other node only sends to them. Called once per engine,
   * before any page request.
   *
   * @throws IllegalStateException when the actor system is not a cluster node
   */
  public static void start(ActorSystem<?> system, ClusterSettings settings,
      java.util.function.Consumer<ActorRef<PoolParts>> poolParts,
      java.util.function.Consumer<ActorRef<EngineStats>> stats) {
    String provider = system.settings().config().getString("akka.actor.provider");
    if (!provider.equals("cluster") && !provider.equals("akka.cluster.ClusterActorRefProvider")) {
      throw new IllegalStateException("zswapd.cluster.role = " + settings.role().configName()
          + " needs akka.actor.provider = cluster (it is " + provider + "); the daemon sets it, an application "
          + "adds ClusterShards.akkaConfig(settings, systemName) to its configuration");
    }
    ActorRef<HostedShards.Command> hosted = settings.role() != ClusterSettings.Role.MEMORY ? null
        : system.systemActorOf(HostedShards.create(poolParts), "zswapd-hosted-shards", EngineDispatcher.PROPS);
    ClusterSharding.get(system).init(Entity.of(ENTITY, ctx -> ShardHost.create(ctx.getEntityId(), hosted))
        .withRole(ClusterSettings.Role.MEMORY_ROLE)
        .withStopMessage(ShardHost.HandOff.INSTANCE)
        .withMessageExtractor(new OneShardPerEntity())
        .withAllocationStrategy(new TwoChoices(Adapter.toClassic(system)))
        .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy()));
    if (hosted != null) {
      system.systemActorOf(NodeRoom.announcer(stats), "zswapd-node-room",
          akka.actor.typed.Props.empty());
      waitForDepartures(system, hosted);
    }
  }

  /**
   * A leaving memory node stays in the cluster until the shards it handed off have been pulled
   * by their new homes (or the {@value #HAND_OFF_PHASE} phase times out): a task of that phase,
   * between the sharding regions' shutdown (the hand-offs) and the leave.
   */
  private static void waitForDepartures(ActorSystem<?> system, ActorRef<HostedShards.Command> hosted) {
    akka.actor.CoordinatedShutdown shutdown = akka.actor.CoordinatedShutdown.get(Adapter.toClassic(system));
    if (!shutdown.orderedPhases().contains(HAND_OFF_PHASE)) {
      LOG.warn("akka.coordinated-shutdown has no phase {}: a leaving memory node will not wait for its shards' "
          + "pages to be taken over (add ClusterShards.akkaConfig to the configuration)", HAND_OFF_PHASE);
      return;
    }
    Duration timeout = Duration.ofMillis(shutdown.timeout(HAND_OFF_PHASE).toMillis());
    shutdown.addTask(HAND_OFF_PHASE, "zswapd-departures", () -> AskPattern.<HostedShards.Command, Done>ask(hosted,
            HostedShards.WhenEmpty::new, timeout, system.scheduler())
        .exceptionally(e -> {
          Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
              ? e.getCause() : e;
          // an ask of an actor that has stopped (the system is going down without this phase) also
          // fails with a timeout exception, at once: say which it was
          String why = String.valueOf(cause.getMessage()).contains("terminated")
              ? "the node's hosted shards had already stopped"
              : cause instanceof java.util.concurrent.TimeoutException ? "not within " + timeout.toSeconds() + " s"
              : cause.toString();
          LOG.warn("the shards this node handed off were not all taken over ({}); their remaining pages are lost",
              why);
          return Done.getInstance();
        }));
  }

  /** The phase of a memory node's coordinated shutdown that waits for its handed-off shards. */
  static final String HAND_OFF_PHASE = "zswapd-hand-off";

  /**
   * Completes once this memory node can take shards: it is a member of the cluster and the
   * sharding coordinator lists its region. Asked every 200 ms (a node whose seed nodes are not
   * up yet keeps waiting, as Akka keeps trying to join); fails as soon as the actor system stops
   * first.
   */
  public static CompletionStage<Done> whenHosting(ActorSystem<?> system) {
    akka.actor.ActorSystem classic = Adapter.toClassic(system);
    akka.actor.ActorRef region = akka.cluster.sharding.ClusterSharding.get(classic).shardRegion(ENTITY.name());
    akka.actor.Address self = akka.cluster.Cluster.get(classic).selfAddress();
    CompletableFuture<Done> hosting = new CompletableFuture<>();
    // a node that stops first (refused, downed, SIGTERM) never hears back from an ask
    system.getWhenTerminated().thenRun(() -> hosting.completeExceptionally(
        new IllegalStateException("the actor system stopped before the node joined")));
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

  /**
   * The entity of shard {@code index} of this front's {@code export}. Its id names the front
   * (its cluster address), so two fronts may each serve an export of the same name.
   */
  public static EntityRef<ShardHost.Command> shard(ActorSystem<?> system, String export, long index) {
    return ClusterSharding.get(system).entityRefFor(ENTITY, entityId(selfHostPort(system), export, index));
  }

  /** This node's cluster address as {@code host:port}: how entity ids and stats name a node. */
  static String selfHostPort(ActorSystem<?> system) {
    akka.actor.Address self = akka.cluster.Cluster.get(Adapter.toClassic(system)).selfAddress();
    return self.host().isDefined() ? self.host().get() + ":" + self.port().get() : self.toString();
  }

  /** A number for one run of a front's engine, so memory nodes can tell its runs apart. */
  public static long newRun() {
    long run;
    do {
      run = ThreadLocalRandom.current().nextLong();
    } while (run == 0);
    return run;
  }

  /** {@code front/export#index}: the front's host:port, the export, the shard's index. */
  static String entityId(String front, String export, long index) {
    return front + "/" + export + "#" + index;
  }

  /** The index of the tree shard an entity id names. */
  static int indexOf(String entityId) {
    exportOf(entityId); // checks the form
    return Integer.parseInt(entityId.substring(entityId.lastIndexOf('#') + 1));
  }

  /** The export an entity id names. */
  static String exportOf(String entityId) {
    int slash = entityId.lastIndexOf('/');
    int hash = entityId.lastIndexOf('#');
    if (slash <= 0 || hash <= slash + 1) {
      throw new IllegalArgumentException("not a tree shard's entity id (front/export#index): " + entityId);
    }
    return entityId.substring(slash + 1, hash);
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
        + "akka.remote.artery.canonical.hostname = \"" + c.bind().getHostString() + "\"\n"
        + "akka.remote.artery.canonical.port = " + c.bind().getPort() + "\n"
        + "akka.cluster.seed-nodes = " + seeds + "\n"
        + "akka.cluster.roles = " + roles + "\n"
        + "akka.cluster.downing-provider-class = \"akka.cluster.sbr.SplitBrainResolverProvider\"\n"
        + "akka.cluster.split-brain-resolver.active-strategy = keep-majority\n"
        + "akka.cluster.split-brain-resolver.stable-after = " + c.downUnreachableAfter().toMillis() + "ms\n"
        + "akka.coordinated-shutdown.phases." + HAND_OFF_PHASE + " {\n"
        + "  depends-on = [cluster-sharding-shutdown-region]\n"
        + "  timeout = 120s\n"
        + "}\n"
        + "akka.coordinated-shutdown.phases.cluster-leave.depends-on = [cluster-sharding-shutdown-region, "
        + HAND_OFF_PHASE + "]\n";
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
   * Where a new shard goes: of two memory nodes picked at random (all of them when there are
   * two), the one with more room ({@link NodeRoom}: bytes its pool may take before its accept
   * threshold), fewer shards breaking a tie. A node past its accept threshold is never picked
   * while another has room; when none has, the one with the most room is (its pool then refuses
   * stores with POOL_FULL, ENOSPC over NBD, rather than a request waiting for a home). A node
   * whose room is not known yet (it just joined) counts as empty. A shard moves off a node past
   * its accept threshold when another has room ({@link #donor}).
   */
  static final class TwoChoices extends ShardCoordinator.AbstractShardAllocationStrategy {
    private final akka.actor.ActorSystem system;

    TwoChoices(akka.actor.ActorSystem system) {
      this.system = system;
    }

    @Override
    public Future<akka.actor.ActorRef> allocateShard(akka.actor.ActorRef requester, String shardId,
        Map<akka.actor.ActorRef, scala.collection.immutable.IndexedSeq<String>> current) {
      akka.actor.Address self = akka.cluster.Cluster.get(system).selfAddress();
      CompletionStage<akka.actor.ActorRef> choice = regions(current).thenApply(regions -> {
        Region chosen = choose(regions, ThreadLocalRandom.current());
        // once per 64 MiB of an export: where each shard lives, in the coordinator's log
        LOG.info("tree shard {} goes to {} (room {} MiB, {} shards) of {} memory node(s)", shardId,
            chosen.ref().path().address().hasGlobalScope() ? chosen.ref().path().address() : self,
            chosen.room() == Long.MAX_VALUE ? "not yet known" : chosen.room() >> 20, chosen.shards(),
            regions.size());
        return chosen.ref();
      });
      return scala.jdk.javaapi.FutureConverters.asScala(choice);
    }

    /**
     * One shard at a time moves off a memory node past its accept threshold, when another has
     * {@link #REBALANCE_ROOM} or more ({@link #donor}); its pages go along (a hand-off,
     * {@link ShardHost}), and it is placed again as a new shard is, so not on a node past its
     * threshold.
     */
    @Override
    public Future<Set<String>> rebalance(Map<akka.actor.ActorRef, scala.collection.immutable.IndexedSeq<String>> current,
        Set<String> inProgress) {
      if (!inProgress.isEmpty()) {
        return Future.successful(new HashSet<>());
      }
      CompletionStage<Set<String>> moves = regions(current).thenApply(regions -> {
        Set<String> move = new HashSet<>();
        donor(regions).ifPresent(d -> {
          String shard = current.get(d.ref()).head();
          LOG.info("tree shard {} moves off {}: past its accept threshold (room {} MiB) while another node has room",
              shard, d.ref().path().address(), d.room() >> 20);
          move.add(shard);
        });
        return move;
      });
      return scala.jdk.javaapi.FutureConverters.asScala(moves);
    }

    /** The regions with their rooms, as this node's replica of {@link NodeRoom#KEY} has them. */
    @SuppressWarnings("unchecked")
    private CompletionStage<List<Region>> regions(
        Map<akka.actor.ActorRef, scala.collection.immutable.IndexedSeq<String>> current) {
      akka.actor.Address self = akka.cluster.Cluster.get(system).selfAddress();
      return Patterns.ask(DistributedData.get(system).replicator(),
              new Replicator.Get<>(NodeRoom.KEY, Replicator.readLocal()), Duration.ofSeconds(3))
          .handle((answer, failure) -> {
            Map<String, Long> rooms = answer instanceof Replicator.GetSuccess<?> ok
                ? ((LWWMap<String, Long>) ok.dataValue()).getEntries() : Map.of();
            List<Region> regions = new ArrayList<>();
            for (Map.Entry<akka.actor.ActorRef, scala.collection.immutable.IndexedSeq<String>> e : current.entrySet()) {
              akka.actor.Address address = e.getKey().path().address();
              String node = (address.hasGlobalScope() ? address : self).toString();
              regions.add(new Region(e.getKey(), rooms.getOrDefault(node, Long.MAX_VALUE), e.getValue().size()));
            }
            return regions;
          });
    }
  }

  /** Room another node must have for a shard to move to it off a node past its accept threshold. */
  static final long REBALANCE_ROOM = 16L << 20;

  /**
   * The region a shard should move off, if any: the one with the least room, when it holds
   * shards and is past its accept threshold (room 0 or less), and another region has at least
   * {@link #REBALANCE_ROOM}.
   */
  static java.util.Optional<Region> donor(List<Region> regions) {
    Region least = null;
    Region most = null;
    for (Region r : regions) {
      if (r.shards() > 0 && (least == null || r.room() < least.room())) {
        least = r;
      }
      if (most == null || r.room() > most.room()) {
        most = r;
      }
    }
    if (least == null || least.room() > 0 || most == least || most.room() < REBALANCE_ROOM) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(least);
  }

  /** A memory node's region as placement sees it: its room in bytes and how many shards it has. */
  record Region(akka.actor.ActorRef ref, long room, int shards) {}

  /**
   * The power of two choices over {@code regions}: among those with room, two different ones
   * picked at random, and of the two the one with more room, then fewer shards; when none has
   * room, the one with the most.
   */
  static Region choose(List<Region> regions, java.util.Random random) {
    if (regions.isEmpty()) {
      throw new IllegalStateException("no memory node to place a tree shard on");
    }
    List<Region> open = regions.stream().filter(r -> r.room() > 0).toList();
    if (open.isEmpty()) {
      return regions.stream().max(java.util.Comparator.comparingLong(Region::room)).orElseThrow();
    }
    int i = random.nextInt(open.size());
    Region a = open.get(i);
    if (open.size() == 1) {
      return a;
    }
    int j = random.nextInt(open.size() - 1);
    Region b = open.get(j < i ? j : j + 1); // two different nodes
    if (a.room() != b.room()) {
      return a.room() > b.room() ? a : b;
    }
    return b.shards() < a.shards() ? b : a;
  }
}
