package io.zswapd.testkit;

import io.zswapd.actors.writeback.BackingIo;
import java.io.IOException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A {@link BackingIo} for race tests: holds single writes or reads until the test releases them,
 * fails the next N of them, and counts calls, so a scenario such as "writeback completes after
 * the page was stored again" can be replayed in one exact order.
 *
 * <pre>{@code
 * GatedBackingIo io = GatedBackingIo.inMemory().holdWrites(true);
 * ActorRef<BackingStore.Command> store =
 *     kit.spawn(BackingStore.create("swap0", io, BackingStore.UNLIMITED));
 * shard.tell(...);                                   // starts a writeback
 * GatedBackingIo.Call w = io.writeCall(0).get(5, SECONDS);   // the store issued it
 * shard.tell(...);                                   // the racing invalidate or store
 * io.releaseWrite(0);                                // now the write lands and completes
 * }</pre>
 *
 * <p>Calls are numbered per kind from 0 in the order the store issues them. A held operation
 * reaches the underlying file only when released, as on a slow disk: a held read returns what
 * is there at release time, so a slot reused too early shows up as wrong bytes. Whether a call
 * is held or fails is decided when it is made. Test code only: thread-safe with concurrent maps
 * and atomics, since calls come from the store's actor and releases from the test.
 */
public final class GatedBackingIo implements BackingIo {

  /** One call as the store made it. */
  public record Call(int index, long position, int length) {}

  private final BackingIo delegate;
  private final Gate writes = new Gate("write");
  private final Gate reads = new Gate("read");
  private volatile boolean closed;

  private GatedBackingIo(BackingIo delegate) {
    this.delegate = delegate;
  }

  /** Gates over a sparse file in memory whose operations complete at once. */
  public static GatedBackingIo inMemory() {
    return new GatedBackingIo(new MemoryFile());
  }

  /** Gates over another implementation, for example a {@code FileBackingIo} on a temp file. */
  public static GatedBackingIo over(BackingIo delegate) {
    return new GatedBackingIo(Objects.requireNonNull(delegate, "delegate"));
  }

  /** Whether writes made from now on are held until released. Returns this. */
  public GatedBackingIo holdWrites(boolean hold) {
    writes.hold = hold;
    return this;
  }

  /** Whether reads made from now on are held until released. Returns this. */
  public GatedBackingIo holdReads(boolean hold) {
    reads.hold = hold;
    return this;
  }

  /** The next {@code n} writes fail with an IOException instead of reaching the file. */
  public GatedBackingIo failNextWrites(int n) {
    writes.failBudget.addAndGet(n);
    return this;
  }

  /** The next {@code n} reads fail with an IOException instead of reaching the file. */
  public GatedBackingIo failNextReads(int n) {
    reads.failBudget.addAndGet(n);
    return this;
  }

  /** Lets held write {@code index} run; throws IllegalStateException if it is not held. */
  public void releaseWrite(int index) {
    writes.release(index);
  }

  /** Lets held read {@code index} run; throws IllegalStateException if it is not held. */
  public void releaseRead(int index) {
    reads.release(index);
  }

  /** Lets every held write run, in call order; returns how many there were. */
  public int releaseAllWrites() {
    return writes.releaseAll();
  }

  /** Lets every held read run, in call order; returns how many there were. */
  public int releaseAllReads() {
    return reads.releaseAll();
  }

  /** Completes held write {@code index} with an IOException, without touching the file. */
  public void failWrite(int index) {
    writes.fail(index);
  }

  /** Completes held read {@code index} with an IOException, without touching the file. */
  public void failRead(int index) {
    reads.fail(index);
  }

  /** Completes when write {@code index} has been issued (held or not). */
  public CompletableFuture<Call> writeCall(int index) {
    return writes.arrival(index);
  }

  /** Completes when read {@code index} has been issued (held or not). */
  public CompletableFuture<Call> readCall(int index) {
    return reads.arrival(index);
  }

  public int writeCalls() {
    return writes.calls.get();
  }

  public int readCalls() {
    return reads.calls.get();
  }

  public int heldWrites() {
    return writes.held.size();
  }

  public int heldReads() {
    return reads.held.size();
  }

  public boolean isClosed() {
    return closed;
  }

  @Override
  public CompletionStage<Void> write(long position, byte[] bytes) {
    return writes.call(position, bytes.length, () -> delegate.write(position, bytes));
  }

