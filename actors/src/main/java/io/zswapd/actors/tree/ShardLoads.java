package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.codec.CorruptPageException;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.codec.SameFilledPage;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.ReadReply;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * A tree shard's single-page loads and patches (read-modify-write): where a page's bytes are
 * read from (its size class, its same-filled word, the backing file), the loads waiting for a
 * backing-file read, and a patch's wait for its page's current bytes. Patches are here because
 * a patch starts as a load of its page and shares the backing-file reads with loads; the
 * patched page is then stored by the shard like any other image.
 *
 * <p>Owned by one {@link TreeShard}, made in its constructor and called only from its message
 * handlers, so only on that actor's thread; never handed to another actor or thread.
 */
final class ShardLoads {
  private final TreeShard shard;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final PageCompressor compressor;
  private final ActorRef<BackingStore.Command> backing;
  private final ShardCounters counters;
  private final ActorRef<LoadReply> patchAdapter;
  private final ActorRef<ReadReply> readAdapter;
  /** Where same-filled and never-written pages are made and answered, off this actor's thread. */
  private final Executor dispatcher;
  /** Loads waiting for a backing-file read of their page, in order. */
  private final Map<Integer, ArrayDeque<TreeShard.LoadPage>> backingLoads = new HashMap<>();

  ShardLoads(TreeShard shard, List<ActorRef<SizeClass.Command>> classes, PageCompressor compressor,
      ActorRef<BackingStore.Command> backing, ShardCounters counters, ActorRef<LoadReply> patchAdapter,
      ActorRef<ReadReply> readAdapter, Executor dispatcher) {
    this.dispatcher = dispatcher;
    this.shard = shard;
    this.classes = classes;
    this.compressor = compressor;
    this.backing = backing;
    this.counters = counters;
    this.patchAdapter = patchAdapter;
    this.readAdapter = readAdapter;
  }

  // ---- load ---------------------------------------------------------------------------------

  /** A fresh page of the same-filled page at {@code slot}. */
  private byte[] sameFilledPage(int slot) {
    return filled(shard.word(slot));
  }

  /** A fresh page repeating {@code word} (zeros for 0). */
  private static byte[] filled(long word) {
    byte[] page = new byte[PageImage.PAGE_SIZE];
    if (word != 0) {
      SameFilledPage.fill(word, page, 0, page.length);
    }
    return page;
  }

  void load(int slot, TreeShard.LoadPage l) {
    counters.loads++;
    long[] entries = shard.entries();
    long e = entries == null ? 0 : entries[slot];
    switch (Entry.state(e)) {
      case Entry.STORED, Entry.WRITING_BACK -> {
        if (Entry.state(e) == Entry.STORED) {
          entries[slot] = Entry.withReferenced(e);
        }
        long h = Entry.handle(e);
        classes.get(Handle.classIndex(h))
            .tell(new SizeClass.Read(Handle.slot(h), Entry.length(e), l.pageIndex(), l.replyTo(), true));
      }
      case Entry.WRITTEN_BACK -> {
        counters.loadsFromBacking++;
        backingLoads.computeIfAbsent(slot, k -> new ArrayDeque<>(1)).add(l);
        readBacking(e, l.pageIndex());
      }
      case Entry.SAME_FILLED -> answerFilled(l, shard.word(slot));
      default -> answerFilled(l, 0);
    }
  }

  /**
   * Answers a load of a same-filled (or never-written) page from a task on the dispatcher, as
   * a size class answers a compressed one: the page is read here (its word), but making the
   * 4 KiB page and the caller's completion run on the other core, so the loads of one busy
   * shard do not all queue on its thread.
   */
  private void answerFilled(TreeShard.LoadPage l, long word) {
    dispatcher.execute(() -> l.replyTo().tell(new LoadReply.Loaded(l.pageIndex(), filled(word))));
  }

  /** Reads the page written back in entry {@code e}; answered to {@link #backingRead}. */
  private void readBacking(long e, long pageIndex) {
    backing.tell(new BackingStore.Read(Entry.backingOffset(e), Entry.length(e), pageIndex, readAdapter));
  }

