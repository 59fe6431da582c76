package io.zswapd.actors.arena;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The page arena: the only owner of off-heap memory.
 *
 * <p>Memory is taken from the OS in chunks ({@code arena-chunk-size}, 2 MiB = 512 pages by
 * default) and handed to size classes a batch of pages at a time ({@link Grant}); size classes
 * give pages back with {@link Return}. A page travels as an int {@link PageId}
 * ({@code chunk id * pagesPerChunk + index}, at most 2^31 pages = 8 TiB), never as an object.
 * The arena keeps, per chunk, a bitmap of pages in use: it finds free pages and catches a
 * double return at once.
 *
 * <pre>
 *  chunks (ArrayList&lt;Chunk&gt;, index = chunk id; null = released id, listed in freeIds)
 *  +---------+---------+------+---------+
 *  | chunk 0 | chunk 1 | null | chunk 3 |     ids of released chunks are reused first,
 *  +---------+---------+------+---------+     so ids stay below (chunks held at the peak)
 * </pre>
 *
 * <p>Two policies keep memory returnable:
 * <ul>
 *   <li>grants come from the fullest chunk that still has a free page, so free pages gather
 *       in few chunks and the others empty out;</li>
 *   <li>a chunk is released to the OS the moment its last page comes back (unmapped, or freed
 *       through the direct buffer's cleaner), not when the garbage collector gets to it;</li>
 *   <li>with {@code mmap} chunks ({@link ChunkMemory}), the free pages inside a chunk go back
 *       too: {@value #DISCARD_AFTER_MS} ms after pages come back to a chunk, those still free are
 *       discarded ({@code madvise(MADV_DONTNEED)}), so the memory held follows the pages in use
 *       without waiting for migration to empty whole chunks. The delay lets pages freed and
 *       granted again under load (a zspage freed, another made) skip the round trip.</li>
 * </ul>
 *
 * <p>The pool limit ({@code pool.max-size}) is enforced here, with zswap's hysteresis: once a
 * grant would cross the limit, {@code pool_limit_hit} counts and grants are refused until the
 * pages in use fall below {@code accept-threshold} of the limit.
 *
 * <p>With a reclaimer (the writeback worker, when some export has a backing file) a grant at
 * the limit is not refused at once: it waits while the reclaimer writes cold pages back, and
 * is served as soon as pages in use fall below the accept threshold. Grants still waiting when
 * the reclaimer gives up, or after {@code reclaim-timeout}, are refused
 * ({@code reject_reclaim_fail}).
 *
 * <p>Page migration (the {@code MigrationWorker}) empties sparse chunks: {@link PlanEvacuation}
 * picks the sparsest chunks whose pages in use fit in the free pages of the others and marks
 * them evacuating, so no grant takes a page from them; {@link GrantForMigration} hands out
 * destination pages from the other chunks only (never a new chunk, and past the limit: the old
 * page comes back right after the copy); each evacuated chunk is released like any other when
 * its last page comes back. {@link EndEvacuation} clears the marks.
 */
public final class PageArena extends AbstractBehavior<PageArena.Command> {

  public sealed interface Command {}

  /** Ask for at least {@code min} and at most {@code max} pages. */
  public record Grant(int min, int max, ActorRef<GrantReply> replyTo) implements Command {}

  /** Give pages back; the page ids {@code pageIds[0..count)} are returned. */
  public record Return(int[] pageIds, int count) implements Command {}

  public record GetStats(ActorRef<ArenaStats> replyTo) implements Command {}

  /**
   * Change the limit at run time (bytes, rounded down to pages); {@code applied}, when not null,
   * is told once it is in force, so that a grant asked for after that answer is judged by it.
   */
  public record SetLimit(long limitBytes, long acceptBelowBytes, ActorRef<akka.Done> applied) implements Command {}

  /** Reset mem_used_max to the current figure. */
  public record ResetMax() implements Command {}

  /** Who makes room at the limit, and how long a grant may wait for it. */
  public record SetReclaimer(ActorRef<RoomNeeded> reclaimer, Duration timeout) implements Command {}

  /** To the reclaimer: pages in use must fall below {@code acceptBelowPages}. */
  public record RoomNeeded(long pagesInUse, long acceptBelowPages, ActorRef<Command> arena) {}

  /** From the reclaimer: it stopped; {@code madeRoom} false when it could not free enough. */
  public record ReclaimDone(boolean madeRoom) implements Command {}

  private record ReclaimTimeout() implements Command {}

  /** Discard the free pages of the chunks pages came back to. */
  private enum DiscardFree implements Command { INSTANCE }

  /** How long free pages stay resident before they are discarded: {@value} ms. */
  static final long DISCARD_AFTER_MS = 1000;

  /**
   * Mark the sparsest chunks (at least {@code minFreeShare} of their pages free) for evacuation:
   * as many as the other chunks' free pages can take, up to about {@code maxPages} pages in use.
   */
  public record PlanEvacuation(double minFreeShare, int maxPages, ActorRef<EvacuationPlan> replyTo)
      implements Command {}

  /** The chunks marked for evacuation (ascending ids) and the pages in use in them. */
  public record EvacuationPlan(int[] chunkIds, long pagesInUse) {}

  /** Destination pages for migration: up to {@code count}, outside evacuating chunks, in no new chunk. */
  public record GrantForMigration(int count, ActorRef<GrantReply> replyTo) implements Command {}

  /** The evacuation pass is over: its chunks may be granted from again. */
  public record EndEvacuation() implements Command {}

  public sealed interface GrantReply {}

  /**
   * The granted page ids, and the chunks they lie in (each chunk once). A chunk id is reused
   * after its chunk is released, so a holder that caches chunks by id (a size class does)
   * updates its cache from every grant: the chunk of a granted page is always the current one
   * and stays so until the page is returned.
   */
  public record Granted(int[] pageIds, Chunk[] chunks) implements GrantReply {}

  public record GrantRefused(long limitBytes, long usedBytes) implements GrantReply {}

  /** @param memory where chunks come from ({@link OffHeap#choose}) */
  public static Behavior<Command> create(int chunkBytes, long limitBytes, long acceptBelowBytes,
      ChunkMemory memory) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(
        timers -> new PageArena(ctx, timers, chunkBytes, limitBytes, acceptBelowBytes, memory)));
  }

  private final int pagesPerChunk;
  private final ChunkMemory memory;
  /** Chunks pages came back to since the last discard (each listed once: {@code Chunk.discardListed}). */
  private final List<Chunk> toDiscard = new ArrayList<>();
  private boolean discarding;
  private long pagesDiscarded;
  private final List<Chunk> chunks = new ArrayList<>(); // index = chunk id; null = released id
  private final ArrayList<Integer> freeIds = new ArrayList<>();
  private long limitPages;
  private long acceptBelowPages;
  private boolean limitHit;
  private final TimerScheduler<Command> timers;
  private ActorRef<RoomNeeded> reclaimer;
  private Duration reclaimTimeout;
  private boolean reclaiming;
  private final ArrayDeque<Grant> waitingGrants = new ArrayDeque<>();
  private long rejectReclaimFail;

  private long pagesInUse;
  private long maxPagesInUse;
  private long chunksHeld;
  private long chunksAllocated;
  private long chunksReleased;
  private long poolLimitHit;

  private PageArena(ActorContext<Command> ctx, TimerScheduler<Command> timers, int chunkBytes, long limitBytes,
      long acceptBelowBytes, ChunkMemory memory) {
    super(ctx);
    this.timers = timers;
    this.memory = memory;
    this.discarding = memory.canDiscard();
    this.pagesPerChunk = chunkBytes / PageId.PAGE_SIZE;
    setLimit(limitBytes, acceptBelowBytes);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Grant.class, this::onGrant)
        .onMessage(Return.class, this::onReturn)
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(SetLimit.class, m -> {
          setLimit(m.limitBytes(), m.acceptBelowBytes());
          if (m.applied() != null) {
            m.applied().tell(akka.Done.getInstance());
          }
          return this;
        })
        .onMessage(ResetMax.class, m -> {
          maxPagesInUse = pagesInUse;
          return this;
        })
        .onMessage(SetReclaimer.class, m -> {
          reclaimer = m.reclaimer();
          reclaimTimeout = m.timeout();
          return this;
        })
        .onMessage(ReclaimDone.class, this::onReclaimDone)
        .onMessage(ReclaimTimeout.class, m -> {
          refuseWaiting();
          return this;
        })
        .onMessage(DiscardFree.class, m -> discardFree())
        .onMessage(PlanEvacuation.class, this::onPlanEvacuation)
        .onMessage(GrantForMigration.class, this::onGrantForMigration)
        .onMessage(EndEvacuation.class, m -> {
          endEvacuation();
          return this;
        })
        .onSignal(PostStop.class, s -> releaseAll())
        .build();
  }

  private void setLimit(long limitBytes, long acceptBelowBytes) {
    this.limitPages = limitBytes / PageId.PAGE_SIZE;
    this.acceptBelowPages = acceptBelowBytes / PageId.PAGE_SIZE;
    if (limitHit && pagesInUse < acceptBelowPages) {
      limitHit = false;
    }
  }

  private Behavior<Command> onGrant(Grant g) {
    if (!waitingGrants.isEmpty()) {
      waitingGrants.add(g); // behind the ones already waiting for room
      return this;
    }
    if (limitHit && pagesInUse >= acceptBelowPages) {
      atLimit(g);
      return this;
    }
    limitHit = false;
    long room = limitPages - pagesInUse;
    if (room < g.min()) {
      limitHit = true;
      atLimit(g);
      return this;
    }
    grant(g, room);
    return this;
  }

  /** A grant the limit stops: it waits for the reclaimer, or is refused when there is none. */
  private void atLimit(Grant g) {
    poolLimitHit++;
    if (reclaimer == null) {
      g.replyTo().tell(refusal());
      return;
    }
    waitingGrants.add(g);
    if (!reclaiming) {
      reclaiming = true;
      reclaimer.tell(new RoomNeeded(pagesInUse, acceptBelowPages, getContext().getSelf()));
    }
    if (!timers.isTimerActive(RECLAIM_TIMER)) {
      timers.startSingleTimer(RECLAIM_TIMER, new ReclaimTimeout(), reclaimTimeout);
    }
  }

  private static final Object RECLAIM_TIMER = "reclaim";

  /** Serves waiting grants in order while there is room; the rest keep waiting. */
  private void serveWaiting() {
    while (!waitingGrants.isEmpty() && !limitHit) {
      Grant g = waitingGrants.peek();
      long room = limitPages - pagesInUse;
      if (room < g.min()) {
        limitHit = true;
        return;
      }
      waitingGrants.poll();
      grant(g, room);
    }
    if (waitingGrants.isEmpty()) {
      timers.cancel(RECLAIM_TIMER);
    }
  }

  private void refuseWaiting() {
    for (Grant g : waitingGrants) {
      rejectReclaimFail++;
      g.replyTo().tell(refusal());
    }
    waitingGrants.clear();
    timers.cancel(RECLAIM_TIMER);
  }

  private Behavior<Command> onReclaimDone(ReclaimDone m) {
    reclaiming = false;
    if (limitHit && pagesInUse >= acceptBelowPages) {
      if (m.madeRoom() && !waitingGrants.isEmpty()) {
        reclaiming = true; // it freed some but not enough yet: go on
        reclaimer.tell(new RoomNeeded(pagesInUse, acceptBelowPages, getContext().getSelf()));
      } else {
        refuseWaiting();
      }
    } else {
      limitHit = false;
      serveWaiting();
    }
    return this;
  }

  private void grant(Grant g, long room) {
    int n = (int) Math.min(g.max(), room);
    int[] out = new int[n];
    Chunk[] from = new Chunk[n];
    int chunkCount = 0;
    for (int i = 0; i < n; i++) {
      Chunk c = chunkToTakeFrom();
      if (c == null) {
        // The JVM refused a new chunk (direct memory exhausted) or page ids ran out: a full
        // pool, not a crash. (chunkToTakeFrom logged which.)
        onReturn(new Return(out, i));
        poolLimitHit++;
        g.replyTo().tell(refusal());
        return;
      }
      out[i] = c.take();
      pagesInUse++;
      if (chunkCount == 0 || from[chunkCount - 1] != c) {
        from[chunkCount++] = c; // grants come from the fullest chunk until it is full: runs, not a mix
      }
    }
    maxPagesInUse = Math.max(maxPagesInUse, pagesInUse);
    g.replyTo().tell(new Granted(out, Arrays.copyOf(from, chunkCount)));
  }

  private GrantRefused refusal() {
    return new GrantRefused(limitPages * PageId.PAGE_SIZE, pagesInUse * PageId.PAGE_SIZE);
  }

  /** The fullest chunk that has a free page; a new chunk when none has; null when none can be made. */
  private Chunk chunkToTakeFrom() {
    Chunk best = null;
    for (Chunk c : chunks) {
      if (c != null && c.freeCount > 0 && !c.evacuating && (best == null || c.freeCount < best.freeCount)) {
        best = c;
        if (c.freeCount == 1) {
          break;
        }
      }
    }
    return best != null ? best : newChunk();
  }

  private Chunk newChunk() {
    int id;
    if (freeIds.isEmpty()) {
      id = chunks.size();
      if (id >= PageId.maxChunks(pagesPerChunk)) {
        getContext().getLog().warn("no page ids left for a new chunk: {} chunks of {} pages reach the limit of "
            + "{} pages (8 TiB)", id, pagesPerChunk, PageId.MAX_PAGES);
        return null;
      }
      chunks.add(null);
    } else {
      id = freeIds.remove(freeIds.size() - 1);
    }
    Chunk c;
    try {
      c = new Chunk(id, pagesPerChunk, memory);
    } catch (OutOfMemoryError noMemory) {
      if (memory.limitedByDirectMemory()) {
        getContext().getLog().warn("no direct memory for a new {}-byte chunk with {} bytes held; "
            + "raise -XX:MaxDirectMemorySize or lower zswapd.pool.max-size", pagesPerChunk * PageId.PAGE_SIZE,
            bytesHeldNow());
      } else {
        getContext().getLog().warn("no memory for a new {}-byte chunk with {} bytes held: {}",
            pagesPerChunk * PageId.PAGE_SIZE, bytesHeldNow(), noMemory.getMessage());
      }
      freeIds.add(id);
      return null;
    }
    chunks.set(id, c);
    chunksHeld++;
    chunksAllocated++;
    return c;
  }

  private Behavior<Command> onReturn(Return r) {
    for (int i = 0; i < r.count(); i++) {
      int pageId = r.pageIds()[i];
      int chunkId = PageId.chunkId(pageId, pagesPerChunk);
      Chunk c = pageId >= 0 && chunkId < chunks.size() ? chunks.get(chunkId) : null;
      // A page of a released chunk whose id was reused and whose page is granted again cannot
      // be told from a live one: an int names the page, not the grant.
      if (c == null || !c.give(pageId)) {
        throw new IllegalStateException("page " + PageId.index(pageId, pagesPerChunk) + " of chunk " + chunkId
            + " (page id " + pageId + ") returned to the arena twice or after release");
      }
      pagesInUse--;
      if (c.freeCount == c.pages()) {
        releaseChunk(c);
      } else if (discarding && !c.discardListed) {
        c.discardListed = true;
        toDiscard.add(c);
        if (toDiscard.size() == 1) {
          timers.startSingleTimer(DiscardFree.INSTANCE, Duration.ofMillis(DISCARD_AFTER_MS));
        }
      }
    }
    if (limitHit && pagesInUse < acceptBelowPages) {
      limitHit = false;
      serveWaiting();
    }
    return this;
  }

  // ---- evacuation (page migration) ----------------------------------------------------------

  private Behavior<Command> onPlanEvacuation(PlanEvacuation m) {
    endEvacuation();
    List<Chunk> live = new ArrayList<>();
    for (Chunk c : chunks) {
      if (c != null) {
        live.add(c);
      }
    }
    live.sort((a, b) -> Integer.compare(a.inUse(), b.inUse()));
    long[] freeAfter = new long[live.size() + 1]; // free pages in live[i..]
    for (int i = live.size() - 1; i >= 0; i--) {
      freeAfter[i] = freeAfter[i + 1] + live.get(i).freeCount;
    }
    int minFree = (int) Math.ceil(m.minFreeShare() * pagesPerChunk);
    int k = 0;
    long moving = 0;
    while (k < live.size()) {
      Chunk c = live.get(k);
      boolean sparse = c.freeCount >= minFree;
      boolean fits = moving + c.inUse() <= freeAfter[k + 1];
      boolean withinPass = k == 0 || moving + c.inUse() <= m.maxPages();
      if (!sparse || !fits || !withinPass) {
        break;
      }
      moving += c.inUse();
      k++;
    }
    int[] ids = new int[k];
    for (int i = 0; i < k; i++) {
      live.get(i).evacuating = true;
      ids[i] = live.get(i).id;
    }
    Arrays.sort(ids);
    m.replyTo().tell(new EvacuationPlan(ids, moving));
    return this;
  }

  private Behavior<Command> onGrantForMigration(GrantForMigration m) {
    int[] out = new int[m.count()];
    Chunk[] from = new Chunk[m.count()];
    int n = 0;
    int chunkCount = 0;
    while (n < m.count()) {
      Chunk c = null;
      for (Chunk x : chunks) {
        if (x != null && x.freeCount > 0 && !x.evacuating && (c == null || x.freeCount < c.freeCount)) {
          c = x;
        }
      }
      if (c == null) {
        break; // no room outside the evacuating chunks: migrate fewer pages this pass
      }
      while (n < m.count() && c.freeCount > 0) {
        out[n++] = c.take();
        pagesInUse++;
      }
      from[chunkCount++] = c;
    }
    maxPagesInUse = Math.max(maxPagesInUse, pagesInUse);
    m.replyTo().tell(new Granted(Arrays.copyOf(out, n), Arrays.copyOf(from, chunkCount)));
    return this;
  }

  private void endEvacuation() {
    for (Chunk c : chunks) {
      if (c != null) {
        c.evacuating = false;
      }
    }
  }

  private Behavior<Command> discardFree() {
    for (Chunk c : toDiscard) {
      c.discardListed = false;
      int n = discarding ? c.discardFree() : 0;
      if (n < 0) {
        discarding = false;
        getContext().getLog().warn("the OS refused to take back free pages inside chunks (madvise); they stay"
            + " resident until their chunk empties. Under mlockall this needs Linux 5.18 (MADV_DONTNEED_LOCKED)");
      } else {
        pagesDiscarded += n;
      }
    }
    toDiscard.clear();
    return this;
  }

  private void releaseChunk(Chunk c) {
    c.release();
    chunks.set(c.id, null);
    freeIds.add(c.id);
    chunksHeld--;
    chunksReleased++;
  }

  private long bytesHeldNow() {
    return chunksHeld * pagesPerChunk * (long) PageId.PAGE_SIZE;
  }

  private Behavior<Command> onGetStats(GetStats m) {
    m.replyTo().tell(stats());
    return this;
  }

  private ArenaStats stats() {
    long resident = 0;
    for (Chunk c : chunks) {
      if (c != null) {
        resident += c.residentPages();
      }
    }
    return new ArenaStats(pagesInUse, maxPagesInUse, chunksHeld,
        chunksHeld * pagesPerChunk * (long) PageId.PAGE_SIZE, chunksAllocated, chunksReleased,
        poolLimitHit, limitPages * PageId.PAGE_SIZE, limitHit, rejectReclaimFail,
        resident * PageId.PAGE_SIZE, pagesDiscarded, memory.kind(), acceptBelowPages * PageId.PAGE_SIZE);
  }

  /** On stop every chunk goes back to the OS, even if a page was never returned (a leak, logged). */
  private Behavior<Command> releaseAll() {
    if (pagesInUse > 0) {
      getContext().getLog().warn("arena stopping with {} pages still in use; releasing their chunks", pagesInUse);
    }
    for (Chunk c : chunks) {
      if (c != null) {
        releaseChunk(c);
      }
    }
    return this;
  }
}
