package io.zswapd.actors.writeback;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import io.zswapd.actors.arena.PageArena;
import io.zswapd.actors.pool.Pool;
import io.zswapd.actors.support.Gather;
import io.zswapd.actors.tree.SwapType;
import io.zswapd.protocol.engine.CompactionResult;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Drains cold pages to the exports' backing files: zswap's shrinker and zram's writeback.
 *
 * <ul>
 *   <li><b>At the pool limit</b> the arena sends {@link PageArena.RoomNeeded}. One round asks
 *       every export with a backing file to write back its share of about two objects per page
 *       over the accept threshold, each tree shard choosing victims from its own LRU; then
 *       compacts the pool so the freed objects become free pages; then answers the arena
 *       whether it made progress. The arena asks for another round while it is still over the
 *       threshold and rounds make progress, and serves the waiting stores as soon as it is
 *       under. Stores it refuses (no progress, or {@code reclaim-timeout}) go to their backing
 *       file instead ({@code TreeShard}).</li>
 *   <li><b>On demand</b> ({@link Writeback}): the pages a {@link WritebackMode} names, from
 *       every export with a backing file, then a compaction.</li>
 *   <li><b>Idle policy</b> ({@code pool.writeback.idle-after}): every period, pages nobody
 *       touched during the last period are written back, and a new period starts.</li>
 * </ul>
 * The worker owns no pages: shards own the victims and their LRU, so a victim cannot be freed
 * behind the worker's back (it never holds one).
 */
public final class WritebackWorker extends AbstractBehavior<WritebackWorker.Command> {

  public sealed interface Command {}

  public record Writeback(WritebackMode mode, ActorRef<WritebackResult> replyTo) implements Command {}

  /**
   * {@code pool.writeback.idle-after} and {@code reclaim-timeout} changed while running: the idle
   * period restarts from now (a new period begins, as at start), and the arena is told the new
   * timeout for stores waiting at the limit.
   */
  public record SetPolicy(Optional<Duration> idleAfter, Duration reclaimTimeout) implements Command {}

  /** An export was removed: stop asking it for writeback. */
  public record Forget(ActorRef<SwapType.Command> swapType) implements Command {}

  private record Room(PageArena.RoomNeeded request) implements Command {}

  private record RoundDone(WritebackResult result, ActorRef<PageArena.Command> arena) implements Command {}

  private record IdleTick() implements Command {}

  /** An on-demand writeback's pages are written: compact, then answer (done in the worker's own context). */
  private record WrittenThenCompact(WritebackResult result, ActorRef<WritebackResult> replyTo) implements Command {}

  private static final Duration ROUND_TIMEOUT = Duration.ofSeconds(60);
  /** Objects per pool page, about (2 KiB compressed pages in 4 KiB pages): sizes a round. */
  private static final int OBJECTS_PER_PAGE = 2;
  private static final int MIN_ROUND = 64;

