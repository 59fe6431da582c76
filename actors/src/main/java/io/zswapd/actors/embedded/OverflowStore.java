package io.zswapd.actors.embedded;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.overflow.OverflowDirectory;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.PageImage;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Byte values under {@code long} keys, kept compressed off the heap: where an actor parks
 * cold state instead of holding it on the heap.
 *
 * <pre>{@code
 * OverflowStore cold = Zswapd.get(system).overflowStore("sessions").toCompletableFuture().join();
 * cold.put(sessionId, serializedState)                  // compressed before put returns
 *     .thenCompose(v -> cold.get(sessionId))           // Optional<byte[]>
 *     .thenAccept(state -> state.ifPresent(this::restore));
 * }</pre>
 *
 * <p>A value of any size up to {@link #MAX_VALUE_BYTES} is split into 4 KiB pages, each
 * compressed on the calling thread and stored in the namespace's own page space; a put that
 * cannot be stored (pool full) fails and leaves the previous value. Operations on one key
 * apply in the order they were called.
 */
public final class OverflowStore {
  /** The largest value: 64 MiB, one tree shard's worth of pages. */
  public static final int MAX_VALUE_BYTES = 64 << 20;

  private final String namespace;
  private final ActorRef<OverflowDirectory.Command> directory;
  private final PageCompressor compressor;
  private final Ask asks;

  OverflowStore(String namespace, ActorRef<OverflowDirectory.Command> directory, PageCompressor compressor,
      Ask asks) {
    this.namespace = namespace;
    this.directory = directory;
    this.compressor = compressor;
    this.asks = asks;
  }

  public String namespace() {
    return namespace;
  }

  /** Stores {@code value} under {@code key}, replacing any previous value; the array may be reused at once. */
  public CompletionStage<Void> put(long key, byte[] value) {
    if (value.length > MAX_VALUE_BYTES) {
      return CompletableFuture.failedStage(new ZswapdException(new EngineError(ErrorCode.INVALID,
          "value of " + value.length + " bytes exceeds the overflow store limit of " + MAX_VALUE_BYTES
              + " bytes (64 MiB)")));
    }
    int pages = (value.length + PageImage.PAGE_SIZE - 1) / PageImage.PAGE_SIZE;
    PageImage[] images = new PageImage[pages];
    byte[] tail = null;
    for (int i = 0; i < pages; i++) {
      int off = i * PageImage.PAGE_SIZE;
      if (value.length - off >= PageImage.PAGE_SIZE) {
        images[i] = compressor.compress(ByteBuffer.wrap(value, off, PageImage.PAGE_SIZE));
      } else {
        tail = new byte[PageImage.PAGE_SIZE];
        System.arraycopy(value, off, tail, 0, value.length - off);
        images[i] = compressor.compress(tail, 0);
      }
    }
    return asks.ask(directory, (ActorRef<OverflowDirectory.PutReply> r) ->
        new OverflowDirectory.Put(key, images, value.length, r), null, r -> {
          if (r instanceof OverflowDirectory.PutFailed f) {
            throw new ZswapdException(f.error());
          }
          return null;
        }, Ask.Completion.TASK);
  }

  /** The value under {@code key}, or empty when there is none. */
  public CompletionStage<Optional<byte[]>> get(long key) {
    return asks.ask(directory, (ActorRef<OverflowDirectory.GetReply> r) -> new OverflowDirectory.Get(key, r), null,
        r -> {
          if (r instanceof OverflowDirectory.Found f) {
            return Optional.of(f.value());
          } else if (r instanceof OverflowDirectory.GetFailed f) {
            throw new ZswapdException(f.error());
          }
          return Optional.<byte[]>empty();
        }, Ask.Completion.TASK);
  }

  /** Removes the value under {@code key} and frees its memory; true when there was one. */
  public CompletionStage<Boolean> remove(long key) {
    return asks.ask(directory, r -> new OverflowDirectory.Remove(key, r));
  }

  /** Number of keys held. */
  public CompletionStage<Long> size() {
    return asks.ask(directory, OverflowDirectory.GetSize::new);
  }
}
