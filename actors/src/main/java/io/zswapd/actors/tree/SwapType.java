package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.ChildFailed;
import akka.actor.typed.Terminated;
import io.zswapd.actors.support.EngineActorFailure;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.support.EngineDispatcher;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.writeback.BackingIo;
import io.zswapd.actors.writeback.BackingStats;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.protocol.engine.BackingFigures;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import java.util.Optional;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.Gather;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadRangeReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.RecompressFigures;
import io.zswapd.protocol.engine.RecompressResult;
import io.zswapd.protocol.engine.RemoteShardFigures;
import io.zswapd.protocol.engine.StoreReply;
import java.time.Duration;
import io.zswapd.actors.metrics.RequestMetrics;
import java.util.ArrayList;
import kamon.metric.Histogram;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * One export (a zswap "swap type"), and the one route of its page requests: it checks bounds
 * and permissions, and passes each request on to the {@link TreeShard} that owns its 64 MiB
 * range, creating shards on first use. Ranges must lie inside one shard; invalidations are
 * split at shard boundaries and their answers gathered.
 *
 * <p><b>Batches.</b> Requests are not passed on one by one: during one turn of its mailbox the
 * swap type gathers each shard's requests, in arrival order, and the first request of a turn
 * sends the swap type a {@link Flush}, which arrives behind the requests already queued; it
 * sends each shard what it gathered as one {@link TreeShard.Pages}. A caller that sends many
 * requests at once (an NBD connection decoding a full read, an application with many pages in
 * flight) so costs each shard one message per turn, and a lone request waits for nothing but
 * its own flush: no timer.
 *
 * <p>The swap type holds no page state; it is the parent of its shards and the only sender of
 * their page requests, so once it is closed ({@link Close}) no request can reach a shard after
 * the invalidation that follows.
 */
public final class SwapType extends AbstractBehavior<SwapType.Command> {

  public sealed interface Command {}

  /**
   * Page requests for this export, served in list order: one from the embedded API, all that an
   * NBD connection decoded in one pass from another.
   */
  public record Pages(List<? extends EngineCommand.PageRequest> requests) implements Command {
    /** One request. */
    public static Pages of(EngineCommand.PageRequest request) {
      return new Pages(List.of(request));
    }
  }

  /** Send every shard the requests gathered for it this turn. */
  private enum Flush implements Command { INSTANCE }

  public record GetStats(ActorRef<ExportStats> replyTo) implements Command {}

  /**
   * The export is closing (engine shutdown, export removal): refuse every later page request
   * with SHUTTING_DOWN. Only an {@code InvalidateArea}, which the closer sends next, still goes
   * through.
   */
  public record Close() implements Command {}

  /** Write back up to {@code maxPages} pages (spread over the shards) chosen by {@code mode}. */
  public record Shrink(int maxPages, WritebackMode mode, ActorRef<WritebackResult> replyTo) implements Command {}

  /** Start a new idle period: pages not touched from now on count as idle. */
  public record MarkIdle() implements Command {}

  /**
   * Recompress the pages {@code selection} names with the export's second codec. With
   * {@code pagesPerSecond} 0 (on demand) every shard works at once; with a rate (a background
   * pass) one shard at a time, each at that rate, so the pass never takes more. Answered with
   * the sum when all shards are done; at once with nothing done when the export has no second codec.
   */
  public record Recompress(RecompressSelection selection, int pagesPerSecond, ActorRef<RecompressResult> replyTo)
      implements Command {}

  /**
   * After the export's pages were invalidated: close the backing store (its in-flight I/O
   * finishes first) and report its last figures (empty stats without a backing file).
   */
  public record CloseBacking(ActorRef<BackingStats> replyTo) implements Command {}

  /** The backing store closed (and stopped) with these last figures. */
  private record BackingClosed(BackingStats last, ActorRef<BackingStats> replyTo) implements Command {}

  /** Whether this export has a backing file (answered with true/false). */
  public record HasBacking(ActorRef<Boolean> replyTo) implements Command {}

