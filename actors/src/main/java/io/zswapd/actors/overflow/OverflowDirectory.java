package io.zswapd.actors.overflow;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.serialization.Serialization;
import akka.util.ByteString;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.embedded.OverflowStore.Command;
import io.zswapd.actors.support.Gather;
import io.zswapd.actors.tree.ShardRanges;
import io.zswapd.actors.tree.ExportRoute;
import io.zswapd.actors.tree.SwapType;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.LoadRangeReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executor;

/**
 * The actor of one overflow-store namespace ({@link OverflowStore#ref()}): the keys, which run
 * of pages of the namespace's export holds each value, the namespace's limits, its use order and
 * age order. It is the only sender of page requests for its namespace, so message order is
 * enough: the loads of a get are queued at the shards before the invalidate of a later remove,
 * and the stores of a later put into the same pages come after both.
 *
 * <p>Operations on one key apply in arrival order: from a put's arrival until its pages are
 * stored (serialized and compressed by a task on the dispatcher, never in this actor's turn,
 * then stored by the tree shards), later operations on that key wait in the key's queue. A
 * failed put leaves the old value. A key in the middle of a put is never evicted.
 *
 * <p>Limits ({@link OverflowLimits}) are checked when a put's pages are ready: the bytes and
 * entries held plus those of puts under way, minus the value it replaces. Values are kept in a
 * {@link TreeMap} (ordered listing) and threaded on two intrusive lists: use order (LRU
 * eviction: a get or put moves a value to the back) and age order (expiry: a put moves it to the
 * back; one timer, set for the oldest value's expiry).
 */
public final class OverflowDirectory extends AbstractBehavior<Command> {

  /** Bytes put as {@code byte[]} or {@code ByteString}: Akka's ByteArraySerializer's id. */
  static final int BYTES = 4;
  /** The manifest that makes bytes come back as a {@code ByteString}. */
  static final String BYTE_STRING = "ByteString";

  private static final Duration PAGE_TIMEOUT = Duration.ofSeconds(60);
  /** At most this much later than its expiry an expired value's memory is freed. */
  private static final Duration EXPIRY_SLACK = Duration.ofSeconds(1);

  /** A put's value, serialized and compressed off the actor's turn (or why it could not be). */
  private record Prepared(OverflowStore.Put put, PageImage[] pages, int length, int serializer, String manifest,
      EngineError error) implements Command {}

  private record Stored(OverflowStore.Put put, Value value, EngineError error) implements Command {}

  private record Expire() implements Command {}

  /** The namespace's export made more shards: its new routing entry. */
  private record Grown(ExportRoute route) implements Command {}

  private record SubscriberGone(ActorRef<OverflowStore.Evicted> subscriber) implements Command {}

  /** One value: where its pages are, what it costs, and its places in the two orders. */
  private static final class Value {
    final OverflowKey key;
    final long start;
    final int pages;
    final int length;
    final long stored;
    final int serializer;
    final String manifest;
    /** Whether the put that made it reserved an entry (its key held no value then). */
    boolean newKey;
    long writtenAt;
    /** The links of the two orders ({@link #USE}, {@link #AGE}): fields, not arrays, to keep a value small. */
    Value usePrev, useNext, agePrev, ageNext;

    Value prev(int order) {
      return order == USE ? usePrev : agePrev;
    }

    Value next(int order) {
      return order == USE ? useNext : ageNext;
    }

    void link(int order, Value prev, Value next) {
      if (order == USE) {
        usePrev = prev;
        useNext = next;
      } else {
        agePrev = prev;
        ageNext = next;
      }
    }

    void setPrev(int order, Value v) {
      link(order, v, next(order));
    }

    void setNext(int order, Value v) {
      link(order, prev(order), v);
    }

    Value(OverflowKey key, long start, int pages, int length, long stored, int serializer, String manifest) {
      this.key = key;
      this.start = start;
      this.pages = pages;
      this.length = length;
      this.stored = stored;
      this.serializer = serializer;
      this.manifest = manifest;
    }
  }

