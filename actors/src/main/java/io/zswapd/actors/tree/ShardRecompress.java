package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.codec.CorruptPageException;
import io.zswapd.actors.codec.PageCodec;
import io.zswapd.actors.codec.PageCodecs;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.pool.ClassGeometry;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.IntMap;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.RecompressResult;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * A tree shard's recompression (zram's {@code recompress}): pages already in the pool are
 * compressed again with the export's second codec, and a page whose new copy falls in a
 * smaller size class and saves {@code minSaving} of its bytes gets the new object; the others
 * keep theirs and are marked kept (zram's {@code ZRAM_INCOMPRESSIBLE}), so no pass tries them
 * again until they are rewritten.
 *
 * <p><b>How a page goes.</b> A {@link TreeShard.Recompress} selects its candidates at once
 * (with an idle pass, before the idle mark that starts the next period). They are then taken a
 * batch at a time, one batch in flight: each page still eligible is marked
 * {@link Entry#RECOMPRESSING} with a new generation, in one step of the owner; its stored bytes
 * are copied out by its size class ({@link SizeClass.ReadMany}); one task on the dispatcher
 * decompresses them with the codec that wrote them and compresses them with the second codec;
 * the smaller copies are allocated in the turn's work of their classes; and an answer is
 * installed (the old object freed) only if the page's recompression is still the current one,
 * with the same generation.
 *
 * <p><b>Why nothing can be lost.</b> While marked, a page is read from its old object as
 * before. A store, patch or invalidate of the page frees the old object as for any stored page
 * and cancels the recompression ({@link #cancel}); its late answer then finds no current
 * generation and is undone (the new object freed), never applied, exactly as a stale store or
 * writeback answer. Writeback passes marked pages by, so a page is never written back and
 * recompressed at once. Migration and compaction move objects without changing handles, so
 * they do not see recompression at all.
 *
 * <p><b>Pace.</b> A job with a rate waits between batches so that it recompresses at most that
 * many pages a second; one without (on demand) runs its batches back to back, each behind the
 * shard's other messages, so loads and stores keep being served.
 *
 * <p>Owned by one {@link TreeShard}, made in its constructor and called only from its message
 * handlers, so only on that actor's thread; the compression task gets copies and answers with
 * a message.
 */
final class ShardRecompress {
  /** Pages in one batch: one task's work, and the pages a job holds marked at once. */
  static final int BATCH = 64;
  private static final CodecKind[] CODECS = CodecKind.values();


  /** One request's candidates and what came of them; answered when all are done. */
  private static final class Job {
    final RecompressSelection selection;
    final long nanosPerPage;
    final ActorRef<RecompressResult> replyTo;
    final int[] candidates;
    final int count;
    int next;
    long recompressed;
    long kept;
    long failed;
    long bytesSaved;

    Job(RecompressSelection selection, long nanosPerPage, ActorRef<RecompressResult> replyTo, int[] candidates, int count) {
      this.selection = selection;
      this.nanosPerPage = nanosPerPage;
      this.replyTo = replyTo;
      this.candidates = candidates;
      this.count = count;
    }

    RecompressResult result() {
      return new RecompressResult(recompressed, kept, failed, bytesSaved);
    }
  }

  /** The batch in flight: its pages, their generations, what they held when marked. */
  private static final class Batch {
    final long id;
    final Job job;
    final long startNanos = System.nanoTime();
    final int[] slots = new int[BATCH];
    final long[] generations = new long[BATCH];
    final int[] lengths = new int[BATCH];
    final int[] newLengths = new int[BATCH];
    final byte[] codecs = new byte[BATCH];
    final byte[][] stored = new byte[BATCH][];
    int size;
    int readsOutstanding;
    int allocsOutstanding;

    Batch(long id, Job job) {
      this.id = id;
      this.job = job;
    }

    int indexOf(long generation) {
      for (int i = 0; i < size; i++) {
        if (generations[i] == generation) {
          return i;
        }
      }
      return -1;
    }
  }

  private final TreeShard shard;
  private final Recompressor codec;
  private final PoolGeometry geometry;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final int lanes;
  private final ShardCounters counters;
  private final ActorRef<SizeClass.ObjectsRead> objectsAdapter;
  private final ActorRef<TreeShard.Command> self;
  private final Executor dispatcher;
  /** Sends the shard {@link TreeShard.NextBatch} after the delay. */
  private final Consumer<Duration> nextBatchIn;
  private final ArrayDeque<Job> jobs = new ArrayDeque<>();
  /** The generation of each page's current recompression, by slot: the one answer that may be installed. */
  private final IntMap<Long> current = new IntMap<>();
  private Batch batch;
  /** A batch is due (a NextBatch is on its way): none is started meanwhile. */
  private boolean batchDue;
  private long nextBatchId = 1;

  /**
   * @param codec the export's second codec, or null when it has none (then every request is
   *              answered with nothing done)
   */
  ShardRecompress(TreeShard shard, Recompressor codec, PoolGeometry geometry, List<ActorRef<SizeClass.Command>> classes,
      ShardCounters counters, ActorRef<SizeClass.ObjectsRead> objectsAdapter, ActorRef<TreeShard.Command> self,
      Executor dispatcher, Consumer<Duration> nextBatchIn) {
    this.shard = shard;
    this.codec = codec;
    this.geometry = geometry;
    this.classes = classes;
    this.lanes = classes.size() / geometry.classes().size();
    this.counters = counters;
    this.objectsAdapter = objectsAdapter;
    this.self = self;
    this.dispatcher = dispatcher;
    this.nextBatchIn = nextBatchIn;
  }

  /** The codec of recompressed pages, or null when the export has no second codec. */
  CodecKind target() {
    return codec == null ? null : codec.kind();
  }

  /** True when {@code e}, a page in the pool, is held by the second codec. */
  boolean isRecompressed(long e) {
    return codec != null && Entry.length(e) != PageImage.PAGE_SIZE && Entry.codec(e) == codec.kind();
  }

  // ---- requests ----------------------------------------------------------------------------

  /** Selects the request's candidates now (then marks idle if asked) and queues its job. */
  void request(TreeShard.Recompress m) {
    long[] entries = shard.entries();
    if (codec == null || entries == null) {
      if (m.selection().markIdle()) {
        shard.markIdle();
      }
      m.replyTo().tell(RecompressResult.NONE);
      return;
    }
    int[] candidates = new int[64];
    int count = 0;
    for (int slot = 0; slot < TreeShard.PAGES; slot++) {
      if (eligible(m.selection(), entries[slot], slot)) {
        if (count == candidates.length) {
          candidates = Arrays.copyOf(candidates, count * 2);
        }
        candidates[count++] = slot;
      }
    }
    if (m.selection().markIdle()) {
      shard.markIdle();
    }
    if (count == 0) {
      m.replyTo().tell(RecompressResult.NONE);
      return;
    }
    long nanosPerPage = m.pagesPerSecond() <= 0 ? 0 : 1_000_000_000L / m.pagesPerSecond();
    jobs.add(new Job(m.selection(), nanosPerPage, m.replyTo(), candidates, count));
    if (batch == null && !batchDue) {
      startBatch();
    }
  }

  /**
   * Whether the page at {@code slot} qualifies for {@code s} now. A page selected by an idle
   * pass that was touched since no longer does (the pass's own mark cleared the bit after
   * selecting it, so a set bit means a load or store came since).
   */
  private boolean eligible(RecompressSelection s, long e, int slot) {
    if (Entry.state(e) != Entry.STORED || Entry.kept(e) || shard.isPending(slot)) {
      return false;
    }
    int length = Entry.length(e);
    boolean raw = length == PageImage.PAGE_SIZE;
    if ((!raw && Entry.codec(e) == codec.kind()) || length < s.threshold()) {
      return false;
    }
    return s.all() || (s.huge() && raw) || (s.idle() && !Entry.referenced(e));
  }

  // ---- batches -----------------------------------------------------------------------------

  /** The delay is over, or the batch before ended: start the next one. */
  void nextBatch() {
    batchDue = false;
    if (batch == null) {
      startBatch();
    }
  }

  /** Marks the next batch of the oldest job and asks the classes for the pages' bytes. */
  private void startBatch() {
    while (!jobs.isEmpty()) {
      Job job = jobs.peek();
      Batch b = new Batch(nextBatchId++, job);
      long[] entries = shard.entries();
      while (b.size < BATCH && job.next < job.count) {
        int slot = job.candidates[job.next++];
        long e = entries[slot];
        if (!eligible(job.selection, e, slot)) {
          continue; // rewritten, freed, written back or touched since it was selected
        }
        long generation = shard.newGeneration();
        entries[slot] = Entry.recompressing(e);
        current.put(slot, generation);
        int i = b.size++;
        b.slots[i] = slot;
        b.generations[i] = generation;
        b.lengths[i] = Entry.length(e);
        b.codecs[i] = (byte) Entry.codec(e).ordinal();
      }
      if (b.size > 0) {
        batch = b;
        readStoredBytes(b, entries);
        return;
      }
      jobs.poll();
      job.replyTo.tell(job.result());
    }
  }

  /** One {@link SizeClass.ReadMany} per class actor for the batch's pages. */
  private void readStoredBytes(Batch b, long[] entries) {
    int[] counts = new int[classes.size()];
    int[][] slots = new int[classes.size()][];
    for (int i = 0; i < b.size; i++) {
      int c = Handle.classIndex(Entry.handle(entries[b.slots[i]]));
      if (slots[c] == null) {
        slots[c] = new int[b.size - i];
      }
      slots[c][counts[c]++] = i;
    }
    for (int c = 0; c < counts.length; c++) {
      int n = counts[c];
      if (n == 0) {
        continue;
      }
      int[] handles = new int[n];
      int[] lengths = new int[n];
      byte[] codecs = new byte[n];
      int[] positions = Arrays.copyOf(slots[c], n);
      for (int k = 0; k < n; k++) {
        int i = positions[k];
        handles[k] = Handle.slot(Entry.handle(entries[b.slots[i]]));
        lengths[k] = b.lengths[i];
        codecs[k] = b.codecs[i];
      }
      b.readsOutstanding++;
      classes.get(c).tell(new SizeClass.ReadMany(handles, lengths, codecs, positions, n, -b.id, objectsAdapter));
    }
  }

  /** True when {@code job} names a recompression batch's read (they are negative; range loads positive). */
  static boolean isBatchRead(long job) {
    return job < 0;
  }

  /** A class copied out its share of the batch; when all have, the batch is recompressed in a task. */
  void objectsRead(SizeClass.ObjectsRead r) {
    Batch b = batch;
    if (b == null || -r.job() != b.id) {
      return;
    }
    int at = 0;
    for (int k = 0; k < r.count(); k++) {
      int length = r.lengths()[k];
      b.stored[r.positions()[k]] = Arrays.copyOfRange(r.bytes(), at, at + length);
      at += length;
    }
    if (--b.readsOutstanding == 0) {
      int[] limits = new int[b.size];
      for (int i = 0; i < b.size; i++) {
        limits[i] = limit(b.lengths[i], b.job.selection.minSaving());
      }
      Recompressor target = codec;
      ActorRef<TreeShard.Command> to = self;
      long id = b.id;
      byte[][] stored = b.stored;
      byte[] codecs = b.codecs;
      int size = b.size;
      dispatcher.execute(() -> to.tell(recompress(id, target, stored, codecs, limits, size)));
    }
  }

  /**
   * The most bytes a new copy of a page stored in {@code length} bytes may take to be kept:
   * the largest object of the next smaller size class, and no more than {@code 1 - minSaving}
   * of {@code length}; 0 when no smaller class exists.
   */
  private int limit(int length, double minSaving) {
    int classIndex = geometry.classFor(length).index();
    if (classIndex == 0) {
      return 0;
    }
    int smaller = geometry.classes().get(classIndex - 1).size();
    return (int) Math.min(smaller, Math.floor(length * (1 - minSaving)));
  }

  /** The task: each page decompressed with the codec that wrote it and compressed with the second one. */
  private static TreeShard.Recompressed recompress(long id, Recompressor target, byte[][] stored, byte[] codecs,
      int[] limits, int size) {
    byte[][] out = new byte[size][];
    boolean[] corrupt = new boolean[size];
    PageCodec encoder = PageCodecs.forCurrentThread(target.kind(), target.levelOption());
    byte[] page = new byte[PageImage.PAGE_SIZE];
    byte[] scratch = new byte[PageImage.PAGE_SIZE];
    for (int i = 0; i < size; i++) {
      try {
        PageCompressor.decompress(stored[i], 0, stored[i].length, CODECS[codecs[i]], page, 0);
      } catch (CorruptPageException e) {
        corrupt[i] = true;
        continue;
      }
      if (limits[i] > 0) {
        int n = encoder.compress(page, 0, PageImage.PAGE_SIZE, scratch, limits[i]);
        if (n > 0) {
          out[i] = Arrays.copyOf(scratch, n);
        }
      }
    }
    return new TreeShard.Recompressed(id, out, corrupt);
  }

  /** The batch's new copies: each still current one is allocated, or its page kept as it was. */
  void recompressed(TreeShard.Recompressed m) {
    Batch b = batch;
    if (b == null || m.batch() != b.id) {
      return;
    }
    long[] entries = shard.entries();
    for (int i = 0; i < b.size; i++) {
      int slot = b.slots[i];
      if (!isCurrent(slot, b.generations[i])) {
        continue; // stored, patched or invalidated meanwhile: its old object is already freed
      }
      byte[] copy = m.copies()[i];
      if (copy == null) {
        current.remove(slot);
        long e = Entry.storedAgain(entries[slot]);
        if (m.corrupt()[i]) {
          b.job.failed++;
          counters.recompressFailed++;
        } else {
          e = Entry.withKept(e);
          b.job.kept++;
          counters.recompressKept++;
        }
        entries[slot] = e;
        continue;
      }
      int classIndex = ClassGeometry.actorIndex(geometry.classFor(copy.length).index(), lanes, slot % lanes);
      b.newLengths[i] = copy.length;
      shard.workFor(classIndex).alloc(copy, slot, b.generations[i]);
      b.allocsOutstanding++;
    }
    if (b.allocsOutstanding == 0) {
      batchDone(b);
    }
  }

  /** The page's recompression with this generation is still the current one (the rule that makes a late answer harmless). */
  private boolean isCurrent(int slot, long generation) {
    Long g = current.isEmpty() ? null : current.get(slot);
    return g != null && g == generation;
  }

  /**
   * An allocation answered. False when it is not one of the batch's; otherwise the new object
   * replaces the old one if the page's recompression is still current, and is freed if not.
   */
  boolean allocated(int slot, long generation, long handle, EngineError refusal) {
    Batch b = batch;
    int i = b == null ? -1 : b.indexOf(generation);
    if (i < 0 || b.slots[i] != slot) {
      return false;
    }
    if (isCurrent(slot, generation)) {
      current.remove(slot);
      long[] entries = shard.entries();
      long old = entries[slot];
      if (refusal == null) {
        int length = b.lengths[i];
        int newLength = b.newLengths[i];
        shard.freeHandle(Entry.handle(old));
        counters.removePooled(length, isRecompressed(old));
        long e = Entry.stored(handle, newLength, codec.kind());
        entries[slot] = Entry.referenced(old) ? Entry.withReferenced(e) : e;
        counters.addPooled(newLength, true);
        counters.recompressions++;
        counters.recompressBytesSaved += length - newLength;
        b.job.recompressed++;
        b.job.bytesSaved += length - newLength;
      } else {
        entries[slot] = Entry.storedAgain(old);
        counters.recompressFailed++;
        b.job.failed++;
      }
    } else if (refusal == null) {
      shard.freeHandle(handle); // stale: undo, never apply
    }
    if (--b.allocsOutstanding == 0) {
      batchDone(b);
    }
    return true;
  }

  /** The page at {@code slot} was freed (stored over, patched, invalidated) while marked. */
  void cancel(int slot) {
    current.remove(slot);
  }

  /** The batch ended: the next one now, or after the pause its job's rate asks for. */
  private void batchDone(Batch b) {
    batch = null;
    Job job = b.job;
    if (job.next >= job.count) {
      jobs.poll();
      job.replyTo.tell(job.result());
    }
    if (jobs.isEmpty()) {
      return;
    }
    batchDue = true;
    long wait = job.nanosPerPage * b.size - (System.nanoTime() - b.startNanos);
    nextBatchIn.accept(Duration.ofNanos(Math.max(0, wait)));
  }
}