  private static final Duration GATHER_TIMEOUT = Duration.ofSeconds(60);
  /** An on-demand recompression of a whole export may take minutes (zstd at high levels). */
  private static final Duration RECOMPRESS_TIMEOUT = Duration.ofHours(1);
  /** Shards kept in an array (up to 4 TiB); beyond, in a map. */
  private static final long MAX_ARRAY_SHARDS = 1 << 16;

  /**
   * @param backingIo the export's backing file, or empty; the swap type owns it through a
   *                  {@link BackingStore} child limited to {@code backingCapacity} bytes
   * @param recompressor the export's second codec, or empty
   * @param spawnHook   applied to the backing store and every shard ({@link SpawnHook#NONE} but in tests)
   * @param frontRun    0: the shards live in this engine's pool; else the export is placed on the
   *                    cluster, each shard a {@link RemoteShard} speaking for a memory node's
   *                    entity, and this is the engine's run number
   */
  public static Behavior<Command> create(String name, long pages, boolean readOnly,
      List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry, PageCompressor compressor,
      Optional<BackingIo> backingIo, long backingCapacity, Optional<Recompressor> recompressor, SpawnHook spawnHook,
      long frontRun) {
    return Behaviors.setup(ctx -> new SwapType(ctx, name, pages, readOnly, classes, geometry, compressor,
        backingIo.map(io -> ctx.spawn(spawnHook.wrap(EngineActor.ofExport(EngineActor.Role.BACKING_STORE, name),
            BackingStore.create(name, io, backingCapacity)), "backing", EngineDispatcher.SAME)).orElse(null),
        recompressor.orElse(null), spawnHook, frontRun));
  }

  /** One shard and the requests gathered for it this turn. */
  private static final class Shard {
    final ActorRef<TreeShard.Command> ref;
    List<EngineCommand.PageRequest> batch = new ArrayList<>(4);

    Shard(ActorRef<TreeShard.Command> ref) {
      this.ref = ref;
    }
  }

  private final String name;
  private final long pages;
  private final boolean readOnly;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final PoolGeometry geometry;
  private final PageCompressor compressor;
  private final ActorRef<BackingStore.Command> backing;
  /** Per-page writeback latency of this export, shared by its shards; null without a backing file. */
  private final Histogram writebackLatency;
  /** The shards by shard index: an array for exports up to 4 TiB, else a map. */
  private final Shard[] shardArray;
  private final Map<Long, Shard> shardMap;
  private final List<Shard> allShards = new ArrayList<>();
  /** Shards with requests gathered this turn. */
  private final List<Shard> gathered = new ArrayList<>();
  private final SpawnHook spawnHook;
  /** 0, or the engine's run number when the shards are remote ({@link RemoteShard}). */
  private final long frontRun;
  /** The remote shards' instruments (batch round trips, pages lost and restored); null when local. */
  private final RequestMetrics.RemoteInstruments remoteMetrics;
  private final Executor dispatcher;
  /** The export's second codec, or null. */
  private final Recompressor recompressor;
  private boolean closed;
  /**
   * The backing store's last figures once it has closed (it stops then): stats report these
   * rather than ask a store that is gone.
   */
  private BackingStats closedBacking;

  private SwapType(ActorContext<Command> ctx, String name, long pages, boolean readOnly,
      List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry, PageCompressor compressor,
      ActorRef<BackingStore.Command> backing, Recompressor recompressor, SpawnHook spawnHook, long frontRun) {
    super(ctx);
    this.frontRun = frontRun;
    this.remoteMetrics = frontRun == 0 ? null : RequestMetrics.RemoteInstruments.of(ctx.getSystem().name(), name);
    this.recompressor = recompressor;
    this.spawnHook = spawnHook;
    this.compressor = compressor;
    this.backing = backing;
    this.writebackLatency = backing == null ? null : RequestMetrics.writebackLatency(ctx.getSystem().name(), name);
    this.name = name;
    this.pages = pages;
    this.readOnly = readOnly;
    this.classes = classes;
    this.geometry = geometry;
    this.dispatcher = ctx.getExecutionContext();
    long shardCount = (pages + TreeShard.PAGES - 1) >>> TreeShard.PAGES_SHIFT;
    this.shardArray = shardCount <= MAX_ARRAY_SHARDS ? new Shard[(int) shardCount] : null;
    this.shardMap = shardArray == null ? new HashMap<>() : null;
    if (backing != null) {
      ctx.watch(backing);
    }
  }