  public static Behavior<Command> create(String namespace, String export, ActorRef<SwapType.Command> swapType,
      PageCompressor compressor, Serialization serialization, OverflowLimits limits) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new OverflowDirectory(ctx, timers, namespace, export, swapType, compressor, serialization, limits)));
  }

  private final TimerScheduler<Command> timers;
  private final String namespace;
  private final String export;
  private final ActorRef<SwapType.Command> swapType;
  /**
   * The namespace export's routing entry: the page space its shards cover so far. A store past
   * it waits in {@link #waitingForShards} while the swap type makes more ({@link SwapType.Grow}).
   */
  private ExportRoute route;
  private List<Runnable> waitingForShards = new ArrayList<>();
  private boolean growing;
  private final ActorRef<ExportRoute> grown;
  private final PageCompressor compressor;
  private final Serialization serialization;
  private final Executor dispatcher;
  private final TreeMap<OverflowKey, Value> values = new TreeMap<>();
  private final Map<OverflowKey, ArrayDeque<Command>> busy = new HashMap<>();
  private final ExtentAllocator extents = new ExtentAllocator();
  private final Set<ActorRef<OverflowStore.Evicted>> subscribers = new HashSet<>();
  private OverflowLimits limits;
  /** Use order (LRU: a get or put moves a value to the back) and age order (a put moves it to the back). */
  private static final int USE = 0;
  private static final int AGE = 1;
  /** The first and last value of each order. */
  private final Value[] first = new Value[2];
  private final Value[] last = new Value[2];
  private long valueBytes;
  private long storedBytes;
  /** Compressed bytes and new keys of puts admitted and not yet stored. */
  private long reservedBytes;
  private long reservedEntries;
  private long refused;
  private long evicted;
  private long expired;
  private boolean expiryArmed;

  private OverflowDirectory(ActorContext<Command> ctx, TimerScheduler<Command> timers, String namespace,
      String export, ActorRef<SwapType.Command> swapType, PageCompressor compressor, Serialization serialization,
      OverflowLimits limits) {
    super(ctx);
    this.limits = limits;
    this.timers = timers;
    this.namespace = namespace;
    this.export = export;
    this.swapType = swapType;
    this.route = new ExportRoute(export, swapType, 0, false, List.of());
    this.grown = ctx.messageAdapter(ExportRoute.class, Grown::new);
    this.compressor = compressor;
    this.serialization = serialization;
    this.dispatcher = ctx.getExecutionContext();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(OverflowStore.Put.class, m -> perKey(m.key(), m))
        .onMessage(OverflowStore.Get.class, m -> perKey(m.key(), m))
        .onMessage(OverflowStore.Remove.class, m -> perKey(m.key(), m))
        .onMessage(OverflowStore.Contains.class, m -> perKey(m.key(), m))
        .onMessage(Prepared.class, this::onPrepared)
        .onMessage(Stored.class, this::onStored)
        .onMessage(Grown.class, m -> {
          route = m.route();
          growing = false;
          List<Runnable> waiting = waitingForShards;
          waitingForShards = new ArrayList<>();
          waiting.forEach(Runnable::run);
          return this;
        })
        .onMessage(OverflowStore.ListKeys.class, this::onListKeys)
        .onMessage(OverflowStore.GetFigures.class, m -> {
          m.replyTo().tell(figures());
          return this;
        })
        .onMessage(OverflowStore.SetLimits.class, this::onSetLimits)
        .onMessage(OverflowStore.SubscribeEvictions.class, m -> {
          if (subscribers.add(m.subscriber())) {
            getContext().watchWith(m.subscriber(), new SubscriberGone(m.subscriber()));
          }
          return this;
        })
        .onMessage(SubscriberGone.class, m -> {
          subscribers.remove(m.subscriber());
          return this;
        })
        .onMessage(Expire.class, m -> {
          expiryArmed = false;
          expireDue();
          return this;
        })
        .build();
  }

  private Behavior<Command> perKey(OverflowKey key, Command op) {
    ArrayDeque<Command> queue = busy.get(key);
    if (queue != null) {
      queue.add(op);
    } else {
      apply(op);
    }
    return this;
  }

  private void apply(Command op) {
    if (op instanceof OverflowStore.Put p) {
      busy.put(p.key(), new ArrayDeque<>());
      ActorRef<Command> self = getContext().getSelf();
      dispatcher.execute(() -> {
        Prepared prepared;
        try {
          prepared = prepare(p);
        } catch (RuntimeException | Error e) { // a codec fault: the put fails, its key does not stay busy
          prepared = new Prepared(p, null, 0, 0, null, new EngineError(ErrorCode.INVALID,
              "cannot compress the value put under key " + p.key() + ": " + e));
        }
        self.tell(prepared);
      });
    } else if (op instanceof OverflowStore.Get g) {
      get(g);
    } else if (op instanceof OverflowStore.Remove r) {
      Value v = live(r.key());
      if (v != null) {
        drop(v);
      }
      r.replyTo().tell(new OverflowStore.Removed(r.key(), v != null));
    } else if (op instanceof OverflowStore.Contains c) {
      c.replyTo().tell(live(c.key()) != null);
    }
  }

  // ---- put --------------------------------------------------------------------------------

  /** Serializes and compresses a put's value: runs on the dispatcher, touches no state of the actor. */
  private Prepared prepare(OverflowStore.Put p) {
    byte[] bytes;
    int serializer = BYTES;
    String manifest = "";
    try {
      if (p.value() instanceof byte[] b) {
        bytes = b;
      } else if (p.value() instanceof ByteString b) {
        bytes = b.toArrayUnsafe();
        manifest = BYTE_STRING;
      } else {
        SerializedValue v = SerializedValue.of(serialization, p.value());
        bytes = v.bytes();
        serializer = v.serializer();
        manifest = v.manifest();
      }
    } catch (Exception e) { // NotSerializableException, thrown unchecked through Scala
      return new Prepared(p, null, 0, 0, null, new EngineError(ErrorCode.INVALID, "cannot serialize the "
          + p.value().getClass().getName() + " put under key " + p.key() + ": " + e.getMessage()));
    }
    if (bytes.length > OverflowStore.MAX_VALUE_BYTES) {
      return new Prepared(p, null, 0, 0, null, new EngineError(ErrorCode.INVALID, "value of " + bytes.length
          + " bytes exceeds the overflow store limit of " + OverflowStore.MAX_VALUE_BYTES + " bytes (64 MiB)"));
    }
    int pages = (bytes.length + PageImage.PAGE_SIZE - 1) / PageImage.PAGE_SIZE;
    PageImage[] images = new PageImage[pages];
    for (int i = 0; i < pages; i++) {
      int off = i * PageImage.PAGE_SIZE;
      if (bytes.length - off >= PageImage.PAGE_SIZE) {
        images[i] = compressor.compress(ByteBuffer.wrap(bytes, off, PageImage.PAGE_SIZE));
      } else {
        byte[] tail = new byte[PageImage.PAGE_SIZE];
        System.arraycopy(bytes, off, tail, 0, bytes.length - off);
        images[i] = compressor.compress(tail, 0);
      }
    }
    return new Prepared(p, images, bytes.length, serializer, manifest, null);
  }

  private Behavior<Command> onPrepared(Prepared m) {
    OverflowStore.Put p = m.put();
    if (m.error() != null) {
      finishPut(p, m.error(), false);
      return this;
    }
    long stored = 0;
    for (PageImage image : m.pages()) {
      stored += image.storedLength();
    }
    EngineError full = admit(p.key(), stored);
    if (full != null) {
      refused++;
      finishPut(p, full, false);
      return this;
    }
    boolean newKey = values.get(p.key()) == null;
    reservedBytes += stored;
    reservedEntries += newKey ? 1 : 0;
    int count = m.pages().length;
    Value value = new Value(p.key(), extents.allocate(count), count, m.length(), stored, m.serializer(), m.manifest());
    value.newKey = newKey;
    ActorRef<Command> self = getContext().getSelf();
    if (count == 0) {
      self.tell(new Stored(p, value, null)); // an empty value has no pages
      return this;
    }
    ActorRef<StoreReply> gather = Gather.spawn(getContext(), ShardRanges.partCount(value.start, count),
        (EngineError) null,
        (err, r) -> err != null ? err : r instanceof StoreReply.Refused f ? f.error() : null,
        err -> self.tell(new Stored(p, value, err)), PAGE_TIMEOUT,
        err -> self.tell(new Stored(p, value, new EngineError(ErrorCode.SHUTTING_DOWN,
            "storing the value of key " + p.key() + " timed out"))));
    storePages(value, m.pages(), gather);
    return this;
  }

  /**
   * Sends a value's pages to their shards, one range per shard; once the shards cover them: if
   * they lie past the page space grown so far, they wait for the swap type to make more.
   */
  private void storePages(Value value, PageImage[] pages, ActorRef<StoreReply> gather) {
    int count = pages.length;
    if (value.start + count > route.pages()) {
      waitingForShards.add(() -> storePages(value, pages, gather));
      if (!growing) {
        growing = true;
        swapType.tell(new SwapType.Grow(extents.end(), grown));
      }
      return;
    }
    for (int done = 0; done < count; ) {
      int n = ShardRanges.partLength(value.start + done, count - done);
      PageImage[] part = n == count ? pages : Arrays.copyOfRange(pages, done, done + n);
      send(new EngineCommand.StoreRange(export, value.start + done, part, gather));
      done += n;
    }
  }

  /**
   * One request by the namespace's route. The directory splits its ranges at shard boundaries
   * itself; only a release's invalidation may span two shards, and its answers are ignored.
   */
  private void send(EngineCommand.PageRequest request) {
    route.send(request, IGNORED_PARTS);
  }

  /** A release's parts answer to the ignore reference, which takes any number of answers. */
  private static final ExportRoute.Gatherer IGNORED_PARTS = (parts, replyTo) -> replyTo;

  /**
   * Makes room for a value of {@code stored} compressed bytes under {@code key}, by the
   * namespace's policy; null when it fits, else the refusal naming the limit.
   */
  private EngineError admit(OverflowKey key, long stored) {
    if (limits.maxBytes().isPresent() && stored > limits.maxBytes().getAsLong()) {
      return full("the value's " + stored + " compressed bytes exceed max-bytes " + limits.maxBytes().getAsLong());
    }
    Value old = live(key);
    while (true) {
      long bytes = storedBytes + reservedBytes + stored - (old != null ? old.stored : 0);
      long entries = values.size() + reservedEntries + (old == null ? 1 : 0);
      boolean overBytes = limits.maxBytes().isPresent() && bytes > limits.maxBytes().getAsLong();
      boolean overEntries = limits.maxEntries().isPresent() && entries > limits.maxEntries().getAsLong();
      if (!overBytes && !overEntries) {
        return null;
      }
      Value victim = limits.whenFull() == OverflowLimits.WhenFull.EVICT_LRU ? leastRecentlyUsedBut(key) : null;
      if (victim == null) {
        return overEntries
            ? full("it holds " + values.size() + " values" + (reservedEntries > 0 ? " and " + reservedEntries
                + " more being put" : "") + ", max-entries " + limits.maxEntries().getAsLong())
            : full("it holds " + (storedBytes + reservedBytes) + " compressed bytes, a value of " + stored
                + " more passes max-bytes " + limits.maxBytes().getAsLong());
      }
      evict(victim, OverflowStore.EvictionReason.LRU);
    }
  }

  private EngineError full(String why) {
    return new EngineError(ErrorCode.NAMESPACE_FULL, "overflow namespace " + namespace + " is full ("
        + limits.whenFull().name().toLowerCase() + " when full): " + why);
  }

  /** The least recently used value that may be evicted: not {@code key}'s, not one being put. */
  private Value leastRecentlyUsedBut(OverflowKey key) {
    for (Value v = first[USE]; v != null; v = v.useNext) {
      if (!v.key.equals(key) && !busy.containsKey(v.key)) {
        return v;
      }
    }
    return null;
  }

  private Behavior<Command> onStored(Stored s) {
    OverflowStore.Put p = s.put();
    Value value = s.value();
    reservedBytes -= value.stored;
    reservedEntries -= value.newKey ? 1 : 0;
    Value old = values.get(p.key());
    if (s.error() != null) {
      release(value.start, value.pages);
      finishPut(p, s.error(), false);
      return this;
    }
    if (old != null) {
      drop(old);
    }
    values.put(p.key(), value);
    valueBytes += value.length;
    storedBytes += value.stored;
    value.writtenAt = System.nanoTime();
    append(USE, value);
    append(AGE, value);
    armExpiry();
    finishPut(p, null, old != null);
    return this;
  }

  /** Answers a put and runs what waited for its key, until one of them is a put again. */
  private void finishPut(OverflowStore.Put p, EngineError error, boolean replaced) {
    p.replyTo().tell(error != null ? new OverflowStore.PutFailed(p.key(), error)
        : new OverflowStore.PutDone(p.key(), replaced));
    ArrayDeque<Command> queued = busy.remove(p.key());
    Command op;
    while (queued != null && (op = queued.poll()) != null) {
      apply(op);
      ArrayDeque<Command> again = busy.get(p.key());
      if (again != null) {
        again.addAll(queued);
        break;
      }
    }
  }

  // ---- get, list, limits ------------------------------------------------------------------

  private void get(OverflowStore.Get g) {
    Value v = live(g.key());
    if (v == null) {
      g.replyTo().tell(new OverflowStore.Missing(g.key()));
      return;
    }
    unlink(USE, v);
    append(USE, v);
    if (v.pages == 0) {
      g.replyTo().tell(found(serialization, g.key(), v, new byte[0]));
      return;
    }
    ActorRef<LoadRangeReply> gather = Gather.spawn(getContext(), ShardRanges.partCount(v.start, v.pages),
        new Assembly(v),
        Assembly::add,
        acc -> g.replyTo().tell(acc.error == null ? found(serialization, g.key(), v, acc.value)
            : new OverflowStore.GetFailed(g.key(), acc.error)),
        PAGE_TIMEOUT, acc -> g.replyTo().tell(new OverflowStore.GetFailed(g.key(), new EngineError(
            ErrorCode.SHUTTING_DOWN, "loading the value of key " + g.key() + " timed out"))));
    for (int done = 0; done < v.pages; ) {
      int n = ShardRanges.partLength(v.start + done, v.pages - done);
      send(new EngineCommand.LoadRange(export, v.start + done, n, gather));
      done += n;
    }
  }

  /** The value's object: its bytes, or what its serializer makes of them (in the get's gatherer, not here). */
  private static OverflowStore.GetResult found(Serialization serialization, OverflowKey key, Value v, byte[] bytes) {
    if (v.serializer == BYTES) {
      return new OverflowStore.Found(key, v.manifest.equals(BYTE_STRING) ? ByteString.fromArrayUnsafe(bytes) : bytes);
    }
    try {
      return new OverflowStore.Found(key, new SerializedValue(v.serializer, v.manifest, bytes).restore(serialization));
    } catch (Exception e) {
      return new OverflowStore.GetFailed(key, new EngineError(ErrorCode.INVALID, "cannot deserialize key " + key
          + " (serializer " + v.serializer + ", manifest \"" + v.manifest + "\"): " + e));
    }
  }

  /** Assembles a value from its parts as they arrive, in any order; owned by its gatherer. */
  private static final class Assembly {
    final Value v;
    final byte[] value;
    EngineError error;

    Assembly(Value v) {
      this.v = v;
      this.value = new byte[v.length];
    }

    Assembly add(LoadRangeReply r) {
      if (r instanceof LoadRangeReply.LoadedRange l) {
        int off = (int) (l.firstPage() - v.start) * PageImage.PAGE_SIZE;
        System.arraycopy(l.pages(), 0, value, off, Math.min(l.pages().length, value.length - off));
      } else if (error == null) {
        error = ((LoadRangeReply.LoadRangeFailed) r).error();
      }
      return this;
    }
  }

  private Behavior<Command> onListKeys(OverflowStore.ListKeys m) {
    List<OverflowKey> page = new ArrayList<>(Math.min(Math.max(m.max(), 0), 4096));
    List<Value> due = new ArrayList<>();
    Map<OverflowKey, Value> rest = m.after().isPresent() ? values.tailMap(m.after().get(), false) : values;
    for (Value v : rest.values()) {
      if (page.size() >= m.max()) {
        break;
      }
      if (isExpired(v)) {
        if (!busy.containsKey(v.key)) {
          due.add(v);
        }
      } else {
        page.add(v.key);
      }
    }
    due.forEach(v -> evict(v, OverflowStore.EvictionReason.EXPIRED));
    m.replyTo().tell(new OverflowStore.KeyPage(List.copyOf(page)));
    return this;
  }

  private Behavior<Command> onSetLimits(OverflowStore.SetLimits m) {
    limits = m.limits();
    if (limits.whenFull() == OverflowLimits.WhenFull.EVICT_LRU) {
      Value v;
      while (overLimits() && (v = leastRecentlyUsedBut(null)) != null) {
        evict(v, OverflowStore.EvictionReason.LRU);
      }
    }
    expireDue();
    m.replyTo().tell(figures());
    return this;
  }

  private boolean overLimits() {
    return limits.maxBytes().isPresent() && storedBytes + reservedBytes > limits.maxBytes().getAsLong()
        || limits.maxEntries().isPresent() && values.size() + reservedEntries > limits.maxEntries().getAsLong();
  }

  private OverflowStore.Figures figures() {
    return new OverflowStore.Figures(namespace, values.size(), valueBytes, storedBytes, refused, evicted, expired,
        limits);
  }

  // ---- expiry and eviction ----------------------------------------------------------------

  /** The value under {@code key} unless it has expired (an expired one is evicted now). */
  private Value live(OverflowKey key) {
    Value v = key == null ? null : values.get(key);
    if (v != null && isExpired(v)) {
      evict(v, OverflowStore.EvictionReason.EXPIRED);
      return null;
    }
    return v;
  }

  private boolean isExpired(Value v) {
    return limits.timeToLive().isPresent() && System.nanoTime() - v.writtenAt >= limits.timeToLive().get().toNanos();
  }

  /** Evicts every expired value (the oldest first) and sets the timer for the next. */
  private void expireDue() {
    while (first[AGE] != null && isExpired(first[AGE]) && !busy.containsKey(first[AGE].key)) {
      evict(first[AGE], OverflowStore.EvictionReason.EXPIRED);
    }
    armExpiry();
  }

  private void armExpiry() {
    if (expiryArmed || first[AGE] == null || limits.timeToLive().isEmpty()) {
      return;
    }
    long left = limits.timeToLive().get().toNanos() - (System.nanoTime() - first[AGE].writtenAt);
    timers.startSingleTimer(new Expire(), Duration.ofNanos(Math.max(0, left)).plus(EXPIRY_SLACK));
    expiryArmed = true;
  }

  private void evict(Value v, OverflowStore.EvictionReason reason) {
    drop(v);
    if (reason == OverflowStore.EvictionReason.LRU) {
      evicted++;
    } else {
      expired++;
    }
    OverflowStore.Evicted notice = new OverflowStore.Evicted(v.key, reason, v.length);
    subscribers.forEach(s -> s.tell(notice));
  }

  /** Takes a value out of the namespace and frees its pages. */
  private void drop(Value v) {
    values.remove(v.key);
    unlink(USE, v);
    unlink(AGE, v);
    valueBytes -= v.length;
    storedBytes -= v.stored;
    release(v.start, v.pages);
  }

  /** Frees a run of pages; a later put may reuse them, its stores queue behind this invalidate. */
  private void release(long start, int pages) {
    if (pages > 0) {
      send(new EngineCommand.InvalidateRange(export, start, pages, getContext().getSystem().ignoreRef()));
    }
    extents.free(start, pages);
  }

  /** Puts {@code v} at the back of {@code order}. */
  private void append(int order, Value v) {
    v.link(order, last[order], null);
    if (last[order] != null) {
      last[order].setNext(order, v);
    } else {
      first[order] = v;
    }
    last[order] = v;
  }

  /** Takes {@code v} out of {@code order}. */
  private void unlink(int order, Value v) {
    Value prev = v.prev(order);
    Value next = v.next(order);
    if (prev != null) {
      prev.setNext(order, next);
    } else if (first[order] == v) {
      first[order] = next;
    }
    if (next != null) {
      next.setPrev(order, prev);
    } else if (last[order] == v) {
      last[order] = prev;
    }
    v.link(order, null, null);
  }
}
