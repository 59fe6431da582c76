package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.WriteReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import kamon.metric.Histogram;

/**
 * A tree shard's writeback (zswap's shrinker, zram's writeback): the CLOCK hand over the
 * shard's entries, the victims it chose, every backing write in flight (a victim's, or a raw
 * page's sent straight to the backing file by a store) and the invalidations that wait for
 * those writes to end. The entries themselves stay the shard's; this reads and marks them
 * through {@link TreeShard#entries()}.
 *
 * <p>Owned by one {@link TreeShard}, made in its constructor and called only from its message
 * handlers, so only on that actor's thread; never handed to another actor or thread.
 */
final class ShardWriteback {
  /** One shrink request's victims; answered when the last one is written, failed or cancelled. */
  private static final class ShrinkJob {
    final ActorRef<WritebackResult> replyTo;
    int outstanding = 1; // held until selection ends
    long written;
    long failed;
    long refused;

    ShrinkJob(ActorRef<WritebackResult> replyTo) {
      this.replyTo = replyTo;
    }

    void done() {
      if (--outstanding == 0) {
        replyTo.tell(new WritebackResult(written, failed, refused));
      }
    }
  }

  /** A page being written back: the generation of its write, the job that chose it, and when. */
  private record Victim(long generation, ShrinkJob job, long startNanos) {}

  private final TreeShard shard;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final ActorRef<BackingStore.Command> backing;
  private final Histogram writebackLatency;
  private final ShardCounters counters;
  private final ActorRef<SizeClass.StoredBytes> victimAdapter;
  private final ActorRef<WriteReply> writeAdapter;
  private final Map<Integer, Victim> victims = new HashMap<>();
  /** Length of every backing write in flight, by generation, so a stale one can be freed. */
  private final Map<Long, Integer> writesInFlight = new HashMap<>();
  /** Area invalidations waiting for the backing writes in flight to finish: their replies. */
  private final List<Runnable> awaitingWriteDrain = new ArrayList<>();
  private int clockHand;

  /**
   * @param backing          the export's backing store, or null when it has no backing file
   * @param writebackLatency where each page's writeback time is recorded, or null
   */
  ShardWriteback(TreeShard shard, List<ActorRef<SizeClass.Command>> classes, ActorRef<BackingStore.Command> backing,
      Histogram writebackLatency, ShardCounters counters, ActorRef<SizeClass.StoredBytes> victimAdapter,
      ActorRef<WriteReply> writeAdapter) {
    this.shard = shard;
    this.classes = classes;
    this.backing = backing;
    this.writebackLatency = writebackLatency;
    this.counters = counters;
    this.victimAdapter = victimAdapter;
    this.writeAdapter = writeAdapter;
  }

  /**
   * Chooses victims with the CLOCK hand and starts their writeback. LRU gives referenced pages
   * a second chance (clears the bit and passes); IDLE takes only pages not referenced since the
   * last {@link TreeShard.MarkIdle}; HUGE only raw pages; ALL every page in the pool.
   */
  void shrink(TreeShard.Shrink m) {
    ShrinkJob job = new ShrinkJob(m.replyTo());
    long[] entries = shard.entries();
    if (backing != null && entries != null) {
      int limit = m.mode() == WritebackMode.LRU ? 2 * TreeShard.PAGES : TreeShard.PAGES;
      int started = 0;
      for (int scanned = 0; scanned < limit && started < m.maxPages(); scanned++) {
        int slot = clockHand;
        clockHand = (clockHand + 1) & TreeShard.PAGE_MASK;
        long e = entries[slot];
        if (Entry.state(e) != Entry.STORED || shard.isPending(slot)) {
          continue;
        }
        boolean referenced = Entry.referenced(e);
        boolean take = switch (m.mode()) {
          case LRU -> !referenced;
          case IDLE -> !referenced;
          case HUGE -> Entry.length(e) == PageImage.PAGE_SIZE;
          case ALL -> true;
        };
        if (!take) {
          if (m.mode() == WritebackMode.LRU) {
            entries[slot] = Entry.withoutReferenced(e); // second chance
          }
          continue;
        }
        startVictim(entries, slot, e, job);
        started++;
      }
    }
    job.done();
  }

