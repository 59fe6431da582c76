package io.zswapd.actors.cluster;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.Terminated;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.tree.ImagesReply;
import io.zswapd.actors.tree.ShardStats;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineCommand.PageRequest;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.PageImage;
import akka.actor.typed.javadsl.TimerScheduler;
import io.zswapd.protocol.engine.StoreReply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A tree shard of another node's export, on a memory node: the sharded entity
 * ({@link ClusterShards#ENTITY}) that owns one {@link TreeShard} child in this node's pool and
 * speaks the cluster protocol with the front's proxy of the shard ({@code RemoteShard}).
 *
 * <p>The front sends {@link Batch}es one at a time and this actor answers each at once,
 * {@link ShardAnswer.Accepted} (it went to the tree shard, in order) or {@link ShardAnswer.Gone}
 * (it was meant for an earlier incarnation of the shard, whose pages died with its node; nothing
 * is done). A batch id seen before is a retransmission: accepted again, not done twice. The
 * tree shard answers each op to a reply-to of this actor's; the answers of one turn go back to
 * the front together in one {@link ShardAnswer.Replies}.
 *
 * <p>The pages belong to one run of one front: when a batch comes from a new run (the front was
 * restarted) the shard is emptied first, and when the front's node leaves the cluster
 * (Terminated, by death watch) the shard is emptied and waits for a new run.
 *
 * <p><b>A hand-off moves the pages.</b> The tree shard is a child of the node's
 * {@link HostedShards}, not of this entity, so it can outlive it. Told to stop for a hand-off
 * ({@link HandOff}: the node leaves, or the shard is rebalanced), the entity lets its ops finish,
 * leaves the tree shard behind as a departure, tells the front ({@link ShardAnswer.Departing}),
 * and stops once the front noted it. The shard starts again on another node, empty; the front's
 * first batch there is answered Gone, and the front sends it again naming the departure
 * ({@link Adopt}). The new entity then pulls the pages, as the old pool kept them
 * ({@link HostedShards.Pull}, {@link Pulled}), stores them, and only then carries out the batch
 * and those after it: nothing acknowledged is lost, and no request overtakes the pages it
 * follows. Pages its pool refuses are reported lost ({@link ShardAnswer.PagesLost}); if the pull
 * fails, the batch is answered Gone and the front counts the whole shard lost.
 */
public final class ShardHost extends AbstractBehavior<ShardHost.Command> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ShardHost.class);


  public sealed interface Command {}

  /**
   * Ops for the shard. {@code incarnation} is the host incarnation the front last heard from (0:
   * none yet, a new run); op {@code i} has id {@code firstId + i}; {@code codec} wrote the
   * images (the front's {@code pool.compressor}), which this node's pool must share.
   */
  public record Batch(ActorRef<ShardAnswer> front, long frontRun, long incarnation, long batchId, long firstId,
      CodecKind codec, List<PageOp> ops, Adopt adopt) implements Command, ClusterMessage {}

  /**
   * In the first batch to a shard's new home after a hand-off: the shard's pages wait on the
   * node it left, {@code source}, as the departure of {@code incarnation}. The host takes them
   * all before it carries out the batch.
   */
  public record Adopt(ActorRef<HostedShards.Command> source, long incarnation) {}

  /**
   * Cluster Sharding's stop message for this entity: its shard goes to another node (the node
   * leaves, or the shard is rebalanced). Local only.
   */
  public enum HandOff implements Command { INSTANCE }

  /** The front has recorded this shard's departure (of {@code incarnation}): the entity may stop. */
  public record DepartureNoted(long incarnation) implements Command, ClusterMessage {}

  /**
   * The images of the departed shard of {@code sourceIncarnation} from slot {@code firstSlot}
   * on, null where a page was never written; the last reaches slot {@link TreeShard#PAGES}.
   */
  public record Pulled(long sourceIncarnation, int firstSlot, PageImage[] images) implements Command, ClusterMessage {}

  /** The departed shard of {@code sourceIncarnation} cannot be pulled ({@code reason}). */
  public record PullRefused(long sourceIncarnation, String reason) implements Command, ClusterMessage {}

  /** The tree shard's counters, answered with {@link ShardAnswer.Stats}. */
  public record GetStats(ActorRef<ShardAnswer> front, long requestId) implements Command, ClusterMessage {}

  private record Replied(long id, Object reply) implements Command {}

  private record StatsReady(ActorRef<ShardAnswer> front, long requestId, ShardStats stats) implements Command {}

  private enum Flush implements Command { INSTANCE }

  private record TreeReady(HostedShards.Spawned spawned) implements Command {}

  private record AdoptStored(int slot, StoreReply reply) implements Command {}

  private enum DepartTimeout implements Command { INSTANCE }

  private enum PullTimeout implements Command { INSTANCE }

  /** How long a departing entity waits for its front to note the departure before it stops anyway. */
  static final Duration DEPART_TIMEOUT = Duration.ofSeconds(5);
  /** How long a pull may go unanswered before the adoption is given up. */
  static final Duration PULL_TIMEOUT = Duration.ofSeconds(10);

  /** Most bytes of pages in one {@link ShardAnswer.Replies}: inside Artery's 256 KiB frame. */
  static final int REPLIES_BYTES = 160 * 1024;

  private final String export;
  /** The codec of this node's pool: the tree shard records it for every page it stores. */
  private final CodecKind codec;
  private final ActorRef<TreeShard.Command> shard;
  private final long incarnation;
  /** This memory node, {@code host:port}: the fronts' stats say where each shard lives. */
  private final String node;
  private long boundRun;
  private ActorRef<ShardAnswer> front;
  private long lastBatch;
  private List<Long> outIds = new ArrayList<>();
  private List<Object> outReplies = new ArrayList<>();
  private boolean flushSent;
  private final ActorRef<HostedShards.Command> hosted;
  private final TimerScheduler<Command> timers;
  /** The entity id, {@code front/export#index}: how the logs name this shard. */
  private final String name;
  /** Ops handed to the tree shard whose reply has not come back. */
  private int outstanding;
  /** Told to stop for a hand-off: takes no batch, departs once {@link #outstanding} is 0. */
  private boolean leaving;
  private boolean departed;
  /** The adoption under way (pulling a departed shard's pages), or null. */
  private Adoption adoption;
  /** The departure this host took its pages from (0: none): a batch naming it again is a retransmission. */
  private long adoptedFrom;

  /** Pulling the pages of a departed shard before the batch {@code held} is carried out. */
  private static final class Adoption {
    final Batch held;
    final Adopt from;
    final long startNanos = System.nanoTime();
    int nextSlot;
    int storing;
    int pages;
    boolean pulledAll;
    final java.util.BitSet lost = new java.util.BitSet();

    Adoption(Batch held, Adopt from) {
      this.held = held;
      this.from = from;
    }
  }

  private record PoolReady(ClusterShards.PoolParts parts) implements Command {}

  /**
   * The entity for {@code entityId} ({@code front/export#shardIndex}): it asks its node's
   * {@code hosted} shards for its tree shard, holding what arrives meanwhile.
   */
  public static Behavior<Command> create(String entityId, ActorRef<HostedShards.Command> hosted) {
    return Behaviors.withStash(100_000, stash -> Behaviors.withTimers(timers -> Behaviors.setup(ctx -> {
      hosted.tell(new HostedShards.Spawn(ctx.getSelf(), entityId,
          ctx.messageAdapter(HostedShards.Spawned.class, TreeReady::new)));
      return Behaviors.receive(Command.class)
          .onMessage(TreeReady.class, r -> stash.unstashAll(Behaviors.setup(c -> new ShardHost(c, timers,
              ClusterShards.exportOf(entityId), r.spawned().codec(), r.spawned().tree(), hosted))))
          .onMessage(HandOff.class, h -> Behaviors.stopped()) // nothing held yet
          .onAnyMessage(m -> {
            stash.stash(m);
            return Behaviors.same();
          })
          .build();
    })));
  }

  private ShardHost(ActorContext<Command> ctx, TimerScheduler<Command> timers, String export, CodecKind codec,
      ActorRef<TreeShard.Command> shard, ActorRef<HostedShards.Command> hosted) {
    super(ctx);
    this.timers = timers;
    this.hosted = hosted;
    this.name = nameOf(ctx.getSelf());
    this.export = export;
    this.codec = codec;
    this.shard = shard;
    long inc;
    do {
      inc = ThreadLocalRandom.current().nextLong();
    } while (inc == 0);
    this.incarnation = inc;
    this.node = ClusterShards.selfHostPort(ctx.getSystem());
    ctx.watch(shard);
  }

  /** An entity's id, from its actor name (which Cluster Sharding URL-encodes). */
  static String nameOf(ActorRef<?> entity) {
    return java.net.URLDecoder.decode(entity.path().name(), java.nio.charset.StandardCharsets.UTF_8);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Batch.class, this::batch)
        .onMessage(Replied.class, this::replied)
        .onMessage(Flush.class, f -> flush())
        .onMessage(GetStats.class, this::getStats)
        .onMessage(HandOff.class, h -> handOff())
        .onMessage(DepartureNoted.class, d -> Behaviors.stopped())
        .onMessage(DepartTimeout.class, d -> {
          LOG.warn("shard {} of export {}: its front did not note the hand-off within {} s; stopping (the front "
              + "will count its pages as lost)", name, export,
              DEPART_TIMEOUT.toSeconds());
          return Behaviors.stopped();
        })
        .onMessage(Pulled.class, this::pulled)
        .onMessage(PullRefused.class, p -> adoptionFailed(p.sourceIncarnation(), p.reason()))
        .onMessage(PullTimeout.class, p -> adoption == null ? this
            : adoptionFailed(adoption.from.incarnation(), "no answer from " + adoption.from.source().path().address()
                + " within " + PULL_TIMEOUT.toSeconds() + " s"))
        .onMessage(AdoptStored.class, this::adoptStored)
        .onMessage(StatsReady.class, s -> {
          s.front().tell(new ShardAnswer.Stats(incarnation, s.requestId(), s.stats().toArray()));
          return this;
        })
        .onSignal(Terminated.class, this::terminated)
        .build();
  }

  private Behavior<Command> batch(Batch b) {
    if (leaving) {
      return this; // unanswered: the front sends it again, and it reaches the shard's next home
    }
    if (b.incarnation() != 0 && b.incarnation() != incarnation) {
      b.front().tell(new ShardAnswer.Gone(incarnation, b.batchId()));
      return this;
    }
    if (adoption != null) {
      return this; // the batch the adoption holds, sent again: answered once the pages are in
    }
    if (b.frontRun() != boundRun) {
      if (boundRun != 0 && b.incarnation() != 0) {
        return this; // a late batch of a run this shard has already left behind
      }
      if (boundRun != 0) { // a new run starts with incarnation 0: its front was restarted
        LOG.info("shard {} of export {}: a new run of its front; dropping the earlier run's pages",
            name, export);
        emptyShard();
      }
      bind(b.front(), b.frontRun());
    }
    if (b.adopt() != null && b.adopt().incarnation() != adoptedFrom) {
      return adopt(b);
    }
    b.front().tell(new ShardAnswer.Accepted(incarnation, b.batchId(), node));
    if (b.batchId() <= lastBatch) {
      return this; // a retransmission of a batch already taken
    }
    lastBatch = b.batchId();
    ActorRef<Command> self = getContext().getSelf();
    outstanding += b.ops().size();
    if (b.codec() != codec) {
      // the tree shard would decode the front's images with this node's codec: refuse, and say why
      EngineError mismatch = new EngineError(ErrorCode.INVALID, "the front compresses with " + b.codec()
          + " and this memory node's pool with " + codec + "; set the same zswapd.pool.compressor on every node");
      LOG.error("shard {} of export {}: {}", name, export, mismatch.message());
      for (int i = 0; i < b.ops().size(); i++) {
        long id = b.firstId() + i;
        PageOp op = b.ops().get(i);
        if (op instanceof PageOp.Load || op instanceof PageOp.LoadRange) {
          self.tell(new Replied(id, new ImagesReply.ImagesFailed(PageOp.firstPage(op), mismatch)));
        } else {
          PageOp.toRequest(op, export, new Relay<>(reply -> self.tell(new Replied(id, reply)))).refuse(mismatch);
        }
      }
      return this;
    }
    // in order: runs of stores and trims as one Pages message, each load as LoadImages (the
    // front gets loaded pages as the pool keeps them, and decompresses them itself)
    List<PageRequest> requests = new ArrayList<>();
    for (int i = 0; i < b.ops().size(); i++) {
      long id = b.firstId() + i;
      PageOp op = b.ops().get(i);
      Relay<Object> relay = new Relay<>(reply -> self.tell(new Replied(id, reply)));
      if (op instanceof PageOp.Load || op instanceof PageOp.LoadRange) {
        if (!requests.isEmpty()) {
          shard.tell(new TreeShard.Pages(requests));
          requests = new ArrayList<>();
        }
        int pages = op instanceof PageOp.LoadRange l ? l.pageCount() : 1;
        shard.tell(new TreeShard.LoadImages(PageOp.firstPage(op), pages, Integer.MAX_VALUE, relay.<ImagesReply>narrow()));
      } else {
        requests.add(PageOp.toRequest(op, export, relay));
      }
    }
    if (!requests.isEmpty()) {
      shard.tell(new TreeShard.Pages(requests));
    }
    return this;
  }

  private void bind(ActorRef<ShardAnswer> newFront, long run) {
    if (front != null) {
      getContext().unwatch(front);
    }
    front = newFront;
    boundRun = run;
    lastBatch = 0;
    outIds = new ArrayList<>();
    outReplies = new ArrayList<>();
    getContext().watch(front);
  }

  /** Frees every page of the shard (the reply is not needed: the shard serves it before anything later). */
  private void emptyShard() {
    shard.tell(new TreeShard.Pages(List.of(new EngineCommand.InvalidateArea(export, new Relay<>(reply -> {})))));
  }

  private Behavior<Command> replied(Replied r) {
    outstanding--;
    if (front == null) {
      return this;
    }
    outIds.add(r.id());
    outReplies.add(r.reply());
    if (!flushSent) {
      flushSent = true;
      getContext().getSelf().tell(Flush.INSTANCE); // behind the replies already queued: one message for them all
    }
    return leaving ? departWhenDrained() : this;
  }

  /** Sends the replies gathered this turn, in messages of at most {@link #REPLIES_BYTES} of pages. */
  private Behavior<Command> flush() {
    flushSent = false;
    if (front != null) {
      int from = 0;
      int bytes = 0;
      for (int i = 0; i < outIds.size(); i++) {
        int size = replyBytes(outReplies.get(i));
        if (i > from && bytes + size > REPLIES_BYTES) {
          sendReplies(from, i);
          from = i;
          bytes = 0;
        }
        bytes += size;
      }
      if (from < outIds.size()) {
        sendReplies(from, outIds.size());
      }
    }
    outIds = new ArrayList<>();
    outReplies = new ArrayList<>();
    return this;
  }

  private void sendReplies(int from, int to) {
    long[] ids = new long[to - from];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = outIds.get(from + i);
    }
    front.tell(new ShardAnswer.Replies(incarnation, ids, outReplies.subList(from, to).toArray()));
  }

  private static int replyBytes(Object reply) {
    if (reply instanceof ImagesReply.Images l) {
      int bytes = 16;
      for (PageImage image : l.images()) {
        bytes += 9 + (image == null ? 0 : image.storedLength());
      }
      return bytes;
    }
    return 64;
  }

  /**
   * The shard goes to another node. With a front bound and its pages whole, they stay on this
   * node as a departure ({@link HostedShards}) for the next home to pull: the entity lets the
   * ops under way finish, sends their replies, declares the departure, tells the front where
   * the pages wait ({@link ShardAnswer.Departing}), and stops once the front noted it. Without a
   * front, or in the middle of an adoption (the pages are not all here), it stops at once and
   * its pages go with it: the front then counts them lost.
   */
  private Behavior<Command> handOff() {
    if (front == null || adoption != null) {
      if (adoption != null) {
        LOG.warn("shard {} of export {}: handed off while still taking its pages from {}; its pages are dropped",
            name, export, adoption.from.source().path().address());
      }
      return Behaviors.stopped();
    }
    leaving = true;
    return departWhenDrained();
  }

  private Behavior<Command> departWhenDrained() {
    if (departed || outstanding > 0) {
      return this;
    }
    departed = true;
    flush();
    hosted.tell(new HostedShards.Depart(getContext().getSelf(), incarnation, front));
    front.tell(new ShardAnswer.Departing(incarnation, hosted, getContext().getSelf()));
    timers.startSingleTimer(DepartTimeout.INSTANCE, DEPART_TIMEOUT);
    LOG.info("shard {} of export {} leaves this node; its pages wait here for its next home",
        name, export);
    return this;
  }

  /** Takes the pages of the departure {@code b} names, then carries out {@code b}. */
  private Behavior<Command> adopt(Batch b) {
    adoption = new Adoption(b, b.adopt());
    pull();
    return this;
  }

  private void pull() {
    adoption.from.source().tell(new HostedShards.Pull(adoption.from.incarnation(), adoption.nextSlot,
        getContext().getSelf()));
    timers.startSingleTimer(PullTimeout.INSTANCE, PULL_TIMEOUT);
  }

  /** The next images of the departed shard: stored here as they are, and the next asked for. */
  private Behavior<Command> pulled(Pulled p) {
    Adoption a = adoption;
    if (a == null || p.sourceIncarnation() != a.from.incarnation() || p.firstSlot() != a.nextSlot) {
      return this;
    }
    ActorRef<Command> self = getContext().getSelf();
    List<PageRequest> stores = new ArrayList<>();
    for (int i = 0; i < p.images().length; i++) {
      if (p.images()[i] != null) {
        int slot = p.firstSlot() + i;
        stores.add(new EngineCommand.Store(export, slot, p.images()[i],
            new Relay<>(reply -> self.tell(new AdoptStored(slot, reply)))));
      }
    }
    if (!stores.isEmpty()) {
      a.storing += stores.size();
      a.pages += stores.size();
      shard.tell(new TreeShard.Pages(stores));
    }
    a.nextSlot = p.firstSlot() + p.images().length;
    if (a.nextSlot >= TreeShard.PAGES || p.images().length == 0) {
      a.pulledAll = true;
      timers.cancel(PullTimeout.INSTANCE);
    } else {
      pull();
    }
    return adopted();
  }

  private Behavior<Command> adoptStored(AdoptStored s) {
    Adoption a = adoption;
    if (a == null) {
      return this;
    }
    a.storing--;
    if (!(s.reply() instanceof StoreReply.Stored)) {
      a.lost.set(s.slot());
    }
    return adopted();
  }

  /** Once every page is pulled and stored: the front hears of any page this pool refused, then the held batch runs. */
  private Behavior<Command> adopted() {
    Adoption a = adoption;
    if (!a.pulledAll || a.storing > 0) {
      return this;
    }
    adoption = null;
    adoptedFrom = a.from.incarnation();
    LOG.info("shard {} of export {}: took its {} pages from {} in {} ms{}", name,
        export, a.pages, a.from.source().path().address(), (System.nanoTime() - a.startNanos) / 1_000_000,
        a.lost.isEmpty() ? "" : "; " + a.lost.cardinality() + " did not fit this node's pool and are lost");
    if (!a.lost.isEmpty()) {
      front.tell(new ShardAnswer.PagesLost(incarnation, a.lost.stream().toArray()));
    }
    return batch(a.held);
  }

  /**
   * The departed shard's pages cannot be had: what came of them is dropped, and the held batch
   * is answered {@link ShardAnswer.Gone}, so the front counts every page of the shard lost.
   */
  private Behavior<Command> adoptionFailed(long sourceIncarnation, String reason) {
    Adoption a = adoption;
    if (a == null || sourceIncarnation != a.from.incarnation()) {
      return this;
    }
    adoption = null;
    adoptedFrom = a.from.incarnation();
    timers.cancel(PullTimeout.INSTANCE);
    LOG.error("shard {} of export {}: could not take its pages from {} ({}); they are lost",
        name, export, a.from.source().path().address(), reason);
    emptyShard();
    a.held.front().tell(new ShardAnswer.Gone(incarnation, a.held.batchId()));
    return this;
  }

  private Behavior<Command> getStats(GetStats g) {
    ActorRef<Command> self = getContext().getSelf();
    shard.tell(new TreeShard.GetStats(new Relay<ShardStats>(
        stats -> self.tell(new StatsReady(g.front(), g.requestId(), stats)))));
    return this;
  }

  private Behavior<Command> terminated(Terminated t) {
    if (t.getRef().equals(shard)) {
      throw new IllegalStateException("the tree shard of " + name + " stopped");
    }
    if (t.getRef().equals(front)) {
      LOG.info("shard {} of export {}: its front left the cluster; dropping its pages",
          name, export);
      emptyShard();
      front = null;
      boundRun = 0;
      lastBatch = 0;
      if (leaving) {
        // nothing to wait for: a departure is dropped by HostedShards, which watches the front too
        return Behaviors.stopped();
      }
    }
    return this;
  }
}
