package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.codec.CorruptPageException;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.tree.ShardJobs.LoadJob;
import io.zswapd.actors.tree.ShardJobs.LoadOp;
import io.zswapd.actors.tree.ShardJobs.Outbox;
import io.zswapd.actors.tree.ShardJobs.PatchOp;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.ReadReply;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A tree shard's loads and patches (read-modify-write): where a page's bytes are read from
 * (its size class, its same-filled word, the backing file), the range loads waiting for
 * their parts, the loads waiting for a backing-file read, and a patch's read of its page's
 * current bytes. Patches are here because a patch starts as a load of its page and shares the
 * backing-file reads with loads; the patched page is then stored by the shard like any other.
 *
 * <p>Where a load's bytes come from:
 * <ul>
 *   <li>a single page at rest in the pool: a read in the turn's work of its size class, which
 *       copies it out; one task decompresses the class's reads of the turn and answers the
 *       callers directly;</li>
 *   <li>a range's pages at rest in the pool: one {@link SizeClass.ReadMany} per class, sent at
 *       once (before any free of the turn); the shard decompresses them into the range;</li>
 *   <li>same-filled and never-written pages: filled in the reply (a single page's in the reply
 *       task, off this thread);</li>
 *   <li>pages with work pending or in the backing file: one {@link LoadOp} each, in the page's
 *       turn, counted by the request's {@link LoadJob}.</li>
 * </ul>
 *
 * <p>Owned by one {@link TreeShard}, made in its constructor and called only from its message
 * handlers, so only on that actor's thread; never handed to another actor or thread.
 */
final class ShardLoads {
  private static final CodecKind[] CODECS = CodecKind.values();
  private final TreeShard shard;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final ActorRef<BackingStore.Command> backing;
  private final ShardCounters counters;
  private final ActorRef<LoadReply> patchAdapter;
  private final ActorRef<ReadReply> readAdapter;
  private final ActorRef<SizeClass.ObjectsRead> objectsAdapter;
  private final Outbox outbox;
  /** Jobs with parts outstanding, by id (range loads, and single loads that had to wait). */
  private final Map<Long, LoadJob> jobs = new HashMap<>();
  private long nextJob = 1;
  /** Loads waiting for a backing-file read of their page, in order. */
  private final Map<Integer, ArrayDeque<LoadOp>> backingLoads = new HashMap<>();

  ShardLoads(TreeShard shard, List<ActorRef<SizeClass.Command>> classes, ActorRef<BackingStore.Command> backing, ShardCounters counters, ActorRef<LoadReply> patchAdapter,
      ActorRef<ReadReply> readAdapter, ActorRef<SizeClass.ObjectsRead> objectsAdapter, Outbox outbox) {
    this.shard = shard;
    this.classes = classes;
    this.backing = backing;
    this.counters = counters;
    this.patchAdapter = patchAdapter;
    this.readAdapter = readAdapter;
    this.objectsAdapter = objectsAdapter;
    this.outbox = outbox;
  }

  // ---- single pages -------------------------------------------------------------------------

  /** A single-page load: answered by its size class, from its word, or through a job when it must wait. */
  void load(EngineCommand.Load l) {
    int slot = TreeShard.slotOf(l.pageIndex());
    long e = entry(slot);
    int state = Entry.state(e);
    if (shard.isPending(slot) || state == Entry.WRITTEN_BACK) {
      LoadJob job = newJob(l.pageIndex(), 1, l.replyTo(), null);
      job.outstanding++;
      shard.perPage(slot, new LoadOp(l.pageIndex(), job));
      partDone(job);
      return;
    }
    counters.loads++;
    if (Entry.inPool(e)) {
      if (state != Entry.WRITING_BACK) {
        shard.entries()[slot] = Entry.withReferenced(e);
      }
      long h = Entry.handle(e);
      shard.workFor(Handle.classIndex(h)).read(Handle.slot(h), Entry.length(e), Entry.codec(e), l.pageIndex(),
          l.replyTo());
    } else {
      outbox.filled(l.replyTo(), l.pageIndex(), state == Entry.SAME_FILLED ? shard.word(slot) : 0);
    }
  }