  /**
   * Makes the worker the arena's reclaimer: stores at the limit wait up to
   * {@code reclaimTimeout} for the room it makes.
   */
  public static Behavior<Command> create(ActorRef<Pool.Command> pool, ActorRef<PageArena.Command> arena,
      List<ActorRef<SwapType.Command>> backed, Optional<Duration> idleAfter, Duration reclaimTimeout) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      WritebackWorker worker = new WritebackWorker(ctx, timers, pool, arena, new java.util.ArrayList<>(backed));
      worker.applyPolicy(idleAfter, reclaimTimeout);
      return worker;
    }));
  }

  private static final Object IDLE_TIMER = "idle";

  private final TimerScheduler<Command> timers;
  private final ActorRef<Pool.Command> pool;
  private final ActorRef<PageArena.Command> arena;
  private final ActorRef<PageArena.RoomNeeded> roomNeeded;
  private final List<ActorRef<SwapType.Command>> backed;

  private WritebackWorker(ActorContext<Command> ctx, TimerScheduler<Command> timers, ActorRef<Pool.Command> pool,
      ActorRef<PageArena.Command> arena, List<ActorRef<SwapType.Command>> backed) {
    super(ctx);
    this.timers = timers;
    this.pool = pool;
    this.arena = arena;
    this.roomNeeded = ctx.messageAdapter(PageArena.RoomNeeded.class, Room::new);
    this.backed = backed;
  }

  /** Starts (or restarts, or stops) the idle period and makes this worker the arena's reclaimer. */
  private void applyPolicy(Optional<Duration> idleAfter, Duration reclaimTimeout) {
    timers.cancel(IDLE_TIMER);
    idleAfter.ifPresent(period -> timers.startTimerWithFixedDelay(IDLE_TIMER, new IdleTick(), period));
    arena.tell(new PageArena.SetReclaimer(roomNeeded, reclaimTimeout));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Room.class, this::onRoom)
        .onMessage(RoundDone.class, this::onRoundDone)
        .onMessage(Writeback.class, this::onWriteback)
        .onMessage(WrittenThenCompact.class, this::onWrittenThenCompact)
        .onMessage(SetPolicy.class, m -> {
          applyPolicy(m.idleAfter(), m.reclaimTimeout());
          return this;
        })
        .onMessage(Forget.class, m -> {
          backed.remove(m.swapType());
          return this;
        })
        .onMessage(IdleTick.class, m -> {
          ActorRef<WritebackResult> ignore = getContext().getSystem().ignoreRef();
          shrinkAll(Integer.MAX_VALUE, WritebackMode.IDLE, ignore);
          backed.forEach(s -> s.tell(new SwapType.MarkIdle())); // after the shrink: a new period
          return this;
        })
        .build();
  }

  private Behavior<Command> onRoom(Room m) {
    long excess = Math.max(1, m.request().pagesInUse() - m.request().acceptBelowPages());
    long objects = Math.max(MIN_ROUND, excess * OBJECTS_PER_PAGE);
    ActorRef<Command> self = getContext().getSelf();
    ActorRef<PageArena.Command> arena = m.request().arena();
    ActorRef<WritebackResult> done = Gather.spawn(getContext(), 1, WritebackResult.NONE, (a, r) -> r,
        r -> self.tell(new RoundDone(r, arena)), ROUND_TIMEOUT, r -> self.tell(new RoundDone(r, arena)));
    shrinkAll((int) Math.min(Integer.MAX_VALUE, objects), WritebackMode.LRU, done);
    return this;
  }

  /** A round wrote its pages back: compact so freed objects become free pages, then tell the arena. */
  private Behavior<Command> onRoundDone(RoundDone m) {
    boolean progress = m.result().writtenBack() > 0;
    // DEBUG only: a round without progress can come many times a second at a tiny pool, and the
    // limits line (io.zswapd.limits) reports what it leads to once a tick: reject_reclaim_fail,
    // write errors, a full backing file.
    getContext().getLog().debug("writeback round: {}", m.result());
    ActorRef<CompactionResult> compacted = Gather.spawn(getContext(), 1, (CompactionResult) null, (a, r) -> r,
        r -> m.arena().tell(new PageArena.ReclaimDone(progress)), ROUND_TIMEOUT,
        r -> m.arena().tell(new PageArena.ReclaimDone(progress)));
    pool.tell(new Pool.Compact(compacted));
    return this;
  }

  private Behavior<Command> onWriteback(Writeback m) {
    ActorRef<Command> self = getContext().getSelf();
    ActorRef<WritebackResult> replyTo = m.replyTo();
    ActorRef<WritebackResult> written = Gather.spawn(getContext(), 1, WritebackResult.NONE, (a, r) -> r,
        r -> self.tell(new WrittenThenCompact(r, replyTo)), ROUND_TIMEOUT, replyTo::tell);
    shrinkAll(Integer.MAX_VALUE, m.mode(), written);
    return this;
  }

  private Behavior<Command> onWrittenThenCompact(WrittenThenCompact m) {
    WritebackResult r = m.result();
    ActorRef<WritebackResult> replyTo = m.replyTo();
    ActorRef<CompactionResult> compacted = Gather.spawn(getContext(), 1, (CompactionResult) null,
        (a, c) -> c, c -> replyTo.tell(r), ROUND_TIMEOUT, c -> replyTo.tell(r));
    pool.tell(new Pool.Compact(compacted));
    return this;
  }

  /** Spreads a writeback over every export with a backing file and sums their answers into {@code replyTo}. */
  private void shrinkAll(int maxPages, WritebackMode mode, ActorRef<WritebackResult> replyTo) {
    int share = maxPages == Integer.MAX_VALUE ? Integer.MAX_VALUE
        : Math.max(1, (maxPages + backed.size() - 1) / Math.max(1, backed.size()));
    ActorRef<WritebackResult> sum = Gather.spawn(getContext(), backed.size(), WritebackResult.NONE,
        WritebackResult::plus, replyTo::tell, ROUND_TIMEOUT, replyTo::tell);
    for (ActorRef<SwapType.Command> s : backed) {
      s.tell(new SwapType.Shrink(share, mode, sum));
    }
  }
}
