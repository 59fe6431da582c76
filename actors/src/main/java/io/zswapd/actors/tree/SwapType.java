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
import io.zswapd.actors.ZswapGuardian;
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
import io.zswapd.protocol.engine.StoreReply;
import java.time.Duration;
import io.zswapd.actors.metrics.RequestMetrics;
import java.util.ArrayList;
import kamon.metric.Histogram;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One export (a zswap "swap type"): checks bounds and permissions, and routes each page to
 * the {@link TreeShard} that owns its 64 MiB range, creating shards on first use. Ranges are
 * split at shard boundaries and their answers gathered.
 *
 * <p>The swap type holds no page state; it is the parent of its shards, the only writer of its
 * {@link ShardDirectory}, through which callers send page requests straight to a shard
 * once it exists, and, for exports too large for a directory, the one place their shards are
 * found.
 */
public final class SwapType extends AbstractBehavior<SwapType.Command> {

  public sealed interface Command {}

  /** A page request for this export (Store, Load, Invalidate, InvalidateRange, InvalidateArea). */
  public record Request(EngineCommand command) implements Command {}

  public record GetStats(ActorRef<ExportStats> replyTo) implements Command {}

  /**
   * The export is closing (engine shutdown, export removal): refuse every later page request
   * with SHUTTING_DOWN, and close every shard so requests sent straight to one (see
   * {@link ShardDirectory}) are refused too. Only an {@code InvalidateArea}, which the closer
   * sends next, still goes through.
   */
  public record Close() implements Command {}

  /** Write back up to {@code maxPages} pages (spread over the shards) chosen by {@code mode}. */
  public record Shrink(int maxPages, WritebackMode mode, ActorRef<WritebackResult> replyTo) implements Command {}

  /** Start a new idle period: pages not touched from now on count as idle. */
  public record MarkIdle() implements Command {}

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