  /** A page's load in its turn, for a job (after pending work, or a page of a range). */
  void load(int slot, LoadOp op) {
    LoadJob job = op.job();
    long e = entry(slot);
    switch (Entry.state(e)) {
      case Entry.STORED, Entry.WRITING_BACK, Entry.RECOMPRESSING -> {
        if (Entry.state(e) != Entry.WRITING_BACK) {
          shard.entries()[slot] = Entry.withReferenced(e);
        }
        counters.loads++;
        long h = Entry.handle(e);
        if (job.single()) {
          // the class answers the caller; the job only waited for the page's turn
          shard.workFor(Handle.classIndex(h)).read(Handle.slot(h), Entry.length(e), Entry.codec(e), op.pageIndex(),
              job.pageReplyTo);
          job.outstanding = 0; // answered by the class, not by the job
          jobs.remove(job.id);
        } else {
          classes.get(Handle.classIndex(h)).tell(new SizeClass.ReadMany(new int[] {Handle.slot(h)},
              new int[] {Entry.length(e)}, new byte[] {(byte) Entry.codec(e).ordinal()},
              new int[] {(int) (op.pageIndex() - job.firstPage)}, 1, job.id, objectsAdapter));
        }
      }
      case Entry.WRITTEN_BACK -> {
        counters.loads++;
        counters.loadsFromBacking++;
        backingLoads.computeIfAbsent(slot, k -> new ArrayDeque<>(1)).add(op);
        readBacking(e, op.pageIndex());
      }
      case Entry.SAME_FILLED -> {
        counters.loads++;
        job.fill(op.pageIndex(), shard.word(slot));
        partDone(job);
      }
      default -> {
        counters.loads++;
        partDone(job);
      }
    }
  }

  // ---- ranges -------------------------------------------------------------------------------

  /**
   * A range load: pages at rest in the pool are read with one {@link SizeClass.ReadMany} per
   * class, same-filled ones filled at once, the rest (pending, written back) in their turn.
   */
  void loadRange(EngineCommand.LoadRange m) {
    walk(newJob(m.firstPage(), m.pageCount(), null, m.replyTo(), null));
  }

  /**
   * Images of pages as the pool keeps them: as many pages from {@code firstPage} as the request
   * allows by count and stored bytes, each read as a range load reads it, but not decompressed.
   */
  void loadImages(TreeShard.LoadImages m) {
    long[] entries = shard.entries();
    int first = TreeShard.slotOf(m.firstPage());
    int limit = Math.max(1, Math.min(m.maxPages(), TreeShard.PAGES - first));
    int count = 0;
    long bytes = 0;
    while (count < limit) {
      long e = entries == null ? 0 : entries[first + count];
      int state = Entry.state(e);
      int length = Entry.inPool(e) || state == Entry.WRITTEN_BACK ? Entry.length(e)
          : state == Entry.SAME_FILLED ? Long.BYTES : 0;
      if (count > 0 && bytes + length > m.maxBytes()) {
        break;
      }
      bytes += length;
      count++;
    }
    walk(newJob(m.firstPage(), count, null, null, m.replyTo()));
  }

