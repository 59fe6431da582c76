package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.codec.SameFilledPage;
import io.zswapd.actors.pool.AllocReply;
import io.zswapd.actors.pool.Handle;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One tree shard: the single owner of the entries for 16,384 consecutive pages (64 MiB) of
 * one export, the zswap tree of that range.
 *
 * <p>Layout: {@code entries[i]} is the packed {@link Entry} of page {@code base + i}, made on
 * the first store; {@code words[i]} holds the word of a same-filled page whose word is not
 * zero, made on the first such page. Nothing else is kept per page at rest.
 *
 * <p>A store of a compressed or raw page needs a size-class allocation, which answers
 * asynchronously. Until it does, the page is <em>pending</em>: its old entry stays in place,
 * and every later operation on that page waits in the page's queue (a stash per offset), so
 * operations on one page apply in arrival order and nothing ever sees a half-made entry.
 * Other pages go on being served. The allocation carries a generation number; an answer whose
 * generation is not the page's pending one is stale and its object is freed at once.
 *
 * <p>Every message about a handle (alloc answer, read, free) is sent by this shard, so message
 * order alone guarantees a read is served before the free that follows it.
 */
public final class TreeShard extends AbstractBehavior<TreeShard.Command> {
  public static final int PAGES_SHIFT = 14;
  public static final int PAGES = 1 << PAGES_SHIFT;
  private static final int PAGE_MASK = PAGES - 1;

  public sealed interface Command {}

  public record StorePage(long pageIndex, PageImage image, ActorRef<StoreReply> replyTo) implements Command {}

  public record LoadPage(long pageIndex, ActorRef<LoadReply> replyTo) implements Command {}

  /**
   * Read-modify-write: replace {@code bytes.length} bytes of the page from {@code offset}, the
   * rest of the page unchanged. Done here, by the entry's owner, so two patches of one page
   * (from two NBD connections, say) apply one after the other and neither is lost.
   */
  public record PatchPage(long pageIndex, int offset, byte[] bytes, ActorRef<StoreReply> replyTo) implements Command {}

  /** Invalidate pages [firstPage, firstPage + count), all inside this shard. */
  public record InvalidatePages(long firstPage, long count, ActorRef<InvalidateReply> replyTo) implements Command {}

  public record GetStats(ActorRef<ShardStats> replyTo) implements Command {}

  private record AllocDone(AllocReply reply) implements Command {}

  private record PatchBase(LoadReply reply) implements Command {}

  public static Behavior<Command> create(long shardIndex, List<ActorRef<SizeClass.Command>> classes,
      PoolGeometry geometry, PageCompressor compressor) {
    return Behaviors.setup(ctx -> new TreeShard(ctx, shardIndex, classes, geometry, compressor));
  }

  /**
   * A page with work in flight: a store waiting for its allocation, or a patch waiting for the
   * page's current bytes; and the operations on the same page queued behind it.
   */
  private static final class Pending {
    long generation;
    StorePage store;
    PatchPage patch;
    final ArrayDeque<Object> queued = new ArrayDeque<>(2);
  }

  /** An invalidate-range reply that waits for pending pages of the range to be invalidated. */
  private static final class RangeWaiter {
    final ActorRef<InvalidateReply> replyTo;
    int outstanding;
    long freed;

    RangeWaiter(ActorRef<InvalidateReply> replyTo) {
      this.replyTo = replyTo;
    }
  }

  private record QueuedInvalidate(RangeWaiter waiter) {}

  private final PageCompressor compressor;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final PoolGeometry geometry;
  private final ActorRef<AllocReply> allocAdapter;
  private final ActorRef<LoadReply> patchAdapter;
  private long[] entries;
  private long[] words;
  private final Map<Integer, Pending> pending = new HashMap<>();
  private long nextGeneration = 1;

  private long storedPages;
  private long samePages;
  private long hugePages;
  private long comprBytes;
  private long duplicateEntry;
  private long rejectCompressPoor;
  private long rejectAllocFail;
  private long invalidatedPages;
  private long loads;
  private long stores;

  private TreeShard(ActorContext<Command> ctx, long shardIndex, List<ActorRef<SizeClass.Command>> classes,
      PoolGeometry geometry, PageCompressor compressor) {
    super(ctx);
    this.classes = classes;
    this.geometry = geometry;
    this.compressor = compressor;
    this.allocAdapter = ctx.messageAdapter(AllocReply.class, AllocDone::new);
    this.patchAdapter = ctx.messageAdapter(LoadReply.class, PatchBase::new);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(StorePage.class, m -> {
          perPage(slotOf(m.pageIndex()), m);
          return this;
        })
        .onMessage(LoadPage.class, m -> {
          perPage(slotOf(m.pageIndex()), m);
          return this;
        })
        .onMessage(PatchPage.class, m -> {
          perPage(slotOf(m.pageIndex()), m);
          return this;
        })
        .onMessage(InvalidatePages.class, this::onInvalidatePages)
        .onMessage(AllocDone.class, this::onAllocDone)
        .onMessage(PatchBase.class, this::onPatchBase)
        .onMessage(GetStats.class, m -> {
          m.replyTo().tell(stats());
          return this;
        })
        .build();
  }

