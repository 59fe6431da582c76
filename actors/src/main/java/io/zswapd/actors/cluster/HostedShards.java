package io.zswapd.actors.cluster;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.Terminated;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.support.EngineDispatcher;
import io.zswapd.actors.tree.ImagesReply;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.EngineCommand;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A memory node's tree shards: the parent of every {@link TreeShard} its {@link ShardHost}
 * entities own, so that a shard's pages can outlive its entity when Cluster Sharding hands the
 * shard to another node (a graceful leave, a rebalance).
 *
 * <p><b>A hand-off.</b> An entity told to stop for a hand-off drains its tree shard, declares a
 * <em>departure</em> here ({@link Depart}: the tree shard stays, untouched by anything new, under
 * the entity's incarnation), tells its front, and stops. The shard starts again on another
 * node; the front's next batch there names the departure, and the new entity pulls the pages
 * ({@link Pull}): each answer ({@link ShardHost.Pulled}) is the next images of the departed tree
 * shard, as its pool keeps them, up to {@link #PULL_BYTES} of them. Once the last are sent
 * the departed tree shard is emptied and stopped. A departure nobody pulls from for
 * {@link #UNCLAIMED} is dropped (its front gave its pages up as lost), and one whose front is
 * gone (its node left the cluster, or the export was closed: death watch) is dropped at once:
 * only that front could send a new home to pull it.
 *
 * <p>A leaving node waits for its departures before it leaves the cluster
 * ({@link #whenEmpty}, the {@code zswapd-hand-off} phase of its coordinated shutdown).
 */
public final class HostedShards extends AbstractBehavior<HostedShards.Command> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HostedShards.class);

  /** Most stored bytes of images in one {@link ShardHost.Pulled}: inside Artery's 256 KiB frame. */
  static final int PULL_BYTES = 128 * 1024;
  /** How long a departure waits for its next pull before its pages are dropped. */
  static final Duration UNCLAIMED = Duration.ofMinutes(2);

  public sealed interface Command {}

  /** Make the tree shard of {@code entity}; answered with {@link Spawned}. */
  record Spawn(ActorRef<ShardHost.Command> entity, String entityId, ActorRef<Spawned> replyTo) implements Command {}

  /** The tree shard made for an entity, and the codec of this node's pool. */
  record Spawned(ActorRef<TreeShard.Command> tree, CodecKind codec) {}

  /**
   * {@code entity}, of {@code incarnation}, leaves for another node: its tree shard (drained)
   * stays here as a departure until its pages are pulled, or until {@code front} (the shard's
   * proxy on the front, which alone can name the departure to the next home) is gone.
   */
  record Depart(ActorRef<ShardHost.Command> entity, long incarnation, ActorRef<?> front) implements Command {}

  /**
   * The next pages of the departure of {@code incarnation} from slot {@code fromSlot} on, for
   * the shard's new host {@code replyTo}: answered {@link ShardHost.Pulled}, or
   * {@link ShardHost.PullRefused} when this node holds no such departure.
   */
  public record Pull(long incarnation, int fromSlot, ActorRef<ShardHost.Command> replyTo)
      implements Command, ClusterMessage {}

  /** Answered (Done) once no departure is left. */
  record WhenEmpty(ActorRef<Done> replyTo) implements Command {}

  private record PoolReady(ClusterShards.PoolParts parts) implements Command {}

  private record Read(long incarnation, ActorRef<ShardHost.Command> puller, ImagesReply reply) implements Command {}

  private record Unclaimed(long incarnation) implements Command {}

  private record Emptied(ActorRef<TreeShard.Command> tree) implements Command {}

  /** A tree shard whose entity left: its pages wait to be pulled. */
  private record Departure(ActorRef<TreeShard.Command> tree, String name, ActorRef<?> front) {}

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final ClusterShards.PoolParts parts;
  private final Map<ActorRef<ShardHost.Command>, ActorRef<TreeShard.Command>> trees = new HashMap<>();
  private final Map<Long, Departure> departures = new HashMap<>();
  /** The departures waiting on each front (watched while any does). */
  private final Map<ActorRef<?>, Set<Long>> departuresOf = new HashMap<>();
  private final List<ActorRef<Done>> whenEmpty = new ArrayList<>();
  private long nextTree = 1;

  /** The node's hosted shards, asking {@code poolParts} for the pool once and holding requests until then. */
  static Behavior<Command> create(Consumer<ActorRef<ClusterShards.PoolParts>> poolParts) {
    return Behaviors.withStash(10_000, stash -> Behaviors.withTimers(timers -> Behaviors.setup(ctx -> {
      poolParts.accept(ctx.messageAdapter(ClusterShards.PoolParts.class, PoolReady::new));
      return Behaviors.receive(Command.class)
          .onMessage(PoolReady.class, r -> stash.unstashAll(new HostedShards(ctx, timers, r.parts())))
          .onAnyMessage(m -> {
            stash.stash(m);
            return Behaviors.same();
          })
          .build();
    })));
  }

  private HostedShards(ActorContext<Command> ctx, TimerScheduler<Command> timers, ClusterShards.PoolParts parts) {
    super(ctx);
    this.ctx = ctx;
    this.timers = timers;
    this.parts = parts;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Spawn.class, this::spawn)
        .onMessage(Depart.class, this::depart)
        .onMessage(Pull.class, this::pull)
        .onMessage(Read.class, this::read)
        .onMessage(Unclaimed.class, this::unclaimed)
        .onMessage(Emptied.class, e -> {
          ctx.stop(e.tree());
          return this;
        })
        .onMessage(WhenEmpty.class, w -> {
          whenEmpty.add(w.replyTo());
          return emptied();
        })
        .onSignal(Terminated.class, this::terminated)
        .build();
  }

  private Behavior<Command> spawn(Spawn s) {
    EngineActor self = EngineActor.treeShard(ClusterShards.exportOf(s.entityId()),
        ClusterShards.indexOf(s.entityId()));
    ActorRef<TreeShard.Command> tree = ctx.spawn(parts.spawnHook().wrap(self, TreeShard.create(parts.classes(),
        parts.geometry(), parts.compressor(), null, null, null, () -> {})), "tree-" + nextTree++, EngineDispatcher.SAME);
    trees.put(s.entity(), tree);
    ctx.watch(s.entity());
    s.replyTo().tell(new Spawned(tree, parts.compressor().kind()));
    return this;
  }

  private Behavior<Command> depart(Depart d) {
    ActorRef<TreeShard.Command> tree = trees.remove(d.entity());
    if (tree != null) {
      ctx.unwatch(d.entity());
      departures.put(d.incarnation(), new Departure(tree, ShardHost.nameOf(d.entity()), d.front()));
      departuresOf.computeIfAbsent(d.front(), f -> new HashSet<>()).add(d.incarnation());
      ctx.watch(d.front());
      timers.startSingleTimer(d.incarnation(), new Unclaimed(d.incarnation()), UNCLAIMED);
    }
    return this;
  }

  private Behavior<Command> pull(Pull p) {
    Departure d = departures.get(p.incarnation());
    if (d == null) {
      p.replyTo().tell(new ShardHost.PullRefused(p.incarnation(), "memory node "
          + ClusterShards.selfHostPort(ctx.getSystem()) + " holds no departed shard of incarnation " + p.incarnation()
          + " (dropped after " + UNCLAIMED.toSeconds() + " s unclaimed, or already handed over)"));
      return this;
    }
    timers.startSingleTimer(p.incarnation(), new Unclaimed(p.incarnation()), UNCLAIMED);
    ActorRef<Command> self = ctx.getSelf();
    long incarnation = p.incarnation();
    d.tree().tell(new TreeShard.LoadImages(p.fromSlot(), TreeShard.PAGES, PULL_BYTES,
        new Relay<>(reply -> self.tell(new Read(incarnation, p.replyTo(), reply)))));
    return this;
  }

  private Behavior<Command> read(Read r) {
    Departure d = departures.get(r.incarnation());
    if (d == null) {
      return this;
    }
    if (r.reply() instanceof ImagesReply.ImagesFailed f) {
      LOG.error("departed shard {}: page {} could not be read for its new node ({}); the shard's pages are dropped "
          + "here", d.name(), f.firstPage(), f.error().message());
      r.puller().tell(new ShardHost.PullRefused(r.incarnation(), f.error().message()));
      drop(r.incarnation());
      return emptied();
    }
    ImagesReply.Images images = (ImagesReply.Images) r.reply();
    int first = (int) (images.firstPage() & (TreeShard.PAGES - 1));
    r.puller().tell(new ShardHost.Pulled(r.incarnation(), first, images.images()));
    if (first + images.images().length >= TreeShard.PAGES) {
      LOG.info("departed shard {}: every page handed to its new node", d.name());
      drop(r.incarnation());
    }
    return emptied();
  }

  private Behavior<Command> unclaimed(Unclaimed u) {
    Departure d = departures.get(u.incarnation());
    if (d != null) {
      LOG.warn("departed shard {}: no new node pulled its pages for {} s; they are dropped", d.name(),
          UNCLAIMED.toSeconds());
      drop(u.incarnation());
    }
    return emptied();
  }

  /** Empties and stops a departed tree shard. */
  private void drop(long incarnation) {
    Departure d = departures.remove(incarnation);
    timers.cancel(incarnation);
    Set<Long> ofFront = departuresOf.get(d.front());
    ofFront.remove(incarnation);
    if (ofFront.isEmpty()) {
      departuresOf.remove(d.front());
      ctx.unwatch(d.front());
    }
    stopEmptied(d.tree());
  }

  /** Frees a tree shard's pages in the pool, then stops it (a stop alone would leave them allocated). */
  private void stopEmptied(ActorRef<TreeShard.Command> tree) {
    ActorRef<Command> self = ctx.getSelf();
    tree.tell(new TreeShard.Pages(List.of(new EngineCommand.InvalidateArea("",
        new Relay<>(reply -> self.tell(new Emptied(tree)))))));
  }

  private Behavior<Command> emptied() {
    if (departures.isEmpty() && !whenEmpty.isEmpty()) {
      whenEmpty.forEach(w -> w.tell(Done.getInstance()));
      whenEmpty.clear();
    }
    return this;
  }

  /**
   * An entity stopped without a departure (it failed, or had nothing to hand over): its pages go
   * with it. A front is gone: nothing will pull the departures it alone could name.
   */
  private Behavior<Command> terminated(Terminated t) {
    ActorRef<TreeShard.Command> tree = trees.remove(t.getRef());
    if (tree != null) {
      stopEmptied(tree);
    }
    Set<Long> ofFront = departuresOf.get(t.getRef());
    if (ofFront != null) {
      for (long incarnation : List.copyOf(ofFront)) {
        LOG.info("departed shard {}: its front is gone, so no new node will take its pages; they are dropped",
            departures.get(incarnation).name());
        drop(incarnation);
      }
    }
    return emptied();
  }
}
