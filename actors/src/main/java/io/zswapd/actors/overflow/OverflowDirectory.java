package io.zswapd.actors.overflow;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.zswapd.actors.support.Gather;
import io.zswapd.actors.tree.ShardRanges;
import io.zswapd.actors.tree.SwapType;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.LoadRangeReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The directory of one overflow-store namespace: which run of pages of the namespace's export
 * holds the value of each key. It is the only sender of page requests for its namespace, so
 * message order is enough: the loads of a get are queued at the shards before the invalidate
 * of a later remove, and the stores of a later put into the same pages come after both.
 *
 * <p>Operations on one key apply in arrival order: while a put of key K waits for its pages
 * to be stored, later operations on K wait in K's queue. A failed put leaves the old value.
 */
public final class OverflowDirectory extends AbstractBehavior<OverflowDirectory.Command> {

  public sealed interface Command {}

  public record Put(long key, PageImage[] pages, int length, ActorRef<PutReply> replyTo) implements Command {}

  public record Get(long key, ActorRef<GetReply> replyTo) implements Command {}

  public record Remove(long key, ActorRef<Boolean> replyTo) implements Command {}

  public record GetSize(ActorRef<Long> replyTo) implements Command {}

  public sealed interface PutReply {}

  public record PutDone(boolean replaced) implements PutReply {}

  public record PutFailed(EngineError error) implements PutReply {}

  public sealed interface GetReply {}

  public record Found(byte[] value) implements GetReply {}

  public record Missing() implements GetReply {}

  public record GetFailed(EngineError error) implements GetReply {}

  private record Stored(Put put, Extent extent, EngineError error) implements Command {}

  private record Extent(long start, int pages, int length) {}

  private static final Duration PAGE_TIMEOUT = Duration.ofSeconds(60);

  public static Behavior<Command> create(String export, ActorRef<SwapType.Command> swapType) {
    return Behaviors.setup(ctx -> new OverflowDirectory(ctx, export, swapType));
  }

  private final String export;
  private final ActorRef<SwapType.Command> swapType;
  private final Map<Long, Extent> values = new HashMap<>();
  private final Map<Long, ArrayDeque<Command>> busy = new HashMap<>();
  private final ExtentAllocator extents = new ExtentAllocator();

  private OverflowDirectory(ActorContext<Command> ctx, String export, ActorRef<SwapType.Command> swapType) {
    super(ctx);
    this.export = export;
    this.swapType = swapType;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Put.class, m -> perKey(m.key(), m))
        .onMessage(Get.class, m -> perKey(m.key(), m))
        .onMessage(Remove.class, m -> perKey(m.key(), m))
        .onMessage(Stored.class, this::onStored)
        .onMessage(GetSize.class, m -> {
          m.replyTo().tell((long) values.size());
          return this;
        })
        .build();
  }

  private Behavior<Command> perKey(long key, Command op) {
    ArrayDeque<Command> queue = busy.get(key);
    if (queue != null) {
      queue.add(op);
    } else {
      apply(op);
    }
    return this;
  }

  private void apply(Command op) {
    if (op instanceof Put p) {
      put(p);
    } else if (op instanceof Get g) {
      get(g);
    } else if (op instanceof Remove r) {
      Extent old = values.remove(r.key());
      if (old != null) {
        release(old);
      }
      r.replyTo().tell(old != null);
    }
  }

  private void put(Put p) {
    int count = p.pages().length;
    Extent extent = new Extent(extents.allocate(count), count, p.length());
    busy.put(p.key(), new ArrayDeque<>());
    ActorRef<Command> self = getContext().getSelf();
    if (count == 0) {
      self.tell(new Stored(p, extent, null)); // an empty value has no pages
      return;
    }
    ActorRef<StoreReply> gather = Gather.spawn(getContext(), ShardRanges.partCount(extent.start(), count),
        (EngineError) null,
        (err, r) -> err != null ? err : r instanceof StoreReply.Refused f ? f.error() : null,
        err -> self.tell(new Stored(p, extent, err)), PAGE_TIMEOUT,
        err -> self.tell(new Stored(p, extent, new EngineError(ErrorCode.SHUTTING_DOWN,
            "storing the value of key " + p.key() + " timed out"))));
    for (int done = 0; done < count; ) {
      int n = ShardRanges.partLength(extent.start() + done, count - done);
      PageImage[] part = n == count ? p.pages() : java.util.Arrays.copyOfRange(p.pages(), done, done + n);
      swapType.tell(SwapType.Pages.of(new EngineCommand.StoreRange(export, extent.start() + done, part, gather)));
      done += n;
    }
  }

  private Behavior<Command> onStored(Stored s) {
    long key = s.put().key();
    ArrayDeque<Command> queued = busy.remove(key);
    if (s.error() != null) {
      release(s.extent());
      s.put().replyTo().tell(new PutFailed(s.error()));
    } else {
      Extent old = values.put(key, s.extent());
      if (old != null) {
        release(old);
      }
      s.put().replyTo().tell(new PutDone(old != null));
    }
    Command op;
    while ((op = queued.poll()) != null) {
      apply(op);
      ArrayDeque<Command> again = busy.get(key);
      if (again != null) {
        again.addAll(queued);
        break;
      }
    }
    return this;
  }

  /** Frees a value's pages; a later put may reuse them, its stores queue behind this invalidate. */
  private void release(Extent e) {
    if (e.pages() > 0) {
      swapType.tell(SwapType.Pages.of(new EngineCommand.InvalidateRange(export, e.start(), e.pages(),
          getContext().getSystem().ignoreRef())));
    }
    extents.free(e.start(), e.pages());
  }

  /** Assembles a value from its parts as they arrive, in any order; owned by its gatherer. */
  private static final class Assembly {
    final byte[] value;
    EngineError error;

    Assembly(int length) {
      value = new byte[length];
    }

    Assembly add(Extent e, LoadRangeReply r) {
      if (r instanceof LoadRangeReply.LoadedRange l) {
        int off = (int) (l.firstPage() - e.start()) * PageImage.PAGE_SIZE;
        System.arraycopy(l.pages(), 0, value, off, Math.min(l.pages().length, value.length - off));
      } else if (error == null) {
        error = ((LoadRangeReply.LoadRangeFailed) r).error();
      }
      return this;
    }
  }

  private void get(Get g) {
    Extent e = values.get(g.key());
    if (e == null) {
      g.replyTo().tell(new Missing());
      return;
    }
    if (e.pages() == 0) {
      g.replyTo().tell(new Found(new byte[0]));
      return;
    }
    ActorRef<LoadRangeReply> gather = Gather.spawn(getContext(), ShardRanges.partCount(e.start(), e.pages()),
        new Assembly(e.length()),
        (acc, r) -> acc.add(e, r),
        acc -> g.replyTo().tell(acc.error == null ? new Found(acc.value) : new GetFailed(acc.error)),
        PAGE_TIMEOUT, acc -> g.replyTo().tell(new GetFailed(new EngineError(ErrorCode.SHUTTING_DOWN,
            "loading the value of key " + g.key() + " timed out"))));
    for (int done = 0; done < e.pages(); ) {
      int n = ShardRanges.partLength(e.start() + done, e.pages() - done);
      swapType.tell(SwapType.Pages.of(new EngineCommand.LoadRange(export, e.start() + done, n, gather)));
      done += n;
    }
  }
}
