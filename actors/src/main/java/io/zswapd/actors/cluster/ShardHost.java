package io.zswapd.actors.cluster;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.Terminated;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.support.EngineDispatcher;
import io.zswapd.actors.support.LocalRef;
import io.zswapd.actors.tree.ImagesReply;
import io.zswapd.actors.tree.ShardStats;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineCommand.PageRequest;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.PageImage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

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
      CodecKind codec, List<PageOp> ops) implements Command, ClusterMessage {}

  /** The tree shard's counters, answered with {@link ShardAnswer.Stats}. */
  public record GetStats(ActorRef<ShardAnswer> front, long requestId) implements Command, ClusterMessage {}

  private record Replied(long id, Object reply) implements Command {}

  private record StatsReady(ActorRef<ShardAnswer> front, long requestId, ShardStats stats) implements Command {}

  private enum Flush implements Command { INSTANCE }

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

  private record PoolReady(ClusterShards.PoolParts parts) implements Command {}

  /**
   * The entity for {@code entityId} ({@code front/export#shardIndex}): it asks its engine for the
   * pool ({@code poolParts}), holding what arrives meanwhile, then makes its tree shard there.
   */
  public static Behavior<Command> create(String entityId, Consumer<ActorRef<ClusterShards.PoolParts>> poolParts) {
    return Behaviors.withStash(100_000, stash -> Behaviors.setup(ctx -> {
      poolParts.accept(ctx.messageAdapter(ClusterShards.PoolParts.class, PoolReady::new));
      return Behaviors.receive(Command.class)
          .onMessage(PoolReady.class, r -> stash.unstashAll(Behaviors.setup(c -> new ShardHost(c,
              ClusterShards.exportOf(entityId), r.parts().compressor().kind(),
              c.spawn(TreeShard.create(r.parts().classes(), r.parts().geometry(), r.parts().compressor(), null, null,
                  null), "tree", EngineDispatcher.SAME)))))
          .onAnyMessage(m -> {
            stash.stash(m);
            return Behaviors.same();
          })
          .build();
    }));
  }

  private ShardHost(ActorContext<Command> ctx, String export, CodecKind codec, ActorRef<TreeShard.Command> shard) {
    super(ctx);
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

  /**
   * A reply-to inside the memory node: hands the tree shard's reply on ({@code relay}: as a
   * message to this host, or nowhere), never running a caller's code, so the shard tells it at once.
   */
  private static final class Relay<T> extends LocalRef<T> {
    private static final long serialVersionUID = 1L;
    private final transient Consumer<T> relay;

    Relay(Consumer<T> relay) {
      this.relay = relay;
    }

    @Override
    protected void receive(T message) {
      relay.accept(message);
    }

    @Override
    public boolean runsCallerCode() {
      return false;
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Batch.class, this::batch)
        .onMessage(Replied.class, this::replied)
        .onMessage(Flush.class, f -> flush())
        .onMessage(GetStats.class, this::getStats)
        .onMessage(StatsReady.class, s -> {
          s.front().tell(new ShardAnswer.Stats(incarnation, s.requestId(), s.stats().toArray()));
          return this;
        })
        .onSignal(Terminated.class, this::terminated)
        .build();
  }

  private Behavior<Command> batch(Batch b) {
    if (b.incarnation() != 0 && b.incarnation() != incarnation) {
      b.front().tell(new ShardAnswer.Gone(incarnation, b.batchId()));
      return this;
    }
    if (b.frontRun() != boundRun) {
      if (boundRun != 0 && b.incarnation() != 0) {
        return this; // a late batch of a run this shard has already left behind
      }
      if (boundRun != 0) { // a new run starts with incarnation 0: its front was restarted
        LOG.info("shard {} of export {}: a new run of its front; dropping the earlier run's pages",
            getContext().getSelf().path().name(), export);
        emptyShard();
      }
      bind(b.front(), b.frontRun());
    }
    b.front().tell(new ShardAnswer.Accepted(incarnation, b.batchId(), node));
    if (b.batchId() <= lastBatch) {
      return this; // a retransmission of a batch already taken
    }
    lastBatch = b.batchId();
    ActorRef<Command> self = getContext().getSelf();
    if (b.codec() != codec) {
      // the tree shard would decode the front's images with this node's codec: refuse, and say why
      EngineError mismatch = new EngineError(ErrorCode.INVALID, "the front compresses with " + b.codec()
          + " and this memory node's pool with " + codec + "; set the same zswapd.pool.compressor on every node");
      LOG.error("shard {} of export {}: {}", getContext().getSelf().path().name(), export, mismatch.message());
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
    if (front == null) {
      return this;
    }
    outIds.add(r.id());
    outReplies.add(r.reply());
    if (!flushSent) {
      flushSent = true;
      getContext().getSelf().tell(Flush.INSTANCE); // behind the replies already queued: one message for them all
    }
    return this;
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

  private Behavior<Command> getStats(GetStats g) {
    ActorRef<Command> self = getContext().getSelf();
    shard.tell(new TreeShard.GetStats(new Relay<ShardStats>(
        stats -> self.tell(new StatsReady(g.front(), g.requestId(), stats)))));
    return this;
  }

  private Behavior<Command> terminated(Terminated t) {
    if (t.getRef().equals(shard)) {
      throw new IllegalStateException("the tree shard of " + getContext().getSelf().path().name() + " stopped");
    }
    if (t.getRef().equals(front)) {
      LOG.info("shard {} of export {}: its front left the cluster; dropping its pages",
          getContext().getSelf().path().name(), export);
      emptyShard();
      front = null;
      boundRun = 0;
      lastBatch = 0;
    }
    return this;
  }
}
