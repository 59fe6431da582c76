package io.zswapd.actors.embedded;

import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.AsyncCallback;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import io.zswapd.actors.overflow.OverflowKey;
import io.zswapd.actors.overflow.SerializedValue;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A buffer that spills to compressed memory instead of backpressuring: up to
 * {@code heapElements} elements wait on the heap; when the consumer is slower, the rest are
 * serialized (Akka Serialization), packed into batches of about {@link #BATCH_BYTES} and put in
 * an overflow-store namespace, and read back in order as the consumer catches up. Element order
 * is kept. Past {@code maxSpillBytes} of serialized elements spilled, the stage backpressures
 * ({@link WhenFull#BACKPRESSURE}) or fails with a {@link BufferOverflowException} naming the
 * limit ({@link WhenFull#FAIL}). Made by {@link OverflowStore#spillBuffer}.
 *
 * <p>Heap held: at most {@code heapElements} elements, plus one batch being filled and one
 * being read back (each about {@link #BATCH_BYTES} serialized), plus the batches whose puts are
 * in flight ({@link #MAX_PUTS_IN_FLIGHT}). Each materialization has its own keys in the
 * namespace (its number in the high bits of a long key); what it spilled and did not read back
 * is removed when the stage stops.
 */
public final class SpillBuffer<T> extends GraphStage<FlowShape<T, T>> {

  /** What the stage does when {@code maxSpillBytes} are spilled. */
  public enum WhenFull { BACKPRESSURE, FAIL }

  /** The spill buffer passed its byte limit and was made to fail. */
  public static final class BufferOverflowException extends RuntimeException {
    BufferOverflowException(String message) {
      super(message);
    }
  }

  /** Serialized bytes gathered into one overflow-store value. */
  public static final int BATCH_BYTES = 64 << 10;
  /** Most elements in one batch (small elements: their framing and the batch's latency). */
  public static final int BATCH_ELEMENTS = 4096;
  /** Batches being put at once; past it the stage stops pulling until one is stored. */
  public static final int MAX_PUTS_IN_FLIGHT = 8;

  private static final AtomicLong MATERIALIZATIONS = new AtomicLong();

  private final Inlet<T> in = Inlet.create("SpillBuffer.in");
  private final Outlet<T> out = Outlet.create("SpillBuffer.out");
  private final FlowShape<T, T> shape = FlowShape.of(in, out);
  private final OverflowStore store;
  private final Class<T> type;
  private final int heapElements;
  private final long maxSpillBytes;
  private final WhenFull whenFull;

  SpillBuffer(OverflowStore store, Class<T> type, int heapElements, long maxSpillBytes, WhenFull whenFull) {
    if (heapElements < 1) {
      throw new IllegalArgumentException("heapElements must be at least 1, got " + heapElements);
    }
    if (maxSpillBytes < BATCH_BYTES) {
      throw new IllegalArgumentException("maxSpillBytes must be at least one batch (" + BATCH_BYTES + " bytes), got "
          + maxSpillBytes);
    }
    this.store = store;
    this.type = type;
    this.heapElements = heapElements;
    this.maxSpillBytes = maxSpillBytes;
    this.whenFull = whenFull;
  }

  @Override
  public FlowShape<T, T> shape() {
    return shape;
  }

  /** One spilled batch: its key and serialized size. */
  private record Batch(long key, int bytes, int elements) {}

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new GraphStageLogic(shape) {
      private final long base = (MATERIALIZATIONS.incrementAndGet() & ((1L << 23) - 1)) << 40;
      private long nextSeq;
      private Serialization serialization;
      /** Elements ready to go downstream, in order: before everything spilled. */
      private final ArrayDeque<T> ready = new ArrayDeque<>();
      /** Batches in the store (or being put), in order, after {@code ready}. */
      private final ArrayDeque<Batch> spilled = new ArrayDeque<>();
      /** Serialized elements after the spilled batches, not yet a batch of their own. */
      private ByteArrayOutputStream filling = new ByteArrayOutputStream();
      private int fillingElements;
      private long spilledBytes;
      private int putsInFlight;
      private boolean fetching;
      private AsyncCallback<Object> putDone;
      private AsyncCallback<Object> fetched;

      @Override
      public void preStart() {
        serialization = SerializationExtension.get(materializer().system());
        putDone = createAsyncCallback(result -> {
          putsInFlight--;
          if (result instanceof Throwable t) {
            failStage(t);
          } else {
            pullIfRoom();
          }
        });
        fetched = createAsyncCallback(result -> {
          fetching = false;
          if (result instanceof Throwable t) {
            failStage(t);
            return;
          }
          Batch b = spilled.poll();
          spilledBytes -= b.bytes();
          store.remove(OverflowKey.of(b.key()));
          unpack((byte[]) result);
          emit();
          refill();
          pullIfRoom();
          completeIfDone();
        });
        pull(in);
      }

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            T element = grab(in);
            if (spilled.isEmpty() && fillingElements == 0 && ready.size() < heapElements) {
              ready.add(element);
              emit();
            } else {
              spill(element);
            }
            pullIfRoom();
          }

          @Override
          public void onUpstreamFinish() {
            if (fillingElements > 0) {
              if (spilled.isEmpty()) {
                unpack(takeFilling());
              } else {
                putBatch();
              }
            }
            emit();
            completeIfDone();
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            emit();
            refill();
            pullIfRoom();
            completeIfDone();
          }
        });
      }

      private void emit() {
        if (isAvailable(out) && !ready.isEmpty()) {
          push(out, ready.poll());
        }
      }

      /** Pulls when there is room: on the heap, or under the spill limit with few puts in flight. */
      private void pullIfRoom() {
        if (isClosed(in) || hasBeenPulled(in)) {
          return;
        }
        boolean heapRoom = spilled.isEmpty() && fillingElements == 0 && ready.size() < heapElements;
        boolean spillRoom = spilledBytes + filling.size() < maxSpillBytes && putsInFlight < MAX_PUTS_IN_FLIGHT;
        if (heapRoom || spillRoom) {
          pull(in);
        } else if (whenFull == WhenFull.FAIL && spilledBytes + filling.size() >= maxSpillBytes) {
          failStage(new BufferOverflowException("spill buffer in overflow namespace " + store.namespace()
              + " passed its limit of " + maxSpillBytes + " spilled bytes (" + ready.size() + " elements on the heap)"));
        }
      }

      private void spill(T element) {
        try {
          SerializedValue.of(serialization, element).writeTo(new DataOutputStream(filling));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        fillingElements++;
        if (filling.size() >= BATCH_BYTES || fillingElements >= BATCH_ELEMENTS) {
          putBatch();
        }
      }

      private byte[] takeFilling() {
        byte[] bytes = filling.toByteArray();
        filling = new ByteArrayOutputStream();
        fillingElements = 0;
        return bytes;
      }

      private void putBatch() {
        int elements = fillingElements;
        byte[] bytes = takeFilling();
        Batch b = new Batch(base + nextSeq++, bytes.length, elements);
        spilled.add(b);
        spilledBytes += bytes.length;
        putsInFlight++;
        store.putObject(OverflowKey.of(b.key()), bytes) // the array is the stage's own: not copied
            .whenComplete((v, failure) -> putDone.invoke(failure != null ? failure : b));
      }

      /** Reads the next spilled batch back when the heap runs low; when nothing is spilled, takes the filling batch. */
      private void refill() {
        if (fetching || ready.size() > heapElements / 2) {
          return;
        }
        if (!spilled.isEmpty()) {
          fetching = true;
          Batch head = spilled.peek();
          store.getObject(OverflowKey.of(head.key()), byte[].class).whenComplete((v, failure) ->
              fetched.invoke(failure != null ? failure : v.isEmpty()
                  ? new IllegalStateException("spilled batch " + head + " is missing from overflow namespace "
                      + store.namespace() + " (removed, or evicted by the namespace's limits)")
                  : v.get()));
        } else if (fillingElements > 0) {
          unpack(takeFilling());
          emit();
        }
      }

      private void unpack(byte[] batch) {
        try (DataInputStream data = new DataInputStream(new java.io.ByteArrayInputStream(batch))) {
          while (data.available() > 0) {
            ready.add(type.cast(SerializedValue.readFrom(data).restore(serialization)));
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }

      private void completeIfDone() {
        if (isClosed(in) && ready.isEmpty() && spilled.isEmpty() && fillingElements == 0 && !fetching) {
          completeStage();
        }
      }

      @Override
      public void postStop() {
        List<Batch> left = new ArrayList<>(spilled);
        spilled.clear();
        for (Batch b : left) {
          store.remove(OverflowKey.of(b.key())); // queued behind its put at the namespace
        }
      }
    };
  }
}