  /**
   * @param backingIo the export's backing file, or empty; the swap type owns it through a
   *                  {@link BackingStore} child limited to {@code backingCapacity} bytes
   * @param directory   where the shards are published, made for {@code pages} and {@code readOnly}
   * @param spawnHook   applied to the backing store and every shard ({@link SpawnHook#NONE} but in tests)
   */
  public static Behavior<Command> create(String name, long pages, boolean readOnly,
      List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry, PageCompressor compressor,
      Optional<BackingIo> backingIo, long backingCapacity, ShardDirectory directory, SpawnHook spawnHook) {
    return Behaviors.setup(ctx -> new SwapType(ctx, name, pages, readOnly, classes, geometry, compressor, directory,
        backingIo.map(io -> ctx.spawn(spawnHook.wrap(EngineActor.ofExport(EngineActor.Role.BACKING_STORE, name),
            BackingStore.create(name, io, backingCapacity)), "backing", EngineDispatcher.SAME)).orElse(null),
        spawnHook));
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
  /** The shards, published for direct requests; or, for an export too large for it, the map. */
  private final ShardDirectory directory;
  private final Map<Long, ActorRef<TreeShard.Command>> shardMap;
  private final List<ActorRef<TreeShard.Command>> allShards = new ArrayList<>();
  private final SpawnHook spawnHook;
  private boolean closed;
  /**
   * The backing store's last figures once it has closed (it stops then): stats report these
   * rather than ask a store that is gone.
   */
  private BackingStats closedBacking;

  private SwapType(ActorContext<Command> ctx, String name, long pages, boolean readOnly,
      List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry, PageCompressor compressor,
      ShardDirectory directory, ActorRef<BackingStore.Command> backing, SpawnHook spawnHook) {
    super(ctx);
    this.spawnHook = spawnHook;
    this.compressor = compressor;
    this.backing = backing;
    this.writebackLatency = backing == null ? null : RequestMetrics.writebackLatency(ctx.getSystem().name(), name);
    this.name = name;
    this.pages = pages;
    this.readOnly = readOnly;
    this.classes = classes;
    this.geometry = geometry;
    this.directory = directory;
    this.shardMap = directory.holdsShards() ? null : new HashMap<>();
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
        .onMessage(Request.class, m -> {
          if (closed && !(m.command() instanceof EngineCommand.InvalidateArea)) {
            ZswapGuardian.refuse(m.command(), EngineError.shutDown());
          } else {
            route(m.command());
          }
          return this;
        })
        .onMessage(Close.class, m -> {
          closed = true;
          allShards.forEach(s -> s.tell(new TreeShard.Close()));
          return this;
        })
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(Shrink.class, this::onShrink)
        .onMessage(MarkIdle.class, m -> {
          allShards.forEach(s -> s.tell(new TreeShard.MarkIdle()));
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

  private void route(EngineCommand c) {
    if (c instanceof EngineCommand.Store s) {
      if (s.pageIndex() < 0 || s.pageIndex() >= pages) {
        s.replyTo().tell(new StoreReply.Refused(s.pageIndex(), EngineError.outOfRange(name, s.pageIndex(), pages)));
      } else if (readOnly) {
        s.replyTo().tell(new StoreReply.Refused(s.pageIndex(), readOnlyError()));
      } else {
        toShard(s.pageIndex(), new TreeShard.StorePage(s.pageIndex(), s.page(), s.replyTo()));
      }
    } else if (c instanceof EngineCommand.Patch p) {
      if (p.pageIndex() < 0 || p.pageIndex() >= pages) {
        p.replyTo().tell(new StoreReply.Refused(p.pageIndex(), EngineError.outOfRange(name, p.pageIndex(), pages)));
      } else if (readOnly) {
        p.replyTo().tell(new StoreReply.Refused(p.pageIndex(), readOnlyError()));
      } else {
        toShard(p.pageIndex(), new TreeShard.PatchPage(p.pageIndex(), p.offset(), p.bytes(), p.replyTo()));
      }
    } else if (c instanceof EngineCommand.Load l) {
      if (l.pageIndex() < 0 || l.pageIndex() >= pages) {
        l.replyTo().tell(new LoadReply.LoadFailed(l.pageIndex(), EngineError.outOfRange(name, l.pageIndex(), pages)));
      } else {
        ActorRef<TreeShard.Command> shard = existingShard(l.pageIndex() >>> TreeShard.PAGES_SHIFT);
        if (shard == null) {
          l.replyTo().tell(new LoadReply.Loaded(l.pageIndex(), new byte[PageImage.PAGE_SIZE]));
        } else {
          shard.tell(new TreeShard.LoadPage(l.pageIndex(), l.replyTo()));
        }
      }
    } else if (c instanceof EngineCommand.StoreRange s) {
      EngineError bad = badRange(s.firstPage(), s.pages().length);
      if (bad == null && readOnly) {
        bad = readOnlyError();
      }
      if (bad != null) {
        s.replyTo().tell(new StoreReply.Refused(s.firstPage(), bad));
      } else {
        toShard(s.firstPage(), new TreeShard.StoreRange(s.firstPage(), s.pages(), s.replyTo()));
      }
    } else if (c instanceof EngineCommand.LoadRange l) {
      EngineError bad = badRange(l.firstPage(), l.pageCount());
      if (bad != null) {
        l.replyTo().tell(new LoadRangeReply.LoadRangeFailed(l.firstPage(), bad));
      } else {
        ActorRef<TreeShard.Command> shard = existingShard(l.firstPage() >>> TreeShard.PAGES_SHIFT);
        if (shard == null) {
          l.replyTo().tell(new LoadRangeReply.LoadedRange(l.firstPage(), new byte[l.pageCount() * PageImage.PAGE_SIZE]));
        } else {
          shard.tell(new TreeShard.LoadRange(l.firstPage(), l.pageCount(), l.replyTo()));
        }
      }
    } else if (c instanceof EngineCommand.Invalidate i) {
      invalidate(i.pageIndex(), 1, i.replyTo());
    } else if (c instanceof EngineCommand.InvalidateRange r) {
      invalidate(r.firstPage(), r.pageCount(), r.replyTo());
    } else if (c instanceof EngineCommand.InvalidateArea a) {
      invalidateAll(a.replyTo());
    } else {
      throw new IllegalArgumentException("not a page request for an export: " + c);
    }
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

  private void invalidate(long first, long count, ActorRef<InvalidateReply> replyTo) {
    if (first < 0 || count < 0 || first > pages - count) {
      replyTo.tell(new InvalidateReply.InvalidateFailed(new EngineError(ErrorCode.OUT_OF_RANGE,
          "pages " + first + ".." + (first + count) + " are outside export \"" + name + "\" (" + pages + " pages)")));
      return;
    }
    if (readOnly) {
      replyTo.tell(new InvalidateReply.InvalidateFailed(readOnlyError()));
      return;
    }
    List<Part> parts = new ArrayList<>();
    long end = first + count;
    for (long p = first; p < end; ) {
      long shardIndex = p >>> TreeShard.PAGES_SHIFT;
      long shardEnd = Math.min(end, (shardIndex + 1) << TreeShard.PAGES_SHIFT);
      ActorRef<TreeShard.Command> shard = existingShard(shardIndex);
      if (shard != null) {
        parts.add(new Part(shard, p, shardEnd - p, false));
      }
      p = shardEnd;
    }
    send(parts, replyTo);
  }

  /** Swapoff: every shard, whole; each answers once its backing writes in flight are done. */
  private void invalidateAll(ActorRef<InvalidateReply> replyTo) {
    List<Part> parts = new ArrayList<>();
    for (ActorRef<TreeShard.Command> shard : allShards) {
      parts.add(new Part(shard, 0, TreeShard.PAGES, true));
    }
    send(parts, replyTo);
  }

  /** The piece of an invalidation that falls to one shard. */
  private record Part(ActorRef<TreeShard.Command> shard, long firstPage, long count, boolean drainWrites) {}

  /** Sends each part to its shard; one part answers directly, several through a gatherer. */
  private void send(List<Part> parts, ActorRef<InvalidateReply> replyTo) {
    ActorRef<InvalidateReply> to = parts.size() == 1 ? replyTo
        : Gather.spawn(getContext(), parts.size(), new InvalidateReply.Invalidated(0),
            (acc, r) -> r instanceof InvalidateReply.Invalidated i
                ? new InvalidateReply.Invalidated(acc.pagesFreed() + i.pagesFreed()) : acc,
            replyTo::tell, GATHER_TIMEOUT, acc -> replyTo.tell(new InvalidateReply.InvalidateFailed(
                new EngineError(ErrorCode.SHUTTING_DOWN, "invalidate of \"" + name + "\" timed out"))));
    for (Part part : parts) {
      part.shard().tell(new TreeShard.InvalidatePages(part.firstPage(), part.count(), part.drainWrites(), to));
    }
  }

  /** Shard counters and the backing store's figures, in any order. */
  private record StatsAcc(ShardStats shards, BackingStats backing) {
    StatsAcc add(Object reply) {
      return reply instanceof ShardStats s ? new StatsAcc(shards.plus(s), backing)
          : new StatsAcc(shards, (BackingStats) reply);
    }
  }

  private Behavior<Command> onGetStats(GetStats m) {
    boolean askBacking = backing != null && closedBacking == null;
    ActorRef<Object> gather = Gather.spawn(getContext(), allShards.size() + (askBacking ? 1 : 0),
        new StatsAcc(ShardStats.ZERO, closedBacking == null ? BackingStats.EMPTY : closedBacking), StatsAcc::add,
        acc -> m.replyTo().tell(exportStats(acc)), GATHER_TIMEOUT, acc -> m.replyTo().tell(exportStats(acc)));
    for (ActorRef<TreeShard.Command> shard : allShards) {
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
        s.invalidatedPages(), s.loads(), s.stores(), figures);
  }

  /** Spreads a writeback over the shards (each takes its share from its own LRU) and sums the results. */
  private Behavior<Command> onShrink(Shrink m) {
    if (backing == null || allShards.isEmpty()) {
      m.replyTo().tell(WritebackResult.NONE);
      return this;
    }
    int share = m.maxPages() == Integer.MAX_VALUE ? Integer.MAX_VALUE
        : (int) Math.max(1, ((long) m.maxPages() + allShards.size() - 1) / allShards.size());
    ActorRef<WritebackResult> gather = Gather.spawn(getContext(), allShards.size(), WritebackResult.NONE,
        WritebackResult::plus, m.replyTo()::tell, GATHER_TIMEOUT, m.replyTo()::tell);
    for (ActorRef<TreeShard.Command> shard : allShards) {
      shard.tell(new TreeShard.Shrink(share, m.mode(), gather));
    }
    return this;
  }

  private ActorRef<TreeShard.Command> existingShard(long shardIndex) {
    return shardMap == null ? directory.get((int) shardIndex) : shardMap.get(shardIndex);
  }

  /**
   * Sends {@code message} to the shard of {@code pageIndex}, creating the shard on first use.
   * A new shard is published only after its first message is on its way, so a request a
   * caller then sends straight to it comes after that one.
   */
  private void toShard(long pageIndex, TreeShard.Command message) {
    long shardIndex = pageIndex >>> TreeShard.PAGES_SHIFT;
    ActorRef<TreeShard.Command> shard = existingShard(shardIndex);
    if (shard != null) {
      shard.tell(message);
      return;
    }
    shard = getContext().spawn(spawnHook.wrap(EngineActor.treeShard(name, (int) shardIndex),
        TreeShard.create(classes, geometry, compressor, backing, writebackLatency)),
        "shard-" + shardIndex, EngineDispatcher.SAME);
    getContext().watch(shard);
    shard.tell(message);
    if (shardMap == null) {
      directory.publish((int) shardIndex, shard);
    } else {
      shardMap.put(shardIndex, shard);
    }
    allShards.add(shard);
  }
}
