package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorRefResolver;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import io.zswapd.actors.cluster.ClusterSerializer;
import io.zswapd.actors.cluster.ClusterShards;
import io.zswapd.actors.cluster.PageOp;
import io.zswapd.actors.cluster.ShardAnswer;
import io.zswapd.actors.cluster.ShardHost;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.codec.CorruptPageException;
import io.zswapd.actors.codec.SameFilledPage;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.metrics.RequestMetrics;
import io.zswapd.actors.support.LocalRef;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.ReadReply;
import io.zswapd.actors.writeback.WriteReply;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineCommand.PageRequest;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadRangeReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.RecompressResult;
import io.zswapd.protocol.engine.RemoteShardFigures;
import io.zswapd.protocol.engine.StoreReply;
import io.zswapd.protocol.engine.WritebackResult;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * A tree shard of an export placed on the cluster ({@code placement = cluster}), as its swap
 * type sees it: a local actor that speaks {@link TreeShard.Command}, while the shard itself (a
 * {@link ShardHost} and its tree shard) lives on a memory node that Cluster Sharding chose.
 *
 * <p><b>One batch in flight.</b> The requests that arrive are queued; when no batch
 * is in flight they leave as one {@link ShardHost.Batch}, each op with an id. The host accepts
 * it at once ({@link ShardAnswer.Accepted}), and only then does the next batch leave: so even
 * when the shard is started again on another node, batches are carried out in the order the
 * requests arrived. An unanswered batch is sent again every {@link #RETRANSMIT} (the host
 * ignores a batch id it has taken); replies come back in {@link ShardAnswer.Replies}, matched by
 * id to the caller's reply-to.
 *
 * <p><b>A lost shard never reads as zeros.</b> The host answers every batch with its
 * incarnation. When the node holding the shard is lost, Cluster Sharding starts the entity
 * again elsewhere, empty, and it answers the next batch {@link ShardAnswer.Gone}: every page
 * this front had stored there becomes <em>lost</em>, and a load or patch of a lost page is
 * answered {@link ErrorCode#NODE_LOST} (NBD EIO) until the page is written or trimmed again;
 * with a backing file it is served from its copy, and a patch is made here on the copy's bytes.
 * Requests of earlier batches still waiting for their replies are admitted again, in their
 * order, ahead of what queued behind them: a write the lost node took but never answered is
 * carried out on the new one, not failed.
 *
 * <p><b>A full pool.</b> With a backing file, a store the memory node's pool refuses
 * ({@code POOL_FULL}) is kept in the file only, as zswap sends a page its pool rejects to the swap
 * device: it is answered once its copy is in the file, and the page is then read from there
 * ({@link #keepInFile}). Until the node has answered a store, loads of its page are served from
 * the copy: the node may refuse it and still hold the older image.
 *
 * <p>Without a backing file nothing else keeps a copy: a lost node loses its pages, and a full
 * pool's refusal reaches the caller (docs/CLUSTER.md). Writeback (to make room on a node) and
 * recompression do not reach remote shards yet; the settings refuse recompression for a
 * clustered export.
 */
public final class RemoteShard extends AbstractBehavior<Object> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RemoteShard.class);

  /** How long a batch may wait for the host's acceptance before it is sent again. */
  static final Duration RETRANSMIT = Duration.ofSeconds(2);
  /** How long stats wait for a remote shard before its figures count as zeros. */
  static final Duration STATS_TIMEOUT = Duration.ofSeconds(3);
  /**
   * Most bytes one batch carries, its replies included: well inside Artery's 256 KiB frame
   * ({@code akka.remote.artery.advanced.maximum-frame-size}); one item always fits.
   */
  static final int BATCH_BYTES = 160 * 1024;
  /** Ranges longer than this travel in parts of this many pages (64 KiB of pages, loaded). */
  static final int PART_PAGES = 16;
  private static final int PAGE_BYTES = 4096;

  // Besides TreeShard.Command (from its senders and its swap type), it takes these: a behavior of Object, whose
  // reference the swap type narrows to TreeShard.Command.
  private record Answered(ShardAnswer answer) {}

  /** The fetch {@code fetch} of the parked patch's page met a node's loss: fetch it again. */
  private record RefetchPatch(long fetch) {}

  private enum Retransmit { INSTANCE }

  /**
   * Every {@link #RETRANSMIT}: if items the host accepted are still waiting, no batch is in
   * flight and no answer came since the last tick, an empty batch goes to the shard's home. A
   * host that died after accepting a connection's last requests is otherwise found only by the
   * next request, and a client whose every request waits (fio at its iodepth, the kernel's
   * queue) sends none: its requests would wait out the request timeout (EIO). The probe meets
   * the shard where it is now: the same host answers Accepted, a new incarnation Gone, and the
   * waiting items are carried out there.
   */
  private enum Watch { INSTANCE }

  private record StatsTimedOut(long requestId) {}

  private record CopyWritten(WriteReply reply) {}

  private record CopyRead(ReadReply reply) {}

  /** Copies restored to a new memory node at a time. */
  static final int RESTORES_IN_FLIGHT = 256;
  /**
   * Most bytes of page images a shard holds in memory while their backing-file writes are under
   * way; past it, the shard sends nothing more until the file catches up (backpressure that
   * reaches the NBD connections through their buffer-memory).
   */
  static final long COPY_BACKLOG = 512 * 1024;

  /**
   * The batch in flight: its items (ids {@code firstId}..), as sent ({@code size} bytes on the
   * wire), first at {@code sentNanos}.
   */
  private record InFlight(long batchId, long firstId, List<Item> items, ShardHost.Batch message, int size,
      long sentNanos) {}

  private final String export;
  private final long shardIndex;
  private final Runnable firstStore;
  /** A store has come: from then on every request goes to the memory node. */
  private boolean used;
  /** Closed ({@link TreeShard.Close}): every later request but {@code InvalidateArea} is refused. */
  private boolean closed;
  private final String shardName;
  private final long basePage;
  private final long frontRun;
  /**
   * The entity, looked up at the first send: the shard is made with its export, which may be
   * before this node has started Cluster Sharding.
   */
  private EntityRef<ShardHost.Command> host;
  private final ActorRef<ShardAnswer> answers;
  private final TimerScheduler<Object> timers;
  private final Executor dispatcher;
  /** The memory node holding the shard ({@code host:port}), "" until a batch was accepted there. */
  private String node = "";
  /** The host incarnation last heard from; 0 before the first answer. */
  private long incarnation;
  /** Where the shard's pages wait after its host announced a hand-off ({@link ShardAnswer.Departing}), or null. */
  private ShardHost.Adopt departure;
  /** The departure the next batch names, for the shard's next home to take the pages from, or null. */
  private ShardHost.Adopt adopt;
  /** The next batch goes even if empty: it reaches the shard's next home, which then takes the pages. */
  private boolean probe;
  /** Answers from the host so far, and at the last {@link Watch} tick: a probe only when none came between. */
  private long answersHeard;
  private long answersAtWatch;
  private long nextId = 1;
  private long nextBatch = 1;
  private InFlight inFlight;
  private List<Item> queued = new ArrayList<>();
  /** Items sent whose reply has not come, by op id. */
  private final Map<Long, Item> waiting = new HashMap<>();
  /** Pages (offsets in the shard) written to the current incarnation. */
  private final BitSet stored = new BitSet(TreeShard.PAGES);
  /**
   * Pages whose current contents are not on the memory node: they died with an earlier
   * incarnation, or its full pool refused them and they are kept in the backing file only.
   */
  private final BitSet lost = new BitSet(TreeShard.PAGES);
  private final Map<Long, ActorRef<ShardStats>> statsWaiting = new HashMap<>();
  private long nextStats = 1;
  private final List<Runnable> callerReplies = new ArrayList<>();
  private final CodecKind codec;
  private final RequestMetrics.RemoteInstruments metrics;
  /** The instruments of the memory node {@link #metricsNode}: those of the node last heard from. */
  private RequestMetrics.NodeInstruments nodeMetrics;
  private String metricsNode;
  /** Sizes messages as the serializer writes them (for the figures of bytes on the wire). */
  private final ActorRefResolver resolver;
  /** Bytes the batch in flight has put on the wire so far: once per send. */
  private long inFlightBytes;
  // the shard's own figures (RemoteShardFigures), over its life in this run of the front
  private long batches;
  private long batchNanos;
  private long bytesSent;
  private long bytesReceived;
  /** The pages' copies in the export's backing file, or null when it has none. */
  private final RemoteCopies copies;
  /**
   * With copies: the pages whose latest store, admitted with the copy generation mapped here,
   * has not been answered by the memory node. A load of such a page is served from its copy,
   * which is that store's image: the node may yet refuse the store (its pool full) and still hold
   * the page's older image.
   */
  private final Map<Integer, Integer> storesOut = new HashMap<>();
  /** A store has been kept in the backing file only (the memory node's pool full): said once. */
  private boolean keptInFile;
  /** Lost pages whose copies are to be stored on the shard's new memory node. */
  private final BitSet toRestore = new BitSet(TreeShard.PAGES);
  private int restoring;
  /** Lost pages whose restore is under way (its copy being read, or its store not answered yet). */
  private final BitSet restoringPages = new BitSet(TreeShard.PAGES);
  /**
   * With copies, a patch is made here ({@link #preparePatch}): the patch at the head, whose
   * page's bytes are being fetched, and the callers' items behind it, in arrival order, held
   * back so that nothing overtakes it. All came fresh: the items a re-homing admits again are
   * older, and admitted before these ({@link #hostLost}), and none of them is a patch.
   */
  private final ArrayDeque<Item> parked = new ArrayDeque<>();
  /** Counts the fetches of a patch's page: an answer to an older one is ignored. */
  private long patchFetch;
  private final PageCompressor compressor;

  /**
   * @param compressor the front's compressor: the images travel as it made them (the memory
   *                   nodes' pools must use its codec), and loaded images come back in it
   * @param backing    the export's backing store, which keeps a copy of every page, or null
   * @param firstStore run (on this actor's thread) at the shard's first store, as a
   *                   {@link TreeShard}'s: until then nothing has been sent to a memory node, and
   *                   loads and invalidations are answered here (zeros, nothing freed)
   */
  public static Behavior<Object> create(String export, long shardIndex, long frontRun, PageCompressor compressor,
      ActorRef<BackingStore.Command> backing, RequestMetrics.RemoteInstruments metrics, Runnable firstStore) {
    return Behaviors.withTimers(timers -> Behaviors.setup(ctx -> new RemoteShard(ctx, timers, export, shardIndex,
        frontRun, compressor, backing, metrics, firstStore)));
  }

  private RemoteShard(ActorContext<Object> ctx, TimerScheduler<Object> timers, String export,
      long shardIndex, long frontRun, PageCompressor compressor, ActorRef<BackingStore.Command> backing,
      RequestMetrics.RemoteInstruments metrics, Runnable firstStore) {
    super(ctx);
    this.firstStore = firstStore;
    this.metrics = metrics;
    this.timers = timers;
    this.codec = compressor.kind();
    this.compressor = compressor;
    this.copies = backing == null ? null : new RemoteCopies(backing,
        ctx.messageAdapter(WriteReply.class, CopyWritten::new), ctx.messageAdapter(ReadReply.class, CopyRead::new),
        compressor.kind(), shardIndex << TreeShard.PAGES_SHIFT);
    this.export = export;
    this.shardIndex = shardIndex;
    this.resolver = ActorRefResolver.get(ctx.getSystem());
    this.shardName = export + "#" + shardIndex;
    this.basePage = shardIndex << TreeShard.PAGES_SHIFT;
    this.frontRun = frontRun;
    this.answers = ctx.messageAdapter(ShardAnswer.class, Answered::new);
    this.dispatcher = ctx.getExecutionContext();
    timers.startTimerWithFixedDelay(Watch.INSTANCE, Watch.INSTANCE, RETRANSMIT);
  }

  @Override
  public Receive<Object> createReceive() {
    return newReceiveBuilder()
        .onMessage(TreeShard.Pages.class, this::pages)
        .onMessage(TreeShard.Close.class, m -> {
          closed = true;
          return this;
        })
        .onMessage(Answered.class, a -> answered(a.answer()))
        .onMessage(RefetchPatch.class, r -> {
          if (r.fetch() == patchFetch && !parked.isEmpty()) {
            preparePatch(parked.peekFirst());
          }
          sendNext();
          return replyToCallers();
        })
        .onMessage(Retransmit.class, r -> retransmit())
        .onMessage(Watch.class, w -> watch())
        .onMessage(TreeShard.GetStats.class, this::getStats)
        .onMessage(StatsTimedOut.class, this::statsTimedOut)
        .onMessage(CopyWritten.class, m -> {
          copies.written(m.reply()); // may answer stores kept in the file only
          sendNext();
          return replyToCallers();
        })
        .onMessage(CopyRead.class, m -> {
          copies.readDone(m.reply());
          sendNext();
          return replyToCallers();
        })
        .onMessage(TreeShard.MarkIdle.class, m -> this)
        .onMessage(TreeShard.Shrink.class, m -> {
          m.replyTo().tell(WritebackResult.NONE);
          return this;
        })
        .onMessage(TreeShard.Recompress.class, m -> {
          m.replyTo().tell(RecompressResult.NONE);
          return this;
        })
        .build();
  }

  private EntityRef<ShardHost.Command> host() {
    if (host == null) {
      host = ClusterShards.shard(getContext().getSystem(), export, shardIndex);
    }
    return host;
  }

  private Behavior<Object> pages(TreeShard.Pages p) {
    for (PageRequest r : p.requests()) {
      if (closed && !(r instanceof EngineCommand.InvalidateArea)) {
        dispatcher.execute(() -> r.refuse(EngineError.shutDown()));
        continue;
      }
      if (!used) {
        if (r instanceof EngineCommand.Store || r instanceof EngineCommand.StoreRange
            || r instanceof EngineCommand.Patch) {
          used = true;
          firstStore.run();
        } else {
          dispatcher.execute(() -> answerUnused(r));
          continue;
        }
      }
      for (Item item : Item.of(r, basePage)) {
        admit(item);
      }
    }
    sendNext();
    return replyToCallers();
  }

  /** A load or invalidation before the shard's first store: nothing is on a memory node yet. */
  private static void answerUnused(PageRequest r) {
    if (r instanceof EngineCommand.Load l) {
      l.replyTo().tell(new LoadReply.Loaded(l.pageIndex(), new byte[PAGE_BYTES]));
    } else if (r instanceof EngineCommand.LoadRange l) {
      l.replyTo().tell(new LoadRangeReply.LoadedRange(l.firstPage(), new byte[l.pageCount() * PAGE_BYTES]));
    } else { // an invalidation of any extent: nothing to free
      @SuppressWarnings("unchecked")
      ActorRef<InvalidateReply> to = (ActorRef<InvalidateReply>) r.replyTo();
      to.tell(new InvalidateReply.Invalidated(0));
    }
  }

  /**
   * What travels as one op: a whole request, or a part of a range of more than
   * {@link #PART_PAGES} pages (answered to the caller once every part has answered), so that no
   * op nor its reply outgrows a message.
   */
  private static final class Item {
    final PageRequest request;
    final Parent parent;
    final PageOp op;
    /** The pages (offsets in the shard) this item writes, forgets or reads. */
    final int from;
    final int count;
    /**
     * For an item of the shard's own (no caller: a copy restored to a new memory node, the read
     * after a patch, the free of a page kept in the file only): where its reply, or the
     * EngineError it was refused with, goes. A restore's page stays lost, and served from its
     * copy, until the store is answered.
     */
    final Consumer<Object> internal;
    /**
     * A caller's store on an export with copies: the generation of each of its pages' copies,
     * made when it was admitted (see {@link #storesOut}); else null.
     */
    int[] copyGenerations;
    /**
     * A read admitted while its pages were on the memory node, one of which the shard's new
     * home then could not take ({@link #pagesLost}): the node's answer (zeros for that page) is
     * not the page's, and the item is admitted again when it comes.
     */
    boolean reread;

    private Item(PageRequest request, Parent parent, PageOp op, int from, int count) {
      this(request, parent, op, from, count, null);
    }

    private Item(PageRequest request, Parent parent, PageOp op, int from, int count, Consumer<Object> internal) {
      this.request = request;
      this.parent = parent;
      this.op = op;
      this.from = from;
      this.count = count;
      this.internal = internal;
    }

    /** Whether the item reads its pages as they are on the node: a load, a range load, or a patch made there. */
    boolean reads() {
      return op instanceof PageOp.Load || op instanceof PageOp.LoadRange || op instanceof PageOp.Patch;
    }

    /** Bytes the item puts on the wire, its reply included: what a batch is capped by. */
    int weight() {
      if (op instanceof PageOp.Store s) {
        return 32 + s.image().storedLength();
      } else if (op instanceof PageOp.StoreRange s) {
        int bytes = 32;
        for (var image : s.images()) {
          bytes += 8 + image.storedLength();
        }
        return bytes;
      } else if (op instanceof PageOp.Patch p) {
        return 32 + p.bytes().length;
      } else if (op instanceof PageOp.Load || op instanceof PageOp.LoadRange) {
        return 32 + count * PAGE_BYTES;
      }
      return 32;
    }

    static List<Item> of(PageRequest r, long basePage) {
      if (r instanceof EngineCommand.StoreRange s && s.pages().length > PART_PAGES) {
        Parent parent = new Parent(r, s.firstPage(), s.pages().length, false);
        List<Item> parts = new ArrayList<>();
        for (int i = 0; i < s.pages().length; i += PART_PAGES) {
          int n = Math.min(PART_PAGES, s.pages().length - i);
          parts.add(new Item(r, parent, new PageOp.StoreRange(s.firstPage() + i,
              java.util.Arrays.copyOfRange(s.pages(), i, i + n)), (int) (s.firstPage() + i - basePage), n));
        }
        parent.remaining = parts.size();
        return parts;
      }
      if (r instanceof EngineCommand.LoadRange l && l.pageCount() > PART_PAGES) {
        Parent parent = new Parent(r, l.firstPage(), l.pageCount(), true);
        List<Item> parts = new ArrayList<>();
        for (int i = 0; i < l.pageCount(); i += PART_PAGES) {
          int n = Math.min(PART_PAGES, l.pageCount() - i);
          parts.add(new Item(r, parent, new PageOp.LoadRange(l.firstPage() + i, n),
              (int) (l.firstPage() + i - basePage), n));
        }
        parent.remaining = parts.size();
        return parts;
      }
      PageOp op = PageOp.of(r);
      int from;
      int count;
      if (op instanceof PageOp.Store s) {
        from = (int) (s.page() - basePage);
        count = 1;
      } else if (op instanceof PageOp.Patch p) {
        from = (int) (p.page() - basePage);
        count = 1;
      } else if (op instanceof PageOp.Load l) {
        from = (int) (l.page() - basePage);
        count = 1;
      } else if (op instanceof PageOp.StoreRange s) {
        from = (int) (s.firstPage() - basePage);
        count = s.images().length;
      } else if (op instanceof PageOp.LoadRange l) {
        from = (int) (l.firstPage() - basePage);
        count = l.pageCount();
      } else if (op instanceof PageOp.Invalidate i) {
        from = (int) (i.page() - basePage);
        count = 1;
      } else if (op instanceof PageOp.InvalidateRange i) {
        long first = Math.max(i.firstPage(), basePage);
        long end = Math.min(i.firstPage() + i.pageCount(), basePage + TreeShard.PAGES);
        from = (int) (first - basePage);
        count = (int) Math.max(0, end - first);
      } else {
        from = 0;
        count = TreeShard.PAGES;
      }
      return List.of(new Item(r, null, op, from, count));
    }
  }

  /** A range request sent in parts: answered when the last part has answered. */
  private static final class Parent {
    final PageRequest request;
    final long firstPage;
    final byte[] loaded;
    int remaining;
    EngineError error;
    long errorPage;

    Parent(PageRequest request, long firstPage, int pages, boolean load) {
      this.request = request;
      this.firstPage = firstPage;
      this.loaded = load ? new byte[pages * PAGE_BYTES] : null;
    }
  }

  /**
   * Queues an item for the next batch, or answers it here when it reads a lost page. Runs in
   * arrival order, so a store queued before a load of the same page makes the page readable.
   */
  private void admit(Item item) {
    admit(item, true);
  }

  /**
   * As {@link #admit(Item)}; {@code fresh} false for an item admitted again after its host was
   * lost, whose copy was already made when it first came.
   */
  private void admit(Item item, boolean fresh) {
    PageOp op = item.op;
    if (item.internal == null && (!parked.isEmpty() || copies != null && op instanceof PageOp.Patch)) {
      parked.add(item);
      if (parked.size() == 1) {
        preparePatch(item);
      }
      return;
    }
    boolean reads = item.reads();
    if (reads && item.internal == null) {
      int lostAt = lost.nextSetBit(item.from);
      boolean anyLost = lostAt >= 0 && lostAt < item.from + item.count;
      if (anyLost || copies != null && anyStoreOut(item)) {
        if (copies != null && !(op instanceof PageOp.Patch) && servableFromCopies(item)) {
          serveFromCopies(item);
          return;
        } else if (anyLost) {
          answer(item, null, lostError(basePage + lostAt), basePage + lostAt);
          return;
        } // else a store out whose copy the file refused: the node answers, after that store
      }
    }
    if (item.internal != null && !reads) { // the shard's own store (a restore) or invalidation: no caller's page changes
      queued.add(item);
      return;
    }
    if (op instanceof PageOp.Store || op instanceof PageOp.StoreRange || op instanceof PageOp.Patch) {
      stored.set(item.from, item.from + item.count);
      lost.clear(item.from, item.from + item.count);
      toRestore.clear(item.from, item.from + item.count);
    } else if (op instanceof PageOp.Invalidate || op instanceof PageOp.InvalidateRange
        || op instanceof PageOp.InvalidateArea) {
      stored.clear(item.from, item.from + item.count);
      lost.clear(item.from, item.from + item.count);
      toRestore.clear(item.from, item.from + item.count);
    }
    queued.add(item);
    if (copies != null && fresh && item.internal == null) {
      copy(item);
    }
  }

  /** Keeps the backing-file copy in step with an admitted item. */
  private void copy(Item item) {
    PageOp op = item.op;
    if (op instanceof PageOp.Store || op instanceof PageOp.StoreRange) {
      PageImage[] images = op instanceof PageOp.Store s ? new PageImage[] {s.image()} : ((PageOp.StoreRange) op).images();
      item.copyGenerations = new int[images.length];
      for (int i = 0; i < images.length; i++) {
        int offset = item.from + i;
        copies.stored(offset, images[i]);
        item.copyGenerations[i] = copies.generation(offset);
        storesOut.put(offset, item.copyGenerations[i]);
      }
    } else if (op instanceof PageOp.Invalidate || op instanceof PageOp.InvalidateRange
        || op instanceof PageOp.InvalidateArea) {
      for (int i = item.from; i < item.from + item.count; i++) {
        copies.forget(i);
        storesOut.remove(i);
      }
    }
  }

  /** Whether the page's latest admitted store is still unanswered by its memory node ({@link #storesOut}). */
  private boolean storeOut(int offset) {
    Integer generation = storesOut.get(offset);
    return generation != null && generation == copies.generation(offset);
  }

  private boolean anyStoreOut(Item item) {
    if (storesOut.isEmpty()) {
      return false;
    }
    for (int p = item.from; p < item.from + item.count; p++) {
      if (storeOut(p)) {
        return true;
      }
    }
    return false;
  }

  /** A caller's store was answered: its pages' stores are out no more (unless stored again since). */
  private void storeAnswered(Item item) {
    for (int i = 0; i < item.count; i++) {
      storesOut.remove(item.from + i, item.copyGenerations[i]);
    }
  }

  /**
   * The memory node refused a caller's store because its pool is full ({@code POOL_FULL}): the
   * pages are kept in the backing file only, as zswap sends a page its pool rejects to the swap
   * device. Each page whose copy is still this store's waits for the copy to reach its slot; it
   * is then no longer on the memory node ({@link #lost}: read from its copy, and stored there
   * again when the shard next moves), its older image there is freed, and the store is answered
   * done. A copy the file refused too (it is full or failing) leaves the refusal standing
   * (ENOSPC). A page stored or trimmed again since is left to that later request.
   */
  private void keepInFile(Item item, StoreReply.Refused refused) {
    int[] remaining = {item.count};
    boolean[] failed = {false};
    for (int i = 0; i < item.count; i++) {
      int offset = item.from + i;
      int generation = item.copyGenerations[i];
      copies.whenKept(offset, generation, inFile -> {
        if (copies.generation(offset) == generation) {
          storesOut.remove(offset, generation);
          if (inFile) {
            inFileOnly(offset);
          } else {
            failed[0] = true;
          }
        }
        if (--remaining[0] == 0) {
          answer(item, failed[0] ? refused : new StoreReply.Stored(basePage + item.from), null, 0);
          sendNext();
        }
      });
    }
  }

  /** The page's current image is only in its copy: read from there, its older image on the node freed. */
  private void inFileOnly(int offset) {
    if (!keptInFile) {
      keptInFile = true;
      LOG.warn("shard {} of export {}: the pool of memory node {} is full; pages it refuses are kept in the backing "
          + "file only and read from there (zswapd_remote_pages_to_file_total counts them)", shardName, export, node);
    }
    metrics.pagesToFile().increment();
    if (restoringPages.get(offset)) {
      return; // the shard moved meanwhile, and this image is being restored to its new node: that decides
    }
    stored.clear(offset);
    lost.set(offset);
    queued.add(new Item(null, null, new PageOp.Invalidate(basePage + offset), offset, 1, reply -> { }));
  }

  /** Whether every page of a read item can come from the copies (or is a page never written). */
  private boolean servableFromCopies(Item item) {
    for (int p = item.from; p < item.from + item.count; p++) {
      if (!copies.has(p) && (lost.get(p) || stored.get(p))) {
        return false;
      }
    }
    return true;
  }

  /** Answers a load or range load of lost pages from their copies in the backing file. */
  private void serveFromCopies(Item item) {
    long first = basePage + item.from;
    if (item.op instanceof PageOp.Load) {
      copies.read(item.from, page -> answer(item, page == null ? null : new LoadReply.Loaded(first, page),
          page == null ? copyError(first) : null, first));
      return;
    }
    byte[] pages = new byte[item.count * PAGE_BYTES];
    int[] remaining = {item.count};
    EngineError[] failed = {null};
    for (int i = 0; i < item.count; i++) {
      int at = i;
      Consumer<byte[]> done = page -> {
        if (page == null && failed[0] == null) {
          failed[0] = copyError(first + at);
        } else if (page != null) {
          System.arraycopy(page, 0, pages, at * PAGE_BYTES, PAGE_BYTES);
        }
        if (--remaining[0] == 0) {
          answer(item, failed[0] == null ? new LoadRangeReply.LoadedRange(first, pages) : null, failed[0], first);
        }
      };
      if (copies.has(item.from + i)) {
        copies.read(item.from + i, done);
      } else {
        done.accept(new byte[PAGE_BYTES]); // never written: zeros
      }
    }
  }

  private EngineError copyError(long page) {
    return new EngineError(ErrorCode.IO_ERROR, "page " + page + " of export \"" + export
        + "\": its memory node was lost and its copy in the backing file could not be read");
  }

  /**
   * Stores the copies of lost pages on the shard's new memory node, {@link #RESTORES_IN_FLIGHT}
   * at a time. A page stays lost (served from its copy) until its restore is answered; a store
   * or trim of the page meanwhile wins (its generation moves on, the restore is dropped).
   */
  private void restoreNext() {
    while (restoring < RESTORES_IN_FLIGHT) {
      int offset = toRestore.nextSetBit(0);
      if (offset < 0) {
        return;
      }
      toRestore.clear(offset);
      restore(offset);
    }
  }

  /**
   * Restores one lost page from its copy, unless it needs none (written or trimmed since, no
   * copy) or its restore is already under way. One cut short by a re-homing is started again by
   * {@link #restoreLost}.
   */
  private void restore(int offset) {
    if (!lost.get(offset) || !copies.has(offset) || restoringPages.get(offset)) {
      return;
    }
    int generation = copies.generation(offset);
    restoring++;
    restoringPages.set(offset);
    copies.image(offset, image -> {
      if (image == null || !lost.get(offset) || copies.generation(offset) != generation) {
        restoreEnded(offset);
        return;
      }
      admit(new Item(null, null, new PageOp.Store(basePage + offset, image), offset, 1, reply -> {
        if (reply instanceof StoreReply.Stored && copies.generation(offset) == generation && lost.get(offset)) {
          lost.clear(offset);
          stored.set(offset);
          metrics.pagesRestored().increment();
        }
        restoreEnded(offset);
      }));
      sendNext();
    });
  }

  /** After a re-homing: every lost page with a copy is restored, those whose restore it cut short included. */
  private void restoreLost() {
    if (copies != null) {
      toRestore.or(lost);
      restoreNext();
    }
  }

  private void restoreEnded(int offset) {
    restoring--;
    restoringPages.clear(offset);
    restoreNext();
  }

  /**
   * Makes a patch here, when the export keeps copies: so that the page a memory node holds is
   * always the image its copy was made from. The page's bytes come from its memory node (a load
   * queued behind what came before), from its copy when its node was lost, or are zeros when
   * it was never written; the patched page is then admitted as a store of the caller's, and the
   * items parked behind it follow. A page lost without a copy is refused NODE_LOST, as a load.
   * (Without copies the memory node patches the page itself.)
   */
  private void preparePatch(Item item) {
    long fetch = ++patchFetch;
    int offset = item.from;
    if (lost.get(offset) || storeOut(offset) && copies.has(offset)) {
      if (!copies.has(offset)) {
        patchReady(item, null, lostError(basePage + offset));
        return;
      }
      copies.read(offset, page -> {
        if (fetch == patchFetch) {
          patchReady(item, page, page == null ? copyError(basePage + offset) : null);
        }
      });
    } else if (stored.get(offset)) {
      Item load = new Item(null, null, new PageOp.Load(basePage + offset), offset, 1);
      queued.add(new Item(null, null, load.op, offset, 1, reply -> {
        if (fetch != patchFetch) {
          return;
        }
        if (reply instanceof ImagesReply images) {
          Object loaded = loaded(load, images); // decompressed here, as a caller's load
          if (loaded instanceof LoadReply.Loaded l) {
            patchReady(item, l.page(), null);
          } else {
            patchReady(item, null, ((LoadReply.LoadFailed) loaded).error());
          }
        } else if (reply instanceof EngineError e && e.code() == ErrorCode.NODE_LOST) {
          // its node was lost or handed the shard off first: fetch again (from here, not
          // inside the re-homing that answered this)
          getContext().getSelf().tell(new RefetchPatch(fetch));
        } else {
          patchReady(item, null, reply instanceof EngineError e ? e
              : new EngineError(ErrorCode.IO_ERROR, "unexpected answer to a patch's load: " + reply));
        }
      }));
    } else {
      patchReady(item, new byte[PAGE_BYTES], null);
    }
  }

  /**
   * The parked patch {@code item} has its page's bytes ({@code base}), or failed with
   * {@code error}: it is admitted as a store (or refused), then the items parked behind it.
   */
  private void patchReady(Item item, byte[] base, EngineError error) {
    patchFetch++;
    List<Item> behind = new ArrayList<>(parked);
    parked.clear();
    behind.remove(0); // the patch
    if (error != null) {
      answer(item, null, error, basePage + item.from);
    } else {
      PageOp.Patch p = (PageOp.Patch) item.op;
      System.arraycopy(p.bytes(), 0, base, p.offset(), p.bytes().length);
      admit(new Item(item.request, item.parent, new PageOp.Store(p.page(), compressor.compress(base, 0)), item.from,
          1), true); // a new image: its copy is made at admission
    }
    for (Item next : behind) {
      admit(next, true); // a patch among them parks again, and all behind it
    }
    sendNext();
  }

  /**
   * An item's answer: {@code reply} from the memory node, or (reply null) a refusal with
   * {@code error} at {@code errorPage}. A whole request is answered at once; a part waits for
   * its siblings.
   */
  private void answer(Item item, Object reply, EngineError error, long errorPage) {
    if (item.internal != null) {
      item.internal.accept(reply != null ? reply : error);
      return;
    }
    if (item.parent == null) {
      if (reply != null) {
        reply(item.request, reply);
      } else {
        refuse(item.request, error);
      }
      return;
    }
    Parent parent = item.parent;
    if (reply instanceof LoadRangeReply.LoadedRange l) {
      System.arraycopy(l.pages(), 0, parent.loaded, (int) (l.firstPage() - parent.firstPage) * PAGE_BYTES,
          l.pages().length);
    } else if (reply instanceof LoadRangeReply.LoadRangeFailed f) {
      error = f.error();
      errorPage = f.firstPage();
    } else if (reply instanceof StoreReply.Refused f) {
      error = f.error();
      errorPage = f.pageIndex();
    }
    if (error != null && (parent.error == null || errorPage < parent.errorPage)) {
      parent.error = error;
      parent.errorPage = errorPage;
    }
    if (--parent.remaining > 0) {
      return;
    }
    if (parent.loaded != null) {
      reply(parent.request, parent.error == null
          ? new LoadRangeReply.LoadedRange(parent.firstPage, parent.loaded)
          : new LoadRangeReply.LoadRangeFailed(parent.firstPage, parent.error));
    } else {
      reply(parent.request, parent.error == null
          ? new StoreReply.Stored(parent.firstPage)
          : new StoreReply.Refused(parent.errorPage, parent.error));
    }
  }

  /**
   * A load's answer: the images the memory node's pool keeps, decompressed here (so loaded
   * pages cross the network compressed), as the reply the caller's load expects.
   */
  private Object loaded(Item item, ImagesReply reply) {
    long first = basePage + item.from;
    boolean single = item.op instanceof PageOp.Load;
    EngineError error = null;
    byte[] pages = new byte[item.count * PAGE_BYTES];
    if (reply instanceof ImagesReply.ImagesFailed f) {
      error = f.error();
    } else {
      PageImage[] images = ((ImagesReply.Images) reply).images();
      if (images.length != item.count) {
        error = new EngineError(ErrorCode.IO_ERROR, "the memory node of shard " + shardName + " answered "
            + images.length + " pages for a load of " + item.count);
      }
      for (int i = 0; error == null && i < images.length; i++) {
        try {
          toPage(images[i], pages, i * PAGE_BYTES);
        } catch (CorruptPageException e) {
          error = new EngineError(ErrorCode.CORRUPT, "page " + (first + i) + " from the memory node of shard "
              + shardName + " does not decompress: " + e.getMessage());
        }
      }
    }
    if (single) {
      return error == null ? new LoadReply.Loaded(first, pages) : new LoadReply.LoadFailed(first, error);
    }
    return error == null ? new LoadRangeReply.LoadedRange(first, pages) : new LoadRangeReply.LoadRangeFailed(first, error);
  }

  /** Writes the page {@code image} holds at {@code pages[at..]}; a null image (never written) leaves zeros. */
  private void toPage(PageImage image, byte[] pages, int at) {
    if (image instanceof PageImage.SameFilled w) {
      SameFilledPage.fill(w.word(), pages, at, PAGE_BYTES);
    } else if (image instanceof PageImage.Compressed c) {
      PageCompressor.decompress(c.bytes(), 0, c.bytes().length, codec, pages, at);
    } else if (image instanceof PageImage.Raw r) {
      System.arraycopy(r.bytes(), 0, pages, at, PAGE_BYTES);
    }
  }

  private EngineError lostError(long page) {
    return new EngineError(ErrorCode.NODE_LOST, "page " + page + " of export \"" + export
        + "\" was on a memory node that left the cluster (shard " + shardName + "); write it again to use it");
  }

  /**
   * Sends the next batch when none is in flight: queued items up to {@link #BATCH_BYTES}, at least
   * one; or none, to reach the shard where it is now (after a departure, {@link #probe}) or to
   * name the departure its pages wait in ({@link #adopt}).
   */
  private void sendNext() {
    if (inFlight != null || (queued.isEmpty() && adopt == null && !probe)) {
      return;
    }
    if (copies != null && copies.unwrittenBytes() > COPY_BACKLOG) {
      return; // the backing file is behind: the next batch waits for its copies (CopyWritten)
    }
    List<Item> items = new ArrayList<>();
    int bytes = 0;
    int taken = 0;
    while (taken < queued.size()) {
      Item item = queued.get(taken);
      int weight = item.weight();
      if (!items.isEmpty() && bytes + weight > BATCH_BYTES) {
        break;
      }
      items.add(item);
      bytes += weight;
      taken++;
    }
    queued = taken == queued.size() ? new ArrayList<>() : new ArrayList<>(queued.subList(taken, queued.size()));
    List<PageOp> ops = new ArrayList<>(items.size());
    long firstId = nextId;
    for (Item item : items) {
      ops.add(item.op);
      waiting.put(nextId++, item);
    }
    long batchId = nextBatch++;
    ShardHost.Batch message = new ShardHost.Batch(answers, frontRun, incarnation, batchId, firstId, codec, ops, adopt);
    adopt = null; // the batch carries it, and so does every retransmission of it
    probe = false;
    int size = ClusterSerializer.wireSize(message, resolver);
    inFlight = new InFlight(batchId, firstId, items, message, size, System.nanoTime());
    inFlightBytes = 0;
    send(message, size);
    timers.startSingleTimer(Retransmit.INSTANCE, Retransmit.INSTANCE, RETRANSMIT);
  }

  private Behavior<Object> watch() {
    if (inFlight == null && !waiting.isEmpty() && answersHeard == answersAtWatch) {
      LOG.debug("shard {}: {} items waiting and nothing heard for {}; probing its home", shardName, waiting.size(),
          RETRANSMIT);
      probe = true;
      sendNext();
    }
    answersAtWatch = answersHeard;
    return this;
  }

  private Behavior<Object> retransmit() {
    if (inFlight != null) {
      LOG.debug("shard {}: batch {} not yet accepted; sending it again", shardName,
          inFlight.batchId());
      send(inFlight.message(), inFlight.size());
      timers.startSingleTimer(Retransmit.INSTANCE, Retransmit.INSTANCE, RETRANSMIT);
    }
    return this;
  }

  /**
   * Sends the batch in flight (again): its bytes count for the node that accepts it, or for
   * the unknown node ("") when the shard turns out to have started again elsewhere.
   */
  private void send(ShardHost.Batch message, int size) {
    inFlightBytes += size;
    bytesSent += size;
    host().tell(message);
  }

  /** The instruments of the memory node the shard is on now ("" while it is not known). */
  private RequestMetrics.NodeInstruments nodeMetrics() {
    if (nodeMetrics == null || !metricsNode.equals(node)) {
      nodeMetrics = metrics.node(node);
      metricsNode = node;
    }
    return nodeMetrics;
  }

  /** A batch in flight that no node carried out: its bytes went to a node not known. */
  private void unaccepted() {
    metrics.node("").bytesSent().increment(inFlightBytes);
    inFlightBytes = 0;
  }

  private Behavior<Object> answered(ShardAnswer a) {
    answersHeard++;
    int size = ClusterSerializer.wireSize(a, resolver);
    bytesReceived += size;
    if (a instanceof ShardAnswer.Accepted acc && inFlight != null && acc.batchId() == inFlight.batchId()) {
      node = acc.node();
    }
    nodeMetrics().bytesReceived().increment(size);
    if (a instanceof ShardAnswer.Accepted acc) {
      if (inFlight != null && acc.batchId() == inFlight.batchId()) {
        if (incarnation == 0) {
          incarnation = acc.incarnation();
        }
        long nanos = System.nanoTime() - inFlight.sentNanos();
        nodeMetrics().batchLatency().record(nanos);
        nodeMetrics().bytesSent().increment(inFlightBytes);
        inFlightBytes = 0;
        batches++;
        batchNanos += nanos;
        inFlight = null;
        timers.cancel(Retransmit.INSTANCE);
        sendNext();
      }
    } else if (a instanceof ShardAnswer.Gone gone) {
      if (inFlight != null && gone.batchId() == inFlight.batchId()) {
        unaccepted();
        if (departure != null && departure.incarnation() == incarnation) {
          handedOff(gone.incarnation());
        } else {
          hostLost(gone.incarnation());
        }
      }
    } else if (a instanceof ShardAnswer.Departing d) {
      if (d.incarnation() == incarnation) {
        LOG.info("shard {} of export {} leaves memory node {}; its pages wait there for its next home", shardName,
            export, node);
        departure = new ShardHost.Adopt(d.source(), d.incarnation());
        probe = true; // even with nothing to send: the next home starts and takes the pages now
        sendNext();
      }
      ShardHost.DepartureNoted noted = new ShardHost.DepartureNoted(d.incarnation());
      countSent(noted);
      d.host().tell(noted);
    } else if (a instanceof ShardAnswer.PagesLost l) {
      if (l.incarnation() == incarnation) {
        pagesLost(l.offsets());
      }
    } else if (a instanceof ShardAnswer.Replies r) {
      if (r.incarnation() == incarnation) {
        for (int i = 0; i < r.ids().length; i++) {
          Item item = waiting.remove(r.ids()[i]);
          if (item != null) {
            Object reply = r.replies()[i];
            if (item.reread) {
              reread(item);
              continue;
            }
            if (item.copyGenerations != null) {
              if (reply instanceof StoreReply.Refused f && f.error().code() == ErrorCode.POOL_FULL) {
                keepInFile(item, f);
                continue;
              }
              storeAnswered(item);
            }
            answer(item, reply instanceof ImagesReply images && item.internal == null ? loaded(item, images) : reply,
                null, 0);
          }
        }
      }
    } else if (a instanceof ShardAnswer.Stats s) {
      ActorRef<ShardStats> to = statsWaiting.remove(s.requestId());
      if (to != null) {
        ShardStats figures = ShardStats.of(s.figures());
        to.tell(figures.withRemote(figures(figures)));
      }
    }
    return replyToCallers();
  }

  /**
   * The shard was started again elsewhere ({@code newIncarnation}) after its host handed it
   * off: its pages wait on the node it left. The batch in flight goes again, to the new
   * incarnation, naming the departure, and the new host takes the pages before it carries the
   * batch out; so nothing is lost, and every request keeps its order.
   */
  private void handedOff(long newIncarnation) {
    LOG.info("shard {} of export {} starts again on another memory node, which takes its pages over", shardName,
        export);
    adopt = departure;
    departure = null;
    // the host answered every op it took before it departed: nothing else is coming
    List<Item> again = newIncarnation(newIncarnation, "handed it off before answering");
    again.addAll(queued);
    queued = again;
    restoreLost();
    sendNext();
  }

  /**
   * Turns to the shard's new incarnation. The callers' items still waiting for a reply from the
   * old one (it took them, and may or may not have carried them out before it was lost) and the
   * batch in flight, which it never took, are handed back in their order, to be admitted again
   * ahead of the queue: a store goes to the new host, a load of a page that was lost is served
   * from its copy or answered {@code NODE_LOST} at admission. The shard's own waiting items (a
   * restore) fail ({@code NODE_LOST}, the memory node "{@code why}"), and their owner retries.
   */
  private List<Item> newIncarnation(long newIncarnation, String why) {
    incarnation = newIncarnation;
    node = "";
    timers.cancel(Retransmit.INSTANCE);
    List<Item> again = new ArrayList<>(inFlight.items());
    for (int i = 0; i < again.size(); i++) {
      waiting.remove(inFlight.firstId() + i);
    }
    inFlight = null;
    EngineError gone = new EngineError(ErrorCode.NODE_LOST, "the memory node holding shard " + shardName + " "
        + why);
    List<Item> earlier = new ArrayList<>();
    for (Item item : new TreeMap<>(waiting).values()) { // in id order: the order they came
      if (item.internal == null) {
        earlier.add(item); // a caller's request: carried out again, in its order, by the new host
      } else {
        answer(item, null, gone, basePage + item.from); // the shard's own (a restore): its owner retries
      }
    }
    waiting.clear();
    earlier.addAll(again);
    return earlier;
  }

  /** Pages the shard's new home could not take over: lost, as on a lost node (copies restore them). */
  private void pagesLost(int[] offsets) {
    int count = 0;
    BitSet now = new BitSet(TreeShard.PAGES);
    for (int offset : offsets) {
      if (stored.get(offset)) {
        stored.clear(offset);
        lost.set(offset);
        now.set(offset);
        count++;
      }
    }
    // reads admitted before this, still to be answered by the node, would get zeros for these pages
    List<Item> unanswered = new ArrayList<>(waiting.values());
    if (inFlight != null) {
      unanswered.addAll(inFlight.items());
    }
    unanswered.addAll(queued);
    for (Item item : unanswered) {
      int at = now.nextSetBit(item.from);
      if (item.reads() && at >= 0 && at < item.from + item.count) {
        item.reread = true;
      }
    }
    LOG.warn("shard {} of export {}: {} pages did not fit its new memory node and are {}", shardName, export, count,
        copies == null ? "lost (loads answer NODE_LOST, EIO, until rewritten)" : "served from their copies");
    metrics.pagesLost().increment(count);
    if (copies != null) {
      for (int offset : offsets) {
        if (lost.get(offset)) {
          toRestore.set(offset);
        }
      }
      restoreNext();
    }
  }

  /**
   * A read whose page was lost after it was admitted, answered by the node: admitted again, so
   * that it is served from the page's copy or refused {@code NODE_LOST}, as one admitted after
   * the loss is. The shard's own read (a patch's fetch) is refused {@code NODE_LOST}, and fetches
   * again.
   */
  private void reread(Item item) {
    item.reread = false;
    if (item.internal == null) {
      admit(item, false);
    } else {
      answer(item, null, lostError(basePage + item.from), basePage + item.from);
    }
    sendNext();
  }

  /**
   * The shard was started again elsewhere ({@code newIncarnation}): what it held is gone. The
   * pages written to it become lost, and the items of earlier batches still waiting and the batch
   * in flight are admitted again, in their order, ahead of what queued behind them.
   */
  private void hostLost(long newIncarnation) {
    if (stored.isEmpty()) {
      // nothing to lose: one line per shard of a lost node would be noise among the ones that held pages
      LOG.info("shard {} of export {} was started again on another memory node; it held no pages", shardName,
          export);
    } else if (copies == null) {
      LOG.warn("shard {} of export {} was started again on another memory node: {} pages written "
          + "to it are lost (loads answer NODE_LOST, EIO, until rewritten)", shardName, export, stored.cardinality());
    } else {
      LOG.warn("shard {} of export {} was started again on another memory node: {} pages written to it are "
          + "served from their copies in the backing file and stored there again", shardName, export,
          stored.cardinality());
    }
    metrics.pagesLost().increment(stored.cardinality());
    lost.or(stored);
    stored.clear();
    List<Item> again = newIncarnation(newIncarnation, "left the cluster before answering");
    List<Item> behind = queued;
    queued = new ArrayList<>();
    List<Item> held = new ArrayList<>(parked); // the newest: after the items admitted again
    parked.clear();
    patchFetch++; // its page may be lost now: the patch at their head fetches it again
    again.forEach(item -> admit(item, false));
    behind.forEach(item -> admit(item, false));
    held.forEach(item -> admit(item, true));
    restoreLost();
    sendNext();
  }

  private Behavior<Object> getStats(TreeShard.GetStats g) {
    long id = nextStats++;
    statsWaiting.put(id, g.replyTo());
    ShardHost.GetStats ask = new ShardHost.GetStats(answers, id);
    countSent(ask);
    host().tell(ask);
    timers.startSingleTimer(new StatsTimedOut(id), STATS_TIMEOUT);
    return this;
  }

  private Behavior<Object> statsTimedOut(StatsTimedOut t) {
    ActorRef<ShardStats> to = statsWaiting.remove(t.requestId());
    if (to != null) {
      // the cluster logs the unreachable node itself; stats are asked every metrics tick
      LOG.debug("shard {} of export {}: no stats from its memory node within {}; counted as zeros",
          shardName, export, STATS_TIMEOUT);
      to.tell(ShardStats.ZERO.withRemote(figures(ShardStats.ZERO)));
    }
    return this;
  }

  /** The shard's own figures, with the memory figures of {@code held} (from its memory node). */
  private RemoteShardFigures figures(ShardStats held) {
    return new RemoteShardFigures(shardIndex, node, held.storedPages(), held.comprBytes(), batches, batchNanos,
        bytesSent, bytesReceived);
  }

  /** Counts a message other than a batch as sent to the memory node the shard is on. */
  private void countSent(Object message) {
    int size = ClusterSerializer.wireSize(message, resolver);
    bytesSent += size;
    nodeMetrics().bytesSent().increment(size);
  }

  /**
   * Hands a reply to its caller: at once to actors and stage callbacks, from one task per turn to
   * a reply-to that runs the caller's code (a future), never on this actor's thread.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private void reply(PageRequest r, Object reply) {
    toCaller(r, () -> ((ActorRef) r.replyTo()).tell(reply));
  }

  private void refuse(PageRequest r, EngineError error) {
    toCaller(r, () -> r.refuse(error));
  }

  private void toCaller(PageRequest r, Runnable send) {
    if (r.replyTo() instanceof LocalRef<?> local && local.runsCallerCode()) {
      callerReplies.add(send);
    } else {
      send.run();
    }
  }

  private Behavior<Object> replyToCallers() {
    if (!callerReplies.isEmpty()) {
      List<Runnable> batch = List.copyOf(callerReplies);
      callerReplies.clear();
      dispatcher.execute(() -> batch.forEach(Runnable::run));
    }
    return this;
  }
}