  /**
   * A shard or the backing store failed (a bug: a bad page or I/O error is an answer, never a
   * throw): the failure goes up to the guardian, naming what was lost, and the engine stops.
   */
  private Behavior<Command> childStopped(Terminated t) {
    if (t instanceof ChildFailed failed) {
      String child = t.getRef().path().name();
      String what;
      if (child.startsWith("shard-")) {
        long index = Long.parseLong(child.substring("shard-".length()));
        long first = index << TreeShard.PAGES_SHIFT;
        what = "tree shard " + index + " of export \"" + name + "\" (its pages " + first + ".."
            + Math.min(pages, first + TreeShard.PAGES) + " are lost)";
      } else {
        what = "the backing store of export \"" + name + "\" (its written-back pages are lost)";
      }
      throw new EngineActorFailure(what, failed.getCause());
    }
    return this;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onSignal(Terminated.class, this::childStopped)
        .onMessage(Pages.class, m -> {
          for (EngineCommand.PageRequest request : m.requests()) {
            if (closed && !(request instanceof EngineCommand.InvalidateArea)) {
              answer(() -> request.refuse(EngineError.shutDown()));
            } else {
              route(request);
            }
          }
          return this;
        })
        .onMessage(Flush.class, m -> flush())
        .onMessage(Close.class, m -> {
          closed = true;
          return this;
        })
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(Shrink.class, this::onShrink)
        .onMessage(Recompress.class, this::onRecompress)
        .onMessage(MarkIdle.class, m -> {
          flush();
          allShards.forEach(s -> s.ref.tell(new TreeShard.MarkIdle()));
          return this;
        })
        .onMessage(CloseBacking.class, m -> {
          if (backing == null || closedBacking != null) {
            m.replyTo().tell(closedBacking == null ? BackingStats.EMPTY : closedBacking);
          } else {
            ActorRef<BackingStats> closed = getContext().messageAdapter(BackingStats.class,
                last -> new BackingClosed(last, m.replyTo()));
            backing.tell(new BackingStore.Close(closed));
          }
          return this;
        })
        .onMessage(BackingClosed.class, m -> {
          closedBacking = m.last();
          m.replyTo().tell(m.last());
          return this;
        })
        .onMessage(HasBacking.class, m -> {
          m.replyTo().tell(backing != null);
          return this;
        })
        .build();
  }

  /**
   * Answers from a task on the dispatcher: a caller's callbacks (an embedded future's) never run
   * on this actor's thread.
   */
  private void answer(Runnable reply) {
    dispatcher.execute(reply);
  }

  private void route(EngineCommand.PageRequest c) {
    if (c instanceof EngineCommand.Store s) {
      EngineError bad = badPage(s.pageIndex(), true);
      if (bad != null) {
        answer(() -> s.refuse(bad));
      } else {
        gather(shardFor(s.pageIndex()), s);
      }
    } else if (c instanceof EngineCommand.Load l) {
      EngineError bad = badPage(l.pageIndex(), false);
      Shard shard = bad == null ? existingShard(l.pageIndex() >>> TreeShard.PAGES_SHIFT) : null;
      if (bad != null) {
        answer(() -> l.refuse(bad));
      } else if (shard == null) {
        answer(() -> l.replyTo().tell(new LoadReply.Loaded(l.pageIndex(), new byte[PageImage.PAGE_SIZE])));
      } else {
        gather(shard, l);
      }
    } else if (c instanceof EngineCommand.Patch p) {
      EngineError bad = badPage(p.pageIndex(), true);
      if (bad != null) {
        answer(() -> p.refuse(bad));
      } else {
        gather(shardFor(p.pageIndex()), p);
      }
    } else if (c instanceof EngineCommand.StoreRange s) {
      EngineError bad = badRange(s.firstPage(), s.pages().length);
      if (bad == null && readOnly) {
        bad = readOnlyError();
      }
      if (bad != null) {
        EngineError error = bad;
        answer(() -> s.refuse(error));
      } else {
        gather(shardFor(s.firstPage()), s);
      }
    } else if (c instanceof EngineCommand.LoadRange l) {
      EngineError bad = badRange(l.firstPage(), l.pageCount());
      Shard shard = bad == null ? existingShard(l.firstPage() >>> TreeShard.PAGES_SHIFT) : null;
      if (bad != null) {
        answer(() -> l.refuse(bad));
      } else if (shard == null) {
        answer(() -> l.replyTo().tell(
            new LoadRangeReply.LoadedRange(l.firstPage(), new byte[l.pageCount() * PageImage.PAGE_SIZE])));
      } else {
        gather(shard, l);
      }
    } else if (c instanceof EngineCommand.Invalidate i) {
      invalidate(i, i.pageIndex(), 1, i.replyTo());
    } else if (c instanceof EngineCommand.InvalidateRange r) {
      invalidate(r, r.firstPage(), r.pageCount(), r.replyTo());
    } else if (c instanceof EngineCommand.InvalidateArea a) {
      invalidateAll(a.replyTo());
    }
  }

