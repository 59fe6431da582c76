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
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.RecompressFigures;
import io.zswapd.protocol.engine.RecompressResult;
import io.zswapd.protocol.engine.RemoteShardFigures;
import java.time.Duration;
import io.zswapd.actors.metrics.RequestMetrics;
import java.util.ArrayList;
import kamon.metric.Histogram;
import java.util.List;

/**
 * One export (a zswap "swap type"): the parent of its {@link TreeShard}s (one per 64 MiB of
 * pages) and of its backing store, and the one place of what concerns the whole export: stats,
 * writeback, recompression, closing. It holds no page state and no page request passes
 * through it: it makes its shards when it starts and hands out the export's routing entry
 * ({@link ExportRoute}), by which senders reach the shard of a page directly.
 *
 * <p>An export's shards are all made when it starts (an idle shard holds no entries, so this
 * costs about 3 KiB of heap per 64 MiB of export), except an overflow namespace's, whose page
 * space is far larger than any pool: its directory asks for more shards as it uses more of
 * that space ({@link Grow}) and gets a new routing entry.
 *
 * <p>Closing ({@link InvalidateAll}): every shard is closed, then all its pages invalidated; a shard
 * refuses every request that reaches it after its close, so no page lands after the
 * invalidation, whichever routing table its sender still held.
 */
public final class SwapType extends AbstractBehavior<SwapType.Command> {

  public sealed interface Command {}

  /**
   * Make shards until the export's routing entry covers pages [0, {@code pages}) (never past the
   * export's size), and answer with that entry: how an overflow namespace's directory grows its
   * page space before it sends requests into the new part.
   */
  public record Grow(long pages, ActorRef<ExportRoute> replyTo) implements Command {}

  /**
   * Every page of the export invalidated: answered with the pages freed once every shard has
   * freed its own and the backing writes in flight have ended ({@code InvalidateArea}).
   * {@code close}: each shard is closed first, refusing every later request (removal, shutdown);
   * else the export goes on serving (reset).
   */
  public record InvalidateAll(boolean close, ActorRef<InvalidateReply> replyTo) implements Command {}

  /** Shard {@code index} stored its first page: it counts for stats, writeback and recompression from now on. */
  private record ShardUsed(int index) implements Command {}

  public record GetStats(ActorRef<ExportStats> replyTo) implements Command {}

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