  private int slotOf(long pageIndex) {
    return (int) (pageIndex & PAGE_MASK);
  }

  /** Runs {@code op} now, or queues it behind the page's pending store. */
  private void perPage(int slot, Object op) {
    Pending p = pending.isEmpty() ? null : pending.get(slot);
    if (p != null) {
      p.queued.add(op);
    } else {
      apply(slot, op);
    }
  }

  private void apply(int slot, Object op) {
    if (op instanceof StorePage s) {
      store(slot, s, null);
    } else if (op instanceof PatchPage p) {
      patch(slot, p);
    } else if (op instanceof LoadPage l) {
      load(slot, l);
    } else {
      RangeWaiter w = ((QueuedInvalidate) op).waiter;
      if (free(slot)) {
        w.freed++;
        invalidatedPages++;
      }
      if (--w.outstanding == 0) {
        w.replyTo.tell(new InvalidateReply.Invalidated(w.freed));
      }
    }
  }

  // ---- store --------------------------------------------------------------------------------

  /**
   * Stores an image. A same-filled page is installed at once; any other needs an allocation
   * and leaves the page pending ({@code pending} is non-null when a patch already made it so).
   */
  private void store(int slot, StorePage s, Pending pending) {
    if (entries == null) {
      entries = new long[PAGES];
    }
    PageImage image = s.image();
    if (image instanceof PageImage.SameFilled same) {
      countDuplicate(slot);
      free(slot);
      entries[slot] = Entry.sameFilled();
      if (same.word() != 0 || words != null) {
        if (words == null) {
          words = new long[PAGES];
        }
        words[slot] = same.word();
      }
      samePages++;
      storedPages++;
      stores++;
      s.replyTo().tell(new StoreReply.Stored(s.pageIndex()));
      if (pending != null) {
        this.pending.remove(slot);
        drainQueue(slot, pending);
      }
      return;
    }
    byte[] bytes = image instanceof PageImage.Compressed c ? c.bytes() : ((PageImage.Raw) image).bytes();
    Pending p = pending != null ? pending : new Pending();
    p.generation = nextGeneration++;
    p.store = s;
    p.patch = null;
    this.pending.put(slot, p);
    classes.get(geometry.classFor(bytes.length).index())
        .tell(new SizeClass.Alloc(bytes, slot, p.generation, allocAdapter));
  }

  private Behavior<Command> onAllocDone(AllocDone done) {
    AllocReply reply = done.reply();
    int slot = reply.tag();
    Pending p = pending.get(slot);
    if (p == null || p.store == null || p.generation != reply.generation()) {
      // A completion for a store this page no longer waits for: undo it, never apply it.
      if (reply instanceof AllocReply.Allocated a) {
        freeHandle(a.handle());
      }
      return this;
    }
    pending.remove(slot);
    StorePage s = p.store;
    if (reply instanceof AllocReply.Allocated a) {
      countDuplicate(slot);
      free(slot);
      int length = s.image().storedLength();
      entries[slot] = Entry.stored(a.handle(), length);
      storedPages++;
      comprBytes += length;
      if (length == PageImage.PAGE_SIZE) {
        hugePages++;
        rejectCompressPoor++;
      }
      stores++;
      s.replyTo().tell(new StoreReply.Stored(s.pageIndex()));
    } else {
      rejectAllocFail++;
      s.replyTo().tell(new StoreReply.Refused(s.pageIndex(), ((AllocReply.AllocRefused) reply).error()));
    }
    drainQueue(slot, p);
    return this;
  }

  // ---- patch (read-modify-write) ------------------------------------------------------------

  private void patch(int slot, PatchPage m) {
    long e = entries == null ? 0 : entries[slot];
    if (Entry.state(e) == Entry.STORED) {
      Pending p = new Pending();
      p.patch = m;
      pending.put(slot, p);
      long h = Entry.handle(e);
      classes.get(Handle.classIndex(h))
          .tell(new SizeClass.Read(Handle.slot(h), Entry.length(e), m.pageIndex(), patchAdapter));
    } else {
      byte[] page = new byte[PageImage.PAGE_SIZE];
      long word = Entry.state(e) == Entry.SAME_FILLED && words != null ? words[slot] : 0;
      if (word != 0) {
        SameFilledPage.fill(word, page, 0, page.length);
      }
      applyPatch(slot, m, page, null);
    }
  }