  /** Why page {@code pageIndex} cannot be served ({@code write}: stored or patched), or null. */
  private EngineError badPage(long pageIndex, boolean write) {
    if (pageIndex < 0 || pageIndex >= pages) {
      return EngineError.outOfRange(name, pageIndex, pages);
    }
    return write && readOnly ? readOnlyError() : null;
  }

  /** Why pages [first, first + count) cannot be one range request, or null when they can. */
  private EngineError badRange(long first, int count) {
    if (count < 1) {
      return new EngineError(ErrorCode.INVALID, "a range request needs at least one page, got " + count);
    }
    if (first < 0 || first > pages - count) {
      return EngineError.outOfRange(name, first < 0 || first >= pages ? first : pages, pages);
    }
    if ((first >>> TreeShard.PAGES_SHIFT) != ((first + count - 1) >>> TreeShard.PAGES_SHIFT)) {
      return new EngineError(ErrorCode.INVALID, "pages " + first + ".." + (first + count - 1)
          + " cross a tree shard boundary (every " + TreeShard.PAGES + " pages); split the range there");
    }
    return null;
  }

  private EngineError readOnlyError() {
    return new EngineError(ErrorCode.READ_ONLY, "export \"" + name + "\" is read-only");
  }

  /** Adds {@code request} to what {@code shard} gets at this turn's flush. */
  private void gather(Shard shard, EngineCommand.PageRequest request) {
    if (shard.batch.isEmpty()) {
      if (gathered.isEmpty()) {
        getContext().getSelf().tell(Flush.INSTANCE);
      }
      gathered.add(shard);
    }
    shard.batch.add(request);
  }

  private Behavior<Command> flush() {
    for (Shard shard : gathered) {
      shard.ref.tell(new TreeShard.Pages(shard.batch));
      shard.batch = new ArrayList<>(4);
    }
    gathered.clear();
    return this;
  }

  private void invalidate(EngineCommand.PageRequest request, long first, long count,
      ActorRef<InvalidateReply> replyTo) {
    if (first < 0 || count < 0 || first > pages - count) {
      answer(() -> request.refuse(new EngineError(ErrorCode.OUT_OF_RANGE, "pages " + first + ".." + (first + count)
          + " are outside export \"" + name + "\" (" + pages + " pages)")));
      return;
    }
    if (readOnly) {
      answer(() -> request.refuse(readOnlyError()));
      return;
    }
    List<Shard> parts = new ArrayList<>();
    List<long[]> bounds = new ArrayList<>();
    long end = first + count;
    for (long p = first; p < end; ) {
      long shardIndex = p >>> TreeShard.PAGES_SHIFT;
      long shardEnd = Math.min(end, (shardIndex + 1) << TreeShard.PAGES_SHIFT);
      Shard shard = existingShard(shardIndex);
      if (shard != null) {
        parts.add(shard);
        bounds.add(new long[] {p, shardEnd - p});
      }
      p = shardEnd;
    }
    if (parts.isEmpty()) {
      answer(() -> replyTo.tell(new InvalidateReply.Invalidated(0)));
      return;
    }
    ActorRef<InvalidateReply> to = gatherInvalidations(parts.size(), replyTo);
    for (int i = 0; i < parts.size(); i++) {
      long[] b = bounds.get(i);
      gather(parts.get(i), new EngineCommand.InvalidateRange(name, b[0], b[1], to));
    }
  }