  /** Reads the pages of a range or images job. */
  private void walk(LoadJob job) {
    long[] entries = shard.entries(); // a load never makes the array, so this holds for the whole walk
    int first = TreeShard.slotOf(job.firstPage);
    int[][] slots = null;
    int[][] lengths = null;
    byte[][] codecs = null;
    int[][] positions = null;
    int[] counts = null;
    for (int i = 0; i < job.count; i++) {
      int slot = first + i;
      long e = entries == null ? 0 : entries[slot];
      int state = Entry.state(e);
      if (shard.isPending(slot) || state == Entry.WRITTEN_BACK) {
        job.outstanding++;
        shard.perPage(slot, new LoadOp(job.firstPage + i, job));
        continue;
      }
      counters.loads++;
      if (Entry.inPool(e)) {
        if (state != Entry.WRITING_BACK) {
          entries[slot] = Entry.withReferenced(e);
        }
        if (slots == null) {
          int n = classes.size();
          slots = new int[n][];
          lengths = new int[n][];
          codecs = new byte[n][];
          positions = new int[n][];
          counts = new int[n];
        }
        long h = Entry.handle(e);
        int c = Handle.classIndex(h);
        if (slots[c] == null) {
          slots[c] = new int[job.count - i];
          lengths[c] = new int[job.count - i];
          codecs[c] = new byte[job.count - i];
          positions[c] = new int[job.count - i];
        }
        int k = counts[c]++;
        slots[c][k] = Handle.slot(h);
        lengths[c][k] = Entry.length(e);
        codecs[c][k] = (byte) Entry.codec(e).ordinal();
        positions[c][k] = i;
      } else if (state == Entry.SAME_FILLED) {
        job.fill(job.firstPage + i, shard.word(slot));
      }
    }
    if (counts != null) {
      for (int c = 0; c < counts.length; c++) {
        if (counts[c] > 0) {
          job.outstanding++;
          classes.get(c).tell(new SizeClass.ReadMany(slots[c], lengths[c], codecs[c], positions[c], counts[c], job.id,
              objectsAdapter));
        }
      }
    }
    partDone(job);
  }

  /** A range's objects, copied out by their class: decompressed here into the range. */
  void objectsRead(SizeClass.ObjectsRead r) {
    LoadJob job = jobs.get(r.job());
    int at = 0;
    for (int i = 0; i < r.count(); i++) {
      int length = r.lengths()[i];
      int position = r.positions()[i];
      if (job.images != null) {
        image(job, r, at, length, position, i);
        at += length;
        continue;
      }
      try {
        PageCompressor.decompress(r.bytes(), at, length, CODECS[r.codecs()[i]], job.pages,
            position * PageImage.PAGE_SIZE);
      } catch (CorruptPageException e) {
        long page = job.firstPage + position;
        job.fail(page, new EngineError(ErrorCode.CORRUPT, "page " + page + ": " + e.getMessage()));
      }
      at += length;
    }
    partDone(job);
  }

  /** An object of an images job, kept as it is stored: raw when it fills a page, else compressed. */
  private void image(LoadJob job, SizeClass.ObjectsRead r, int at, int length, int position, int i) {
    byte[] bytes = java.util.Arrays.copyOfRange(r.bytes(), at, at + length);
    if (length == PageImage.PAGE_SIZE) {
      job.images[position] = new PageImage.Raw(bytes);
    } else if (CODECS[r.codecs()[i]] == shard.poolCodec()) {
      job.images[position] = new PageImage.Compressed(bytes);
    } else {
      // recompressed with the export's second codec: not in the pool's, which the images speak
      try {
        byte[] page = new byte[PageImage.PAGE_SIZE];
        PageCompressor.decompress(bytes, 0, length, CODECS[r.codecs()[i]], page, 0);
        job.images[position] = new PageImage.Raw(page);
      } catch (CorruptPageException e) {
        long page = job.firstPage + position;
        job.fail(page, new EngineError(ErrorCode.CORRUPT, "page " + page + ": " + e.getMessage()));
      }
    }
  }

  private LoadJob newJob(long firstPage, int count, ActorRef<LoadReply> pageReplyTo,
      ActorRef<io.zswapd.protocol.engine.LoadRangeReply> rangeReplyTo) {
    return newJob(firstPage, count, pageReplyTo, rangeReplyTo, null);
  }

