package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
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

  /** Invalidate pages [firstPage, firstPage + count), all inside this shard. */
  public record InvalidatePages(long firstPage, long count, ActorRef<InvalidateReply> replyTo) implements Command {}

  public record GetStats(ActorRef<ShardStats> replyTo) implements Command {}

  private record AllocDone(AllocReply reply) implements Command {}

  public static Behavior<Command> create(long shardIndex, List<ActorRef<SizeClass.Command>> classes,
      PoolGeometry geometry) {
    return Behaviors.setup(ctx -> new TreeShard(ctx, shardIndex, classes, geometry));
  }

  /** A store waiting for its allocation, and the operations on the same page queued behind it. */
  private static final class Pending {
    final long generation;
    final StorePage store;
    final ArrayDeque<Object> queued = new ArrayDeque<>(2);

    Pending(long generation, StorePage store) {
      this.generation = generation;
      this.store = store;
    }
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

  private final long base;
  private final List<ActorRef<SizeClass.Command>> classes;
  private final PoolGeometry geometry;
  private final ActorRef<AllocReply> allocAdapter;
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
      PoolGeometry geometry) {
    super(ctx);
    this.base = shardIndex << PAGES_SHIFT;
    this.classes = classes;
    this.geometry = geometry;
    this.allocAdapter = ctx.messageAdapter(AllocReply.class, AllocDone::new);
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
        .onMessage(InvalidatePages.class, this::onInvalidatePages)
        .onMessage(AllocDone.class, this::onAllocDone)
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
      store(slot, s);
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

  private void store(int slot, StorePage s) {
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
      return;
    }
    byte[] bytes = image instanceof PageImage.Compressed c ? c.bytes() : ((PageImage.Raw) image).bytes();
    long generation = nextGeneration++;
    pending.put(slot, new Pending(generation, s));
    classes.get(geometry.classFor(bytes.length).index())
        .tell(new SizeClass.Alloc(bytes, slot, generation, allocAdapter));
  }

  private Behavior<Command> onAllocDone(AllocDone done) {
    AllocReply reply = done.reply();
    int slot = reply.tag();
    Pending p = pending.get(slot);
    if (p == null || p.generation != reply.generation()) {
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