  /** Swapoff: every shard, whole; each answers once its backing writes in flight are done. */
  private void invalidateAll(ActorRef<InvalidateReply> replyTo) {
    if (allShards.isEmpty()) {
      answer(() -> replyTo.tell(new InvalidateReply.Invalidated(0)));
      return;
    }
    ActorRef<InvalidateReply> to = gatherInvalidations(allShards.size(), replyTo);
    for (Shard shard : allShards) {
      gather(shard, new EngineCommand.InvalidateArea(name, to));
    }
  }

  /** Where the parts of an invalidation answer: the caller for one part, else a gatherer. */
  private ActorRef<InvalidateReply> gatherInvalidations(int parts, ActorRef<InvalidateReply> replyTo) {
    return parts == 1 ? replyTo
        : Gather.spawn(getContext(), parts, new InvalidateReply.Invalidated(0),
            (acc, r) -> r instanceof InvalidateReply.Invalidated i
                ? new InvalidateReply.Invalidated(acc.pagesFreed() + i.pagesFreed()) : acc,
            replyTo::tell, GATHER_TIMEOUT, acc -> replyTo.tell(new InvalidateReply.InvalidateFailed(
                new EngineError(ErrorCode.SHUTTING_DOWN, "invalidate of \"" + name + "\" timed out"))));
  }

  /** Shard counters and the backing store's figures, in any order. */
  private record StatsAcc(ShardStats shards, BackingStats backing, List<RemoteShardFigures> remote) {
    StatsAcc add(Object reply) {
      if (reply instanceof ShardStats s) {
        List<RemoteShardFigures> r = remote;
        if (s.remote() != null) {
          r = new ArrayList<>(remote);
          r.add(s.remote());
        }
        return new StatsAcc(shards.plus(s), backing, r);
      }
      return new StatsAcc(shards, (BackingStats) reply, remote);
    }
  }

  private Behavior<Command> onGetStats(GetStats m) {
    flush();
    boolean askBacking = backing != null && closedBacking == null;
    ActorRef<Object> gather = Gather.spawn(getContext(), allShards.size() + (askBacking ? 1 : 0),
        new StatsAcc(ShardStats.ZERO, closedBacking == null ? BackingStats.EMPTY : closedBacking, List.of()),
        StatsAcc::add,
        acc -> m.replyTo().tell(exportStats(acc)), GATHER_TIMEOUT, acc -> m.replyTo().tell(exportStats(acc)));
    for (Shard shard : allShards) {
      shard.ref.tell(new TreeShard.GetStats(gather.narrow()));
    }
    if (askBacking) {
      backing.tell(new BackingStore.GetStats(gather.narrow()));
    }
    return this;
  }

  private ExportStats exportStats(StatsAcc acc) {
    ShardStats s = acc.shards();
    BackingStats b = acc.backing();
    BackingFigures figures = new BackingFigures(s.writtenBackPages(), s.writebacks(), s.loadsFromBacking(),
        s.writeErrors(), s.readErrors(), b.corruptReads(), s.backingFull(), b.bytesInUse(), b.fileEnd(), b.reads(), b.writes());
    // the shards count every page an entry holds; the memory figures leave out the written-back
    // ones, so that orig_data_size and compr_data_size count the same pages (ExportStats)
    long inMemory = s.storedPages() - s.writtenBackPages();
    return new ExportStats(name, inMemory, inMemory * PageImage.PAGE_SIZE, s.comprBytes(),
        s.samePages(), s.hugePages(), s.duplicateEntry(), s.rejectCompressPoor(), s.rejectAllocFail(),
        s.invalidatedPages(), s.loads(), s.stores(), figures,
        recompressor == null ? RecompressFigures.NONE : new RecompressFigures(recompressor.describe(),
            s.recompressedPages(), s.recompressedBytes(), s.recompressions(), s.recompressKept(), s.recompressFailed(),
            s.recompressBytesSaved()), acc.remote());
  }