  private LoadJob newJob(long firstPage, int count, ActorRef<LoadReply> pageReplyTo,
      ActorRef<io.zswapd.protocol.engine.LoadRangeReply> rangeReplyTo, ActorRef<ImagesReply> imagesReplyTo) {
    LoadJob job = new LoadJob(nextJob++, firstPage, count, pageReplyTo, rangeReplyTo, imagesReplyTo);
    jobs.put(job.id, job);
    return job;
  }

  private void partDone(LoadJob job) {
    if (job.outstanding == 0) {
      return; // handed to a size class, which answers it
    }
    if (job.partDone(outbox)) {
      jobs.remove(job.id);
    }
  }

  private long entry(int slot) {
    long[] entries = shard.entries();
    return entries == null ? 0 : entries[slot];
  }

  // ---- the backing file ---------------------------------------------------------------------

  /** Reads the page written back in entry {@code e}; answered to {@link #backingRead}. */
  private void readBacking(long e, long pageIndex) {
    backing.tell(new BackingStore.Read(Entry.backingOffset(e), Entry.length(e), pageIndex, Entry.codec(e),
        readAdapter));
  }

  /**
   * A backing-file read finished: it answers the oldest load waiting for this page, or else
   * the patch waiting for the page's base. (Every read of one slot reads the same bytes, so
   * which request it was issued for does not matter.)
   */
  void backingRead(ReadReply r) {
    int slot = TreeShard.slotOf(r.pageIndex());
    ArrayDeque<LoadOp> waiting = backingLoads.get(slot);
    LoadOp load = waiting == null ? null : waiting.poll();
    if (waiting != null && waiting.isEmpty()) {
      backingLoads.remove(slot);
    }
    byte[] page = null;
    EngineError error;
    if (r instanceof ReadReply.ReadDone done) {
      try {
        page = PageCompressor.decompress(done.bytes(), done.codec());
        error = null;
      } catch (CorruptPageException e) {
        // Damaged in the file: an error for this page only; the shard serves everything else.
        counters.readErrors++;
        error = new EngineError(ErrorCode.CORRUPT, "page " + r.pageIndex()
            + " read back from the backing file does not decompress: " + e.getMessage());
      }
    } else {
      counters.readErrors++;
      error = new EngineError(ErrorCode.IO_ERROR, "page " + r.pageIndex()
          + " could not be read from the backing file: " + ((ReadReply.ReadFailed) r).message());
    }
    if (load != null) {
      LoadJob job = load.job();
      if (error != null) {
        job.fail(r.pageIndex(), error);
      } else {
        job.copy(r.pageIndex(), page);
      }
      partDone(job);
    } else if (error != null) {
      shard.patchFailed(slot, error);
    } else {
      shard.patchBaseArrived(slot, page);
    }
  }

  // ---- patch (read-modify-write) ------------------------------------------------------------

  void patch(int slot, PatchOp m) {
    long e = entry(slot);
    int state = Entry.state(e);
    if (Entry.inPool(e) || state == Entry.WRITTEN_BACK) {
      shard.patchWaits(slot, m);
      if (state == Entry.WRITTEN_BACK) {
        readBacking(e, m.pageIndex());
      } else {
        long h = Entry.handle(e);
        classes.get(Handle.classIndex(h)).tell(new SizeClass.Read(Handle.slot(h), Entry.length(e), Entry.codec(e),
            m.pageIndex(), patchAdapter));
      }
    } else {
      byte[] page = ShardJobs.filled(state == Entry.SAME_FILLED ? shard.word(slot) : 0);
      shard.patchWaits(slot, m);
      shard.patchBaseArrived(slot, page);
    }
  }

  /** The page's current bytes, read from its size class for the patch waiting on them. */
  void patchBase(LoadReply reply) {
    int slot = TreeShard.slotOf(reply.pageIndex());
    if (reply instanceof LoadReply.Loaded loaded) {
      shard.patchBaseArrived(slot, loaded.page());
    } else {
      shard.patchFailed(slot, ((LoadReply.LoadFailed) reply).error());
    }
  }
}