  /** Marks the page and asks its size class for the stored bytes, in one step of the owner. */
  private void startVictim(long[] entries, int slot, long e, ShrinkJob job) {
    long generation = shard.newGeneration();
    entries[slot] = Entry.writingBack(e);
    victims.put(slot, new Victim(generation, job, System.nanoTime()));
    job.outstanding++;
    long h = Entry.handle(e);
    classes.get(Handle.classIndex(h))
        .tell(new SizeClass.ReadStored(Handle.slot(h), Entry.length(e), slot, generation, victimAdapter));
  }

  /** The victim was freed (invalidated or rewritten) before its writeback finished. */
  void cancelVictim(int slot) {
    Victim v = victims.remove(slot);
    if (v != null) {
      v.job().done();
    }
  }

  void victimBytes(SizeClass.StoredBytes b) {
    Victim v = victims.get(b.tag());
    if (v == null || v.generation() != b.generation()) {
      return; // cancelled before its bytes arrived: nothing was written, nothing to undo
    }
    write(b.bytes(), b.tag(), b.generation());
  }

  /** Writes {@code bytes} to the backing file, answered to {@link #written} with this tag and generation. */
  void write(byte[] bytes, int slot, long generation) {
    writesInFlight.put(generation, bytes.length);
    backing.tell(new BackingStore.Write(bytes, slot, generation, writeAdapter));
  }

  /** A backing write finished: a victim's, a store's the shard is waiting for, or a stale one. */
  void written(WriteReply r) {
    int slot = r.tag();
    Integer length = writesInFlight.remove(r.generation());
    Victim v = victims.get(slot);
    if (v != null && v.generation() == r.generation()) {
      victimWritten(slot, v, r);
    } else if (!shard.storeWritten(slot, r) && r instanceof WriteReply.Written w) {
      backing.tell(new BackingStore.Free(w.slotOffset(), length)); // stale: undo, never apply
    }
    if (writesInFlight.isEmpty() && !awaitingWriteDrain.isEmpty()) {
      awaitingWriteDrain.forEach(Runnable::run);
      awaitingWriteDrain.clear();
    }
  }

  private void victimWritten(int slot, Victim v, WriteReply r) {
    victims.remove(slot);
    long[] entries = shard.entries();
    long e = entries[slot];
    if (r instanceof WriteReply.Written w) {
      shard.freeHandle(Entry.handle(e));
      counters.removePooled(Entry.length(e), shard.isRecompressed(e));
      entries[slot] = Entry.writtenBack(w.slotOffset(), Entry.length(e), Entry.codec(e));
      counters.writtenBackPages++;
      counters.writebacks++;
      v.job().written++;
      if (writebackLatency != null) {
        writebackLatency.record(System.nanoTime() - v.startNanos());
      }
    } else {
      entries[slot] = Entry.storedAgain(e); // the page stays in memory
      countWriteProblem(r, v.job());
    }
    v.job().done();
  }

  /** A store's write was refused (backing file full) or failed. */
  void countWriteProblem(WriteReply r) {
    countWriteProblem(r, null);
  }

  private void countWriteProblem(WriteReply r, ShrinkJob job) {
    if (r instanceof WriteReply.WriteRefused) {
      counters.backingFull++;
      if (job != null) {
        job.refused++;
      }
    } else {
      counters.writeErrors++;
      if (job != null) {
        job.failed++;
      }
    }
  }

  /** Runs {@code reply} once no backing write is in flight: now, or when the last one finishes. */
  void afterWritesInFlight(Runnable reply) {
    if (writesInFlight.isEmpty()) {
      reply.run();
    } else {
      awaitingWriteDrain.add(reply);
    }
  }
}