  /**
   * @param backingIo the export's backing file, or empty; the swap type owns it through a
   *                  {@link BackingStore} child limited to {@code backingCapacity} bytes
   * @param recompressor the export's second codec, or empty
   * @param spawnHook   applied to the backing store and every shard ({@link SpawnHook#NONE} but in tests)
   * @param frontRun    0: the shards live in this engine's pool; else the export is placed on the
   *                    cluster, each shard a {@link RemoteShard} speaking for a memory node's
   *                    entity, and this is the engine's run number
   * @param ready       told the export's routing entry once all its shards are made; null for an
   *                    overflow namespace, which starts with none ({@link Grow})
   */
  public static Behavior<Command> create(String name, long pages, boolean readOnly,
      List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry, PageCompressor compressor,
      Optional<BackingIo> backingIo, long backingCapacity, Optional<Recompressor> recompressor, SpawnHook spawnHook,
      long frontRun, ActorRef<ExportRoute> ready) {
    return Behaviors.setup(ctx -> {
      SwapType swapType = new SwapType(ctx, name, pages, readOnly, classes, geometry, compressor,
          backingIo.map(io -> ctx.spawn(spawnHook.wrap(EngineActor.ofExport(EngineActor.Role.BACKING_STORE, name),
              BackingStore.create(name, io, backingCapacity)), "backing", EngineDispatcher.SAME)).orElse(null),
          recompressor.orElse(null), spawnHook, frontRun);
      if (ready != null) {
        swapType.grow(pages);
        ready.tell(swapType.route);
      }
      return swapType;
    });
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
  /** Every shard, by shard index: as many as the routing entry covers. */
  private final List<ActorRef<TreeShard.Command>> shards = new ArrayList<>();
  /** The shards that have stored a page, in the order they did: those stats, writeback and recompression ask. */
  private final List<ActorRef<TreeShard.Command>> used = new ArrayList<>();
  /** The export's routing entry: its shards as made so far. */
  private ExportRoute route;
  private final SpawnHook spawnHook;
  /** 0, or the engine's run number when the shards are remote ({@link RemoteShard}). */
  private final long frontRun;
  /** The remote shards' instruments (batch round trips, pages lost and restored); null when local. */
  private final RequestMetrics.RemoteInstruments remoteMetrics;
  /** The export's second codec, or null. */
  private final Recompressor recompressor;
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
    this.route = new ExportRoute(name, ctx.getSelf(), 0, readOnly, List.of());
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
        .onMessage(ShardUsed.class, m -> {
          used.add(shards.get(m.index()));
          return this;
        })
        .onMessage(Grow.class, m -> {
          grow(m.pages());
          m.replyTo().tell(route);
          return this;
        })
        .onMessage(InvalidateAll.class, this::onInvalidateAll)
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(Shrink.class, this::onShrink)
        .onMessage(Recompress.class, this::onRecompress)
        .onMessage(MarkIdle.class, m -> {
          used.forEach(s -> s.tell(new TreeShard.MarkIdle()));
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
   * Every shard closed first when {@code close}, then the export's {@code InvalidateArea} sent by
   * its route, as any sender's: split into one part per shard, the parts' answers gathered into
   * one ({@link #gather}). Every shard, not only those in use: a store may be on its way to a
   * shard that has not yet said it is in use.
   */
  private Behavior<Command> onInvalidateAll(InvalidateAll m) {
    if (m.close()) {
      for (ActorRef<TreeShard.Command> shard : shards) {
        shard.tell(new TreeShard.Close());
      }
    }
    route.send(new EngineCommand.InvalidateArea(name, m.replyTo()), this::gather);
    return this;
  }

  /**
   * The route's {@link ExportRoute.Gatherer}: {@code parts} answers told to {@code replyTo} as
   * one, their sum or the first failure.
   */
  private ActorRef<InvalidateReply> gather(int parts, ActorRef<InvalidateReply> replyTo) {
    if (parts == 1) {
      return replyTo;
    }
    return Gather.spawn(getContext(), parts, (InvalidateReply) new InvalidateReply.Invalidated(0),
        (acc, r) -> acc instanceof InvalidateReply.Invalidated sum && r instanceof InvalidateReply.Invalidated i
            ? new InvalidateReply.Invalidated(sum.pagesFreed() + i.pagesFreed())
            : acc instanceof InvalidateReply.InvalidateFailed ? acc : r,
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
    boolean askBacking = backing != null && closedBacking == null;
    ActorRef<Object> gather = Gather.spawn(getContext(), used.size() + (askBacking ? 1 : 0),
        new StatsAcc(ShardStats.ZERO, closedBacking == null ? BackingStats.EMPTY : closedBacking, List.of()),
        StatsAcc::add,
        acc -> m.replyTo().tell(exportStats(acc)), GATHER_TIMEOUT, acc -> m.replyTo().tell(exportStats(acc)));
    for (ActorRef<TreeShard.Command> shard : used) {
      shard.tell(new TreeShard.GetStats(gather.narrow()));
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
    if (backing == null || used.isEmpty()) {
      m.replyTo().tell(WritebackResult.NONE);
      return this;
    }
    int share = m.maxPages() == Integer.MAX_VALUE ? Integer.MAX_VALUE
        : (int) Math.max(1, ((long) m.maxPages() + used.size() - 1) / used.size());
    ActorRef<WritebackResult> gather = Gather.spawn(getContext(), used.size(), WritebackResult.NONE,
        WritebackResult::plus, m.replyTo()::tell, GATHER_TIMEOUT, m.replyTo()::tell);
    for (ActorRef<TreeShard.Command> shard : used) {
      shard.tell(new TreeShard.Shrink(share, m.mode(), gather));
    }
    return this;
  }

  private Behavior<Command> onRecompress(Recompress m) {
    if (recompressor == null || used.isEmpty()) {
      m.replyTo().tell(RecompressResult.NONE);
      return this;
    }
    List<ActorRef<TreeShard.Command>> shards = List.copyOf(used);
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

  /** Makes shards until they cover pages [0, {@code toPages}) (at most the export's size); a new routing entry when it made any. */
  private void grow(long toPages) {
    long covered = Math.min(pages, Math.max(0, toPages));
    long wanted = (covered + TreeShard.PAGES - 1) >>> TreeShard.PAGES_SHIFT;
    if (wanted <= shards.size()) {
      return;
    }
    while (shards.size() < wanted) {
      shards.add(spawnShard(shards.size()));
    }
    route = new ExportRoute(name, getContext().getSelf(), Math.min(pages, (long) shards.size() << TreeShard.PAGES_SHIFT), readOnly,
        List.copyOf(shards));
  }

  private ActorRef<TreeShard.Command> spawnShard(int shardIndex) {
    ActorRef<Command> self = getContext().getSelf();
    Runnable firstStore = () -> self.tell(new ShardUsed(shardIndex));
    ActorRef<TreeShard.Command> ref = frontRun != 0
        ? getContext().spawn(spawnHook.wrap(EngineActor.treeShard(name, shardIndex),
            RemoteShard.create(name, shardIndex, frontRun, compressor, backing, remoteMetrics, firstStore)),
            "shard-" + shardIndex, EngineDispatcher.SAME).narrow()
        : getContext().spawn(spawnHook.wrap(EngineActor.treeShard(name, shardIndex),
            TreeShard.create(classes, geometry, compressor, backing, writebackLatency, recompressor, firstStore)),
            "shard-" + shardIndex, EngineDispatcher.SAME);
    getContext().watch(ref);
    return ref;
  }
}
