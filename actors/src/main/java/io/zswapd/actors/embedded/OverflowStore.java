package io.zswapd.actors.embedded;

import akka.NotUsed;
import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.Adapter;
import akka.japi.Pair;
import akka.stream.OverflowStrategy;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import io.zswapd.actors.overflow.OverflowKey;
import io.zswapd.actors.overflow.OverflowLimits;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Values kept compressed off the heap under {@code long} or {@code String} keys, one namespace
 * each: where an Akka application parks cold state instead of holding it on the heap.
 *
 * <pre>{@code
 * OverflowStore cold = Zswapd.get(system).overflowStore("sessions",
 *     OverflowLimits.NONE.withMaxBytes(256L << 20).withWhenFull(OverflowLimits.WhenFull.EVICT_LRU))
 *     .toCompletableFuture().join();
 * cold.putObject("session-7", session)                       // any message Akka can serialize
 *     .thenCompose(v -> cold.getObject("session-7", Session.class))
 *     .thenAccept(s -> s.ifPresent(this::resume));
 * }</pre>
 *
 * <p><b>Values.</b> {@code byte[]} and {@link ByteString} are kept as they are; any other
 * object goes through Akka Serialization (the serializer bound to its class in
 * {@code akka.actor.serialization-bindings}), and its serializer id and manifest are kept with
 * it, so {@link #getObject} gives back the object. A value's serialized bytes may be up to
 * {@link #MAX_VALUE_BYTES}; they are cut into 4 KiB pages, compressed on the engine's dispatcher
 * and stored in the namespace's own page space. A put that cannot be stored (pool full, the
 * namespace at a limit it refuses at, a value that does not serialize) fails and leaves the
 * previous value.
 *
 * <p><b>Order.</b> Operations on one key apply in the order they reached the namespace (calls
 * from one thread: the order of the calls). {@link #keys()} lists keys in {@link OverflowKey}'s
 * order, a page at a time; keys put or removed during a listing may or may not be in it.
 *
 * <p><b>From an actor.</b> {@link #ref()} is the namespace's actor: tell or ask it the
 * {@link Command}s below with a {@code replyTo} of your own; this class is a thin
 * {@code CompletionStage} layer over the same messages. A {@link Put} sent to it takes its value
 * as is, so do not change a {@code byte[]} after sending it.
 *
 * <p><b>Limits.</b> {@link OverflowLimits}: max entries, max compressed bytes, refuse or evict
 * the least recently used when full, and a time-to-live. Evictions and expiries are counted in
 * {@link #figures()} and can be watched ({@link #evictions(int)}, {@link SubscribeEvictions}),
 * so an application can fall back to its source of truth.
 */
public final class OverflowStore {
  /** The largest value, serialized: 64 MiB, one tree shard's worth of pages. */
  public static final int MAX_VALUE_BYTES = 64 << 20;

  /** Keys per {@link ListKeys} page that {@link #keys()} asks for. */
  public static final int KEYS_PAGE = 1024;

  // ---- the namespace's protocol -------------------------------------------------------------

  /** A message to a namespace's actor ({@link #ref()}). */
  public interface Command {}

  /**
   * Stores {@code value} (a {@code byte[]}, a {@link ByteString} or any object Akka can
   * serialize) under {@code key}, replacing any previous value.
   */
  public record Put(OverflowKey key, Object value, ActorRef<PutResult> replyTo) implements Command {}

  /** The value under {@code key}: {@link Found} (deserialized), {@link Missing} or {@link GetFailed}. */
  public record Get(OverflowKey key, ActorRef<GetResult> replyTo) implements Command {}

  /** Removes the value under {@code key} and frees its memory. */
  public record Remove(OverflowKey key, ActorRef<Removed> replyTo) implements Command {}

  /** Whether a value is under {@code key} (an expired one is not). */
  public record Contains(OverflowKey key, ActorRef<Boolean> replyTo) implements Command {}

  /** Up to {@code max} keys after {@code after} (from the first when empty), in key order. */
  public record ListKeys(Optional<OverflowKey> after, int max, ActorRef<KeyPage> replyTo) implements Command {}

  /** The namespace's figures now. */
  public record GetFigures(ActorRef<Figures> replyTo) implements Command {}

  /** New limits, in force at once (evicting at once when they are lower and the policy evicts). */
  public record SetLimits(OverflowLimits limits, ActorRef<Figures> replyTo) implements Command {}

  /** {@code subscriber} is told every eviction and expiry from now on, until it stops. */
  public record SubscribeEvictions(ActorRef<Evicted> subscriber) implements Command {}

  public sealed interface PutResult {}

  public record PutDone(OverflowKey key, boolean replaced) implements PutResult {}

  public record PutFailed(OverflowKey key, EngineError error) implements PutResult {}

  public sealed interface GetResult {}

  /** {@code value} is what was put: a {@code byte[]}, a {@link ByteString}, or the deserialized object. */
  public record Found(OverflowKey key, Object value) implements GetResult {}

  public record Missing(OverflowKey key) implements GetResult {}

  public record GetFailed(OverflowKey key, EngineError error) implements GetResult {}

  public record Removed(OverflowKey key, boolean existed) {}

  public record KeyPage(List<OverflowKey> keys) {}

  /** Why a value left without a remove. */
  public enum EvictionReason { LRU, EXPIRED }

  /** A value that left the namespace by eviction or expiry; {@code length} its serialized bytes. */
  public record Evicted(OverflowKey key, EvictionReason reason, int length) {}

  /**
   * A namespace's figures: values held and their bytes (serialized, and compressed as stored),
   * puts refused for a namespace limit, values evicted (LRU) and expired, and the limits.
   */
  public record Figures(String namespace, long entries, long valueBytes, long storedBytes, long refused,
      long evicted, long expired, OverflowLimits limits) {}

  // ---- the CompletionStage layer ------------------------------------------------------------

  private final String namespace;
  private final ActorRef<Command> ref;
  private final Ask asks;

  OverflowStore(String namespace, ActorRef<Command> ref, Ask asks) {
    this.namespace = namespace;
    this.ref = ref;
    this.asks = asks;
  }

  public String namespace() {
    return namespace;
  }

  /** The namespace's actor, for actors that tell or ask it the {@link Command}s directly. */
  public ActorRef<Command> ref() {
    return ref;
  }

  /** Stores a copy of {@code value} under {@code key}; the array may be reused at once. */
  public CompletionStage<Void> put(long key, byte[] value) {
    return put(OverflowKey.of(key), value);
  }

  /** Stores a copy of {@code value} under {@code key}; the array may be reused at once. */
  public CompletionStage<Void> put(String key, byte[] value) {
    return key(key).thenCompose(k -> put(k, value));
  }

  /** Stores a copy of {@code value} under {@code key}; the array may be reused at once. */
  public CompletionStage<Void> put(OverflowKey key, byte[] value) {
    return send(key, value.clone());
  }

  public CompletionStage<Void> put(OverflowKey key, ByteString value) {
    return send(key, value);
  }

  /** Stores {@code message}, serialized by Akka Serialization, under {@code key}. */
  public CompletionStage<Void> putObject(long key, Object message) {
    return send(OverflowKey.of(key), message);
  }

  /** Stores {@code message}, serialized by Akka Serialization, under {@code key}. */
  public CompletionStage<Void> putObject(String key, Object message) {
    return key(key).thenCompose(k -> send(k, message));
  }

  /** Stores {@code message}, serialized by Akka Serialization, under {@code key}. */
  public CompletionStage<Void> putObject(OverflowKey key, Object message) {
    return send(key, message);
  }

  private CompletionStage<Void> send(OverflowKey key, Object value) {
    if (value == null) {
      return invalid("an overflow-store value cannot be null (key " + key + ")");
    }
    return asks.ask(ref, (ActorRef<PutResult> r) -> new Put(key, value, r), null, r -> {
      if (r instanceof PutFailed f) {
        throw new ZswapdException(f.error());
      }
      return null;
    }, Ask.Completion.TASK);
  }

  /** The bytes under {@code key}, or empty; fails (INVALID) when the key holds a serialized object. */
  public CompletionStage<Optional<byte[]>> get(long key) {
    return get(OverflowKey.of(key));
  }

  /** The bytes under {@code key}, or empty; fails (INVALID) when the key holds a serialized object. */
  public CompletionStage<Optional<byte[]>> get(String key) {
    return key(key).thenCompose(this::get);
  }

  /** The bytes under {@code key}, or empty; fails (INVALID) when the key holds a serialized object. */
  public CompletionStage<Optional<byte[]>> get(OverflowKey key) {
    return getObject(key, Object.class).thenApply(found -> found.map(v -> {
      if (v instanceof byte[] bytes) {
        return bytes;
      } else if (v instanceof ByteString bytes) {
        return bytes.toArrayUnsafe();
      }
      throw new ZswapdException(new EngineError(ErrorCode.INVALID, "key " + key + " of namespace " + namespace
          + " holds a " + v.getClass().getName() + ", not bytes: use getObject"));
    }));
  }

  /** The bytes under {@code key} as a {@link ByteString}, or empty. */
  public CompletionStage<Optional<ByteString>> getByteString(OverflowKey key) {
    return get(key).thenApply(found -> found.map(ByteString::fromArrayUnsafe)); // unsafe: the array is ours alone
  }

  /** The object under {@code key}, deserialized, or empty; fails (INVALID) when it is not a {@code type}. */
  public <T> CompletionStage<Optional<T>> getObject(long key, Class<T> type) {
    return getObject(OverflowKey.of(key), type);
  }

  /** The object under {@code key}, deserialized, or empty; fails (INVALID) when it is not a {@code type}. */
  public <T> CompletionStage<Optional<T>> getObject(String key, Class<T> type) {
    return key(key).thenCompose(k -> getObject(k, type));
  }

  /** The object under {@code key}, deserialized, or empty; fails (INVALID) when it is not a {@code type}. */
  public <T> CompletionStage<Optional<T>> getObject(OverflowKey key, Class<T> type) {
    return asks.ask(ref, (ActorRef<GetResult> r) -> new Get(key, r), null, r -> {
      if (r instanceof Found f) {
        if (!type.isInstance(f.value())) {
          throw new ZswapdException(new EngineError(ErrorCode.INVALID, "key " + key + " of namespace " + namespace
              + " holds a " + f.value().getClass().getName() + ", not a " + type.getName()));
        }
        return Optional.of(type.cast(f.value()));
      } else if (r instanceof GetFailed f) {
        throw new ZswapdException(f.error());
      }
      return Optional.<T>empty();
    }, Ask.Completion.TASK);
  }

  /** Removes the value under {@code key} and frees its memory; true when there was one. */
  public CompletionStage<Boolean> remove(long key) {
    return remove(OverflowKey.of(key));
  }

  public CompletionStage<Boolean> remove(String key) {
    return key(key).thenCompose(this::remove);
  }

  public CompletionStage<Boolean> remove(OverflowKey key) {
    return asks.<Command, Removed>ask(ref, r -> new Remove(key, r)).thenApply(Removed::existed);
  }

  public CompletionStage<Boolean> contains(long key) {
    return contains(OverflowKey.of(key));
  }

  public CompletionStage<Boolean> contains(String key) {
    return key(key).thenCompose(this::contains);
  }

  public CompletionStage<Boolean> contains(OverflowKey key) {
    return asks.ask(ref, r -> new Contains(key, r));
  }

  /** Number of values held. */
  public CompletionStage<Long> size() {
    return figures().thenApply(Figures::entries);
  }

  public CompletionStage<Figures> figures() {
    return asks.ask(ref, GetFigures::new);
  }

  /** Sets the namespace's limits; completes with its figures once they are in force. */
  public CompletionStage<Figures> setLimits(OverflowLimits limits) {
    return asks.ask(ref, r -> new SetLimits(limits, r));
  }

  /**
   * Every key, in {@link OverflowKey} order, fetched {@link #KEYS_PAGE} at a time as the stream
   * pulls: a namespace of millions of keys is never copied whole.
   */
  public Source<OverflowKey, NotUsed> keys() {
    return Source.unfoldAsync(Optional.<OverflowKey>empty(), after ->
            asks.<Command, KeyPage>ask(ref, r -> new ListKeys(after, KEYS_PAGE, r))
                .thenApply(page -> page.keys().isEmpty() ? Optional.<Pair<Optional<OverflowKey>, List<OverflowKey>>>empty()
                    : Optional.of(Pair.create(Optional.of(page.keys().get(page.keys().size() - 1)), page.keys()))))
        .mapConcat(page -> page);
  }

  /**
   * The evictions and expiries of this namespace from the materialization on. An application
   * that does not keep up loses the oldest notices past {@code bufferSize} (the counts in
   * {@link #figures()} stay exact); cancelling the stream unsubscribes.
   */
  public Source<Evicted, NotUsed> evictions(int bufferSize) {
    return Source.<Evicted>actorRef(m -> Optional.empty(), m -> Optional.empty(), bufferSize,
            OverflowStrategy.dropHead())
        .mapMaterializedValue(classic -> {
          ref.tell(new SubscribeEvictions(Adapter.toTyped(classic)));
          return NotUsed.getInstance();
        });
  }

  /**
   * A buffer stage that keeps up to {@code heapElements} elements on the heap and, when
   * downstream is slower, spills the rest to this namespace instead of backpressuring, keeping
   * element order; past {@code maxSpillBytes} spilled it backpressures or fails, as
   * {@code whenFull} says. Elements are serialized with Akka Serialization, as {@link #putObject}
   * does. See {@link SpillBuffer}.
   */
  public <T> Flow<T, T, NotUsed> spillBuffer(Class<T> type, int heapElements, long maxSpillBytes,
      SpillBuffer.WhenFull whenFull) {
    return Flow.fromGraph(new SpillBuffer<>(this, type, heapElements, maxSpillBytes, whenFull));
  }

  private static CompletionStage<OverflowKey> key(String key) {
    try {
      return CompletableFuture.completedFuture(OverflowKey.of(key));
    } catch (IllegalArgumentException e) {
      return invalid(e.getMessage());
    }
  }

  private static <T> CompletionStage<T> invalid(String message) {
    return CompletableFuture.failedStage(new ZswapdException(new EngineError(ErrorCode.INVALID, message)));
  }
}