  private Behavior<Command> onPatchBase(PatchBase m) {
    int slot = slotOf(m.reply().pageIndex());
    Pending p = pending.get(slot);
    PatchPage patch = p.patch;
    if (m.reply() instanceof LoadReply.Loaded loaded) {
      applyPatch(slot, patch, loaded.page(), p);
    } else {
      pending.remove(slot);
      patch.replyTo().tell(new StoreReply.Refused(patch.pageIndex(), ((LoadReply.LoadFailed) m.reply()).error()));
      drainQueue(slot, p);
    }
    return this;
  }

  /** The page's new bytes are compressed here, once, and stored like any other image. */
  private void applyPatch(int slot, PatchPage m, byte[] page, Pending pending) {
    System.arraycopy(m.bytes(), 0, page, m.offset(), m.bytes().length);
    store(slot, new StorePage(m.pageIndex(), compressor.compress(page, 0), m.replyTo()), pending);
  }

  /** Applies the operations queued behind a finished store until one of them is pending again. */
  private void drainQueue(int slot, Pending finished) {
    Object op;
    while ((op = finished.queued.poll()) != null) {
      apply(slot, op);
      Pending again = pending.get(slot);
      if (again != null) {
        again.queued.addAll(finished.queued);
        return;
      }
    }
  }

  private void countDuplicate(int slot) {
    if (Entry.state(entries[slot]) != Entry.ABSENT) {
      duplicateEntry++;
    }
  }

  // ---- load ---------------------------------------------------------------------------------

  private void load(int slot, LoadPage l) {
    loads++;
    long e = entries == null ? 0 : entries[slot];
    switch (Entry.state(e)) {
      case Entry.STORED -> {
        entries[slot] = Entry.withReferenced(e);
        long h = Entry.handle(e);
        classes.get(Handle.classIndex(h))
            .tell(new SizeClass.Read(Handle.slot(h), Entry.length(e), l.pageIndex(), l.replyTo()));
      }
      case Entry.SAME_FILLED -> {
        byte[] page = new byte[PageImage.PAGE_SIZE];
        long word = words == null ? 0 : words[slot];
        if (word != 0) {
          SameFilledPage.fill(word, page, 0, page.length);
        }
        l.replyTo().tell(new LoadReply.Loaded(l.pageIndex(), page));
      }
      default -> l.replyTo().tell(new LoadReply.Loaded(l.pageIndex(), new byte[PageImage.PAGE_SIZE]));
    }
  }

  // ---- invalidate ---------------------------------------------------------------------------

  private Behavior<Command> onInvalidatePages(InvalidatePages m) {
    int first = slotOf(m.firstPage());
    int end = (int) (first + m.count());
    RangeWaiter waiter = new RangeWaiter(m.replyTo());
    waiter.outstanding = 1; // held until the loop is done
    for (int slot = first; slot < end; slot++) {
      Pending p = pending.isEmpty() ? null : pending.get(slot);
      if (p != null) {
        waiter.outstanding++;
        p.queued.add(new QueuedInvalidate(waiter));
      } else if (entries != null && free(slot)) {
        waiter.freed++;
        invalidatedPages++;
      }
    }
    if (--waiter.outstanding == 0) {
      m.replyTo().tell(new InvalidateReply.Invalidated(waiter.freed));
    }
    return this;
  }

  /** Frees whatever the entry holds and leaves it absent; true when it held a page. */
  private boolean free(int slot) {
    if (entries == null) {
      return false;
    }
    long e = entries[slot];
    switch (Entry.state(e)) {
      case Entry.STORED -> {
        freeHandle(Entry.handle(e));
        int length = Entry.length(e);
        comprBytes -= length;
        if (length == PageImage.PAGE_SIZE) {
          hugePages--;
        }
      }
      case Entry.SAME_FILLED -> {
        samePages--;
        if (words != null) {
          words[slot] = 0;
        }
      }
      default -> {
        return false;
      }
    }
    entries[slot] = 0;
    storedPages--;
    return true;
  }

  private void freeHandle(long handle) {
    classes.get(Handle.classIndex(handle)).tell(new SizeClass.Free(Handle.slot(handle)));
  }

  private ShardStats stats() {
    return new ShardStats(storedPages, samePages, hugePages, comprBytes, duplicateEntry, rejectCompressPoor,
        rejectAllocFail, invalidatedPages, loads, stores);
  }
}