  @Override
  public CompletionStage<byte[]> read(long position, int length) {
    return reads.call(position, length, () -> delegate.read(position, length));
  }

  @Override
  public void close() {
    closed = true;
    delegate.close();
  }

  /** The calls of one kind: numbering, holds, failures and arrivals. */
  private static final class Gate {
    private record Held(Runnable operation, CompletableFuture<?> result, Call call) {}

    final String kind;
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger failBudget = new AtomicInteger();
    final ConcurrentHashMap<Integer, Held> held = new ConcurrentHashMap<>();
    final ConcurrentHashMap<Integer, CompletableFuture<Call>> arrivals = new ConcurrentHashMap<>();
    volatile boolean hold;

    Gate(String kind) {
      this.kind = kind;
    }

    <T> CompletionStage<T> call(long position, int length, Supplier<CompletionStage<T>> operation) {
      int index = calls.getAndIncrement();
      Call call = new Call(index, position, length);
      boolean fail = failBudget.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0;
      CompletableFuture<T> result = new CompletableFuture<>();
      Runnable run = () -> {
        if (fail) {
          result.completeExceptionally(injected(call));
          return;
        }
        try {
          operation.get().whenComplete((value, failure) -> {
            if (failure != null) {
              result.completeExceptionally(failure);
            } else {
              result.complete(value);
            }
          });
        } catch (RuntimeException e) {
          result.completeExceptionally(e);
        }
      };
      boolean gated = hold;
      if (gated) {
        held.put(index, new Held(run, result, call));
      }
      arrival(index).complete(call); // after registering, so whoever awaited it can release it
      if (!gated) {
        run.run();
      }
      return result;
    }

    CompletableFuture<Call> arrival(int index) {
      return arrivals.computeIfAbsent(index, i -> new CompletableFuture<>());
    }

    void release(int index) {
      take(index).operation().run();
    }

    void fail(int index) {
      Held h = take(index);
      h.result().completeExceptionally(injected(h.call()));
    }

    int releaseAll() {
      int released = 0;
      for (int index = 0; index < calls.get(); index++) {
        Held h = held.remove(index);
        if (h != null) {
          h.operation().run();
          released++;
        }
      }
      return released;
    }

    private Held take(int index) {
      Held h = held.remove(index);
      if (h == null) {
        throw new IllegalStateException(kind + " #" + index + " is not held (" + calls.get()
            + " " + kind + "s issued so far, held: " + held.keySet() + ")");
      }
      return h;
    }

    private IOException injected(Call call) {
      return new IOException("injected " + kind + " failure #" + call.index() + " of "
          + call.length() + " bytes at " + call.position());
    }
  }

  /**
   * A sparse file in memory, in 4 KiB blocks, as long as its furthest write; reading past that
   * fails as a real file does. Bytes never written read as zeros.
   */
  private static final class MemoryFile implements BackingIo {
    private static final int BLOCK = 4096;
    private final ConcurrentHashMap<Long, byte[]> blocks = new ConcurrentHashMap<>();
    private final AtomicLong size = new AtomicLong();

    @Override
    public CompletionStage<Void> write(long position, byte[] bytes) {
      for (int done = 0; done < bytes.length; ) {
        long at = position + done;
        int offset = (int) (at % BLOCK);
        int n = Math.min(BLOCK - offset, bytes.length - done);
        System.arraycopy(bytes, done, blocks.computeIfAbsent(at / BLOCK, b -> new byte[BLOCK]), offset, n);
        done += n;
      }
      size.accumulateAndGet(position + bytes.length, Math::max);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<byte[]> read(long position, int length) {
      if (position + length > size.get()) {
        return CompletableFuture.failedFuture(new IOException("end of file at " + size.get()
            + " reading " + length + " bytes at position " + position));
      }
      byte[] out = new byte[length];
      for (int done = 0; done < length; ) {
        long at = position + done;
        int offset = (int) (at % BLOCK);
        int n = Math.min(BLOCK - offset, length - done);
        byte[] block = blocks.get(at / BLOCK);
        if (block != null) {
          System.arraycopy(block, offset, out, done, n);
        }
        done += n;
      }
      return CompletableFuture.completedFuture(out);
    }

    @Override
    public void close() {
      blocks.clear();
    }
  }
}
