package io.zswapd.actors.writeback;

import io.zswapd.actors.codec.CodecKind;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

/**
 * The backing store of one export: where compressed pages go, still compressed, once the pool is
 * full (zram's backing_dev, zswap's writeback).
 *
 * <p><b>Ownership.</b> One BackingStore per export with a {@code backing-file} owns the file's
 * slot table ({@link BackingSlots}) and its {@link BackingIo}. Nothing else allocates, frees, reads
 * or writes slots: a tree shard sends {@link Write} and gets a slot offset back, later sends
 * {@link Read} or {@link Free} naming that offset. The bytes of a slot on disk are only ever
 * changed by a write this actor allocated that slot for.
 *
 * <p><b>Slot layout.</b> Slots are byte ranges of the file in 64-byte units, packed back to back:
 * a page compressed to 2,000 bytes takes 2,048 bytes (zram spends a 4 KiB block on it). A freed
 * slot is reused by the next write it fits best; a free run at the tail shrinks the end. The file
 * is never truncated: it grows to its high-water mark, at most {@code capacityBytes} (the export's
 * {@code backing-size}), past which writes are refused.
 *
 * <pre>
 *   offset  0          2048      4096  4160       6208
 *           | page 7   | (free)  | p 9 | page 12  |  end = 6208
 *
 *   one slot:  | the page's bytes (length) | CRC32C (4 bytes, big-endian) | padding to 64 |
 * </pre>
 *
 * <p><b>Checksums.</b> A page corrupted on disk (bit rot, another process writing into the file)
 * may still decompress, LZ4 literals and raw pages above all, and would be returned as wrong
 * data. So each slot ends with a CRC32C ({@link CRC32C}, hardware accelerated) of its offset and
 * its bytes, written with them and checked on every read: a mismatch is a
 * {@link ReadReply.ReadFailed} saying "checksum mismatch" (the load gets an I/O error) and counts
 * {@code corruptReads}. The offset is in the sum so that bytes of another slot, written to the
 * wrong place or copied, do not pass. Senders never see the trailer: {@link Write}, {@link Read}
 * and {@link Free} name the page's length, and this actor adds {@value #CHECKSUM_BYTES} bytes.
 *
 * <p><b>Why frees wait for reads.</b> Message order makes a Free sent after a Read arrive after
 * it, but the read itself runs later, on the I/O executor. If the Free released the slot at once,
 * the next Write could take the same bytes and its disk write land before the read ran: the read
 * would return another page's bytes. So a slot with reads in flight is freed when the last of
 * them completes ({@code readsInFlight}, {@code deferredFrees}); until then it counts as in use.
 * Writes need no such care: nobody can name a slot before its {@link WriteReply.Written}.
 *
 * <p><b>Figures</b> ({@link BackingStats}), after zram's {@code /sys/block/zramN/bd_stat}:
 * {@code slotsInUse} and {@code bytesInUse} are bd_count (zram's in 4 KiB pages), {@code reads}
 * is bd_reads and {@code writes} is bd_writes (zram's in pages; here one per operation).
 * {@code corruptReads} has no zram counterpart (zram keeps no checksum).
 *
 * <pre>{@code
 * ActorRef<BackingStore.Command> store =
 *     context.spawn(BackingStore.create("swap0", io, BackingStore.UNLIMITED), "backing");
 * store.tell(new BackingStore.Write(compressed, tag, generation, writeReplies));
 * // WriteReply.Written(tag, generation, slot) arrives; later:
 * store.tell(new BackingStore.Read(slot, compressed.length, pageIndex, CodecKind.LZ4, readReplies));
 * store.tell(new BackingStore.Free(slot, compressed.length));
 * }</pre>
 */
public final class BackingStore extends AbstractBehavior<BackingStore.Command> {

  /** Capacity meaning "no backing-size": the file may grow as long as the disk allows. */
  public static final long UNLIMITED = Long.MAX_VALUE;

  /** The checksum after a page's bytes in its slot. */
  static final int CHECKSUM_BYTES = 4;

  public sealed interface Command {}

  /** Store {@code bytes} in a new slot; answered by exactly one {@link WriteReply}. */
  public record Write(byte[] bytes, int tag, long generation, ActorRef<WriteReply> replyTo)
      implements Command {}

  /**
   * Read {@code length} bytes of the slot at {@code slotOffset}; answered by one {@link ReadReply}
   * that echoes {@code pageIndex} and {@code codec} (the codec that wrote the bytes: the store
   * never looks at them).
   */
  public record Read(long slotOffset, int length, long pageIndex, CodecKind codec, ActorRef<ReadReply> replyTo)
      implements Command {}

  /** Give the slot back; {@code length} is the byte count it was written with. Deferred behind reads. */
  public record Free(long slotOffset, int length) implements Command {}