  /**
   * A backing-file read finished: it answers the oldest load waiting for this page, or else
   * the patch waiting for the page's base. (Every read of one slot reads the same bytes, so
   * which request it was issued for does not matter.)
   */
  void backingRead(ReadReply r) {
    int slot = TreeShard.slotOf(r.pageIndex());
    ArrayDeque<TreeShard.LoadPage> waiting = backingLoads.get(slot);
    TreeShard.LoadPage load = waiting == null ? null : waiting.poll();
    if (waiting != null && waiting.isEmpty()) {
      backingLoads.remove(slot);
    }
    if (r instanceof ReadReply.ReadDone done) {
      byte[] page;
      try {
        page = compressor.decompress(done.bytes());
      } catch (CorruptPageException e) {
        // Damaged in the file: an error for this page only; the shard serves everything else.
        counters.readErrors++;
        EngineError error = new EngineError(ErrorCode.CORRUPT, "page " + r.pageIndex()
            + " read back from the backing file does not decompress: " + e.getMessage());
        if (load != null) {
          load.replyTo().tell(new LoadReply.LoadFailed(r.pageIndex(), error));
        } else {
          failPatch(slot, shard.pending(slot), error);
        }
        return;
      }
      if (load != null) {
        load.replyTo().tell(new LoadReply.Loaded(r.pageIndex(), page));
      } else {
        TreeShard.Pending p = shard.pending(slot);
        applyPatch(slot, p.patch, page, p);
      }
    } else {
      counters.readErrors++;
      EngineError error = new EngineError(ErrorCode.IO_ERROR, "page " + r.pageIndex()
          + " could not be read from the backing file: " + ((ReadReply.ReadFailed) r).message());
      if (load != null) {
        load.replyTo().tell(new LoadReply.LoadFailed(r.pageIndex(), error));
      } else {
        failPatch(slot, shard.pending(slot), error);
      }
    }
  }

  // ---- patch (read-modify-write) ------------------------------------------------------------

  void patch(int slot, TreeShard.PatchPage m) {
    long[] entries = shard.entries();
    long e = entries == null ? 0 : entries[slot];
    int state = Entry.state(e);
    if (Entry.inPool(e) || state == Entry.WRITTEN_BACK) {
      TreeShard.Pending p = new TreeShard.Pending();
      p.patch = m;
      shard.putPending(slot, p);
      if (state == Entry.WRITTEN_BACK) {
        readBacking(e, m.pageIndex());
      } else {
        long h = Entry.handle(e);
        classes.get(Handle.classIndex(h))
            .tell(new SizeClass.Read(Handle.slot(h), Entry.length(e), m.pageIndex(), patchAdapter, false));
      }
    } else {
      applyPatch(slot, m, state == Entry.SAME_FILLED ? sameFilledPage(slot) : new byte[PageImage.PAGE_SIZE], null);
    }
  }

  /** The page's current bytes, read from its size class for the patch waiting on them. */
  void patchBase(LoadReply reply) {
    int slot = TreeShard.slotOf(reply.pageIndex());
    TreeShard.Pending p = shard.pending(slot);
    if (reply instanceof LoadReply.Loaded loaded) {
      applyPatch(slot, p.patch, loaded.page(), p);
    } else {
      failPatch(slot, p, ((LoadReply.LoadFailed) reply).error());
    }
  }

  private void failPatch(int slot, TreeShard.Pending p, EngineError error) {
    shard.removePending(slot);
    p.patch.replyTo().tell(new StoreReply.Refused(p.patch.pageIndex(), error));
    shard.drainQueue(slot, p);
  }

  /** The page's new bytes are compressed here, once, and stored like any other image. */
  private void applyPatch(int slot, TreeShard.PatchPage m, byte[] page, TreeShard.Pending p) {
    System.arraycopy(m.bytes(), 0, page, m.offset(), m.bytes().length);
    shard.store(slot, new TreeShard.StorePage(m.pageIndex(), compressor.compress(page, 0), m.replyTo()), p);
  }
}