  /** Spreads a writeback over the shards (each takes its share from its own LRU) and sums the results. */
  private Behavior<Command> onShrink(Shrink m) {
    flush();
    if (backing == null || allShards.isEmpty()) {
      m.replyTo().tell(WritebackResult.NONE);
      return this;
    }
    int share = m.maxPages() == Integer.MAX_VALUE ? Integer.MAX_VALUE
        : (int) Math.max(1, ((long) m.maxPages() + allShards.size() - 1) / allShards.size());
    ActorRef<WritebackResult> gather = Gather.spawn(getContext(), allShards.size(), WritebackResult.NONE,
        WritebackResult::plus, m.replyTo()::tell, GATHER_TIMEOUT, m.replyTo()::tell);
    for (Shard shard : allShards) {
      shard.ref.tell(new TreeShard.Shrink(share, m.mode(), gather));
    }
    return this;
  }

  private Behavior<Command> onRecompress(Recompress m) {
    flush();
    if (recompressor == null || allShards.isEmpty()) {
      m.replyTo().tell(RecompressResult.NONE);
      return this;
    }
    List<ActorRef<TreeShard.Command>> shards = allShards.stream().map(s -> s.ref).toList();
    if (m.pagesPerSecond() > 0) {
      getContext().spawnAnonymous(oneShardAtATime(shards, m), EngineDispatcher.SAME);
      return this;
    }
    ActorRef<RecompressResult> gather = Gather.spawn(getContext(), shards.size(), RecompressResult.NONE,
        RecompressResult::plus, m.replyTo()::tell, RECOMPRESS_TIMEOUT, m.replyTo()::tell);
    for (ActorRef<TreeShard.Command> shard : shards) {
      shard.tell(new TreeShard.Recompress(m.selection(), 0, gather));
    }
    return this;
  }

  /** A background pass over {@code shards}: each in turn, the next once the one before is done; then stops. */
  private static Behavior<RecompressResult> oneShardAtATime(List<ActorRef<TreeShard.Command>> shards, Recompress m) {
    return Behaviors.setup(ctx -> {
      int[] next = {0};
      RecompressResult[] sum = {RecompressResult.NONE};
      shards.get(0).tell(new TreeShard.Recompress(m.selection(), m.pagesPerSecond(), ctx.getSelf()));
      return Behaviors.receiveMessage(r -> {
        sum[0] = sum[0].plus(r);
        if (++next[0] == shards.size()) {
          m.replyTo().tell(sum[0]);
          return Behaviors.stopped();
        }
        shards.get(next[0]).tell(new TreeShard.Recompress(m.selection(), m.pagesPerSecond(), ctx.getSelf()));
        return Behaviors.same();
      });
    });
  }

  private Shard existingShard(long shardIndex) {
    return shardArray != null ? shardArray[(int) shardIndex] : shardMap.get(shardIndex);
  }

  /** The shard of {@code pageIndex}, made on first use. */
  private Shard shardFor(long pageIndex) {
    long shardIndex = pageIndex >>> TreeShard.PAGES_SHIFT;
    Shard shard = existingShard(shardIndex);
    if (shard != null) {
      return shard;
    }
    ActorRef<TreeShard.Command> ref = frontRun != 0
        ? getContext().spawn(spawnHook.wrap(EngineActor.treeShard(name, (int) shardIndex),
            RemoteShard.create(name, shardIndex, frontRun, compressor, backing, remoteMetrics)), "shard-" + shardIndex,
            EngineDispatcher.SAME).narrow()
        : getContext().spawn(spawnHook.wrap(EngineActor.treeShard(name, (int) shardIndex),
            TreeShard.create(classes, geometry, compressor, backing, writebackLatency, recompressor)),
            "shard-" + shardIndex, EngineDispatcher.SAME);
    getContext().watch(ref);
    shard = new Shard(ref);
    if (shardArray != null) {
      shardArray[(int) shardIndex] = shard;
    } else {
      shardMap.put(shardIndex, shard);
    }
    allShards.add(shard);
    return shard;
  }
}