  public record GetStats(ActorRef<BackingStats> replyTo) implements Command {}

  /**
   * Refuse new reads and writes, wait for the I/O in flight, close the file, reply with the final
   * figures and stop. Frees are still applied while waiting.
   */
  public record Close(ActorRef<BackingStats> replyTo) implements Command {}

  private record WriteCompleted(Write write, long slotOffset, Throwable failure) implements Command {}

  private record ReadCompleted(Read read, byte[] bytes, Throwable failure) implements Command {}

  /**
   * @param export        the export's name, for messages and logs
   * @param io            the file; closed by this actor when it closes or stops
   * @param capacityBytes the export's backing-size, or {@link #UNLIMITED}
   */
  public static Behavior<Command> create(String export, BackingIo io, long capacityBytes) {
    return Behaviors.setup(ctx -> new BackingStore(ctx, export, io, capacityBytes));
  }

  private final String export;
  private final BackingIo io;
  private final long capacityBytes;
  private final BackingSlots slots;
  private final HashMap<Long, Integer> readsInFlight = new HashMap<>(); // slot offset -> reads
  private final HashMap<Long, Integer> deferredFrees = new HashMap<>(); // slot offset -> length
  private final List<ActorRef<BackingStats>> closeWaiters = new ArrayList<>();
  private int ioInFlight;
  private boolean closing;
  private boolean ioClosed;

  private long writes;
  private long reads;
  private long writeErrors;
  private long readErrors;
  private long corruptReads;
  private long fullCount;

  private BackingStore(ActorContext<Command> ctx, String export, BackingIo io, long capacityBytes) {
    super(ctx);
    this.export = export;
    this.io = io;
    this.capacityBytes = capacityBytes;
    this.slots = new BackingSlots(capacityBytes);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Write.class, this::onWrite)
        .onMessage(WriteCompleted.class, this::onWriteCompleted)
        .onMessage(Read.class, this::onRead)
        .onMessage(ReadCompleted.class, this::onReadCompleted)
        .onMessage(Free.class, this::onFree)
        .onMessage(GetStats.class, m -> {
          m.replyTo().tell(stats());
          return this;
        })
        .onMessage(Close.class, this::onClose)
        .onSignal(PostStop.class, s -> {
          closeIo(); // stopped by the parent without Close: still release the file
          return this;
        })
        .build();
  }

  private Behavior<Command> onWrite(Write w) {
    if (closing) {
      w.replyTo().tell(new WriteReply.WriteRefused(w.tag(), w.generation(),
          "backing file of export " + export + " is closing"));
      return this;
    }
    if (w.bytes().length == 0) {
      w.replyTo().tell(new WriteReply.WriteFailed(w.tag(), w.generation(),
          "empty write to the backing file of export " + export + "; a slot holds at least 1 byte"));
      return this;
    }
    long offset = slots.allocate(slotBytes(w.bytes().length));
    if (offset < 0) {
      fullCount++;
      w.replyTo().tell(new WriteReply.WriteRefused(w.tag(), w.generation(),
          "backing file of export " + export + " is full: " + slots.end() + " of "
              + capacityBytes + " bytes (backing-size) used, no free slot of " + w.bytes().length + " bytes"));
      return this;
    }
    byte[] slot = Arrays.copyOf(w.bytes(), slotBytes(w.bytes().length));
    ByteBuffer.wrap(slot).putInt(w.bytes().length, checksum(offset, w.bytes(), w.bytes().length));
    ioInFlight++;
    getContext().pipeToSelf(issue(() -> io.write(offset, slot)),
        (done, failure) -> new WriteCompleted(w, offset, failure));
    return this;
  }

  private Behavior<Command> onWriteCompleted(WriteCompleted c) {
    ioInFlight--;
    Write w = c.write();
    if (c.failure() == null) {
      writes++;
      w.replyTo().tell(new WriteReply.Written(w.tag(), w.generation(), c.slotOffset()));
    } else {
      // nobody has been told the slot, so it can go back at once
      slots.free(c.slotOffset(), slotBytes(w.bytes().length));
      writeErrors++;
      String message = describe(c.failure());
      if (Long.bitCount(writeErrors) == 1) { // the 1st, 2nd, 4th, 8th...: a failing disk cannot flood the log
        getContext().getLog().warn("export {}: backing write failed ({} so far): {}", export, writeErrors, message);
      }
      w.replyTo().tell(new WriteReply.WriteFailed(w.tag(), w.generation(), message));
    }
    return closedIfDrained();
  }

  private Behavior<Command> onRead(Read r) {
    if (closing) {
      r.replyTo().tell(new ReadReply.ReadFailed(r.pageIndex(),
          "backing file of export " + export + " is closing"));
      return this;
    }
    if (deferredFrees.containsKey(r.slotOffset())) {
      // the owner already freed this slot: a use after free, refused rather than served
      r.replyTo().tell(new ReadReply.ReadFailed(r.pageIndex(), "slot " + r.slotOffset()
          + " of the backing file of export " + export + " was freed before this read"));
      return this;
    }
    readsInFlight.merge(r.slotOffset(), 1, Integer::sum);
    ioInFlight++;
    getContext().pipeToSelf(issue(() -> io.read(r.slotOffset(), slotBytes(r.length()))),
        (bytes, failure) -> new ReadCompleted(r, bytes, failure));
    return this;
  }

  private Behavior<Command> onReadCompleted(ReadCompleted c) {
    ioInFlight--;
    Read r = c.read();
    long slot = r.slotOffset();
    if (readsInFlight.merge(slot, -1, Integer::sum) == 0) {
      readsInFlight.remove(slot);
      Integer length = deferredFrees.remove(slot);
      if (length != null) {
        slots.free(slot, slotBytes(length));
      }
    }
    if (c.failure() == null) {
      reads++;
      int stored = ByteBuffer.wrap(c.bytes()).getInt(r.length());
      int computed = checksum(slot, c.bytes(), r.length());
      if (stored == computed) {
        r.replyTo().tell(new ReadReply.ReadDone(r.pageIndex(), r.codec(), Arrays.copyOf(c.bytes(), r.length())));
      } else {
        corruptReads++;
        String message = String.format(Locale.ROOT, "backing file of export %s: checksum mismatch in the slot at"
            + " offset %d (%d bytes): stored crc32c %08x, computed %08x", export, slot, r.length(), stored, computed);
        if (Long.bitCount(corruptReads) == 1) { // the 1st, 2nd, 4th, 8th...
          getContext().getLog().warn("export {}: corrupt page read back ({} so far): {}", export, corruptReads, message);
        }
        r.replyTo().tell(new ReadReply.ReadFailed(r.pageIndex(), message));
      }
    } else {
      readErrors++;
      String message = describe(c.failure());
      if (Long.bitCount(readErrors) == 1) { // the 1st, 2nd, 4th, 8th...
        getContext().getLog().warn("export {}: backing read failed ({} so far): {}", export, readErrors, message);
      }
      r.replyTo().tell(new ReadReply.ReadFailed(r.pageIndex(), message));
    }
    return closedIfDrained();
  }

  private Behavior<Command> onFree(Free f) {
    long slot = f.slotOffset();
    if (deferredFrees.containsKey(slot)) {
      throw new IllegalStateException("export " + export + ": slot " + slot + " freed twice");
    }
    if (readsInFlight.containsKey(slot)) {
      deferredFrees.put(slot, f.length());
    } else {
      slots.free(slot, slotBytes(f.length()));
    }
    return this;
  }

  private Behavior<Command> onClose(Close c) {
    closing = true;
    closeWaiters.add(c.replyTo());
    return closedIfDrained();
  }

  /** Once closing and the last I/O has completed: close the file, report, stop. */
  private Behavior<Command> closedIfDrained() {
    if (!closing || ioInFlight > 0) {
      return this;
    }
    closeIo();
    BackingStats last = stats();
    closeWaiters.forEach(r -> r.tell(last));
    return Behaviors.stopped();
  }

  private void closeIo() {
    if (ioClosed) {
      return;
    }
    ioClosed = true;
    try {
      io.close();
    } catch (RuntimeException e) {
      getContext().getLog().warn("export {}: closing the backing file failed: {}", export, describe(e));
    }
  }

  private BackingStats stats() {
    return new BackingStats(slots.slotsInUse(), slots.bytesInUse(), slots.end(), writes, reads,
        writeErrors, readErrors, corruptReads, fullCount, capacityBytes);
  }

  /** A slot's size for a page of {@code length} bytes: the bytes and their checksum. */
  private static int slotBytes(int length) {
    return length + CHECKSUM_BYTES;
  }

  /** CRC32C of the slot's offset (8 bytes, big-endian) and the first {@code length} bytes. */
  static int checksum(long slotOffset, byte[] bytes, int length) {
    CRC32C crc = new CRC32C();
    crc.update(ByteBuffer.allocate(Long.BYTES).putLong(0, slotOffset));
    crc.update(bytes, 0, length);
    return (int) crc.getValue();
  }

  /** The I/O's stage; an implementation that throws instead of failing the stage fails it here. */
  private static <T> CompletionStage<T> issue(Supplier<CompletionStage<T>> operation) {
    try {
      return operation.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The message of the underlying failure, without the wrappers futures add. */
  static String describe(Throwable t) {
    Throwable cause = t;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getName();
  }
}
