package io.zswapd.actors.writeback;

import io.zswapd.actors.codec.CodecKind;
import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.DispatcherSelector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One export's backing store: packing, reuse, capacity, I/O failures, deferred frees, close. */
class BackingStoreTest {
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  /**
   * A 1 MiB file in memory whose operations complete at once, or are held until the test releases
   * them, or fail. A held operation touches the bytes only when released, as a slow disk would.
   */
  private static final class MemoryIo implements BackingIo {
    final byte[] data = new byte[1 << 20];
    final ConcurrentLinkedQueue<Runnable> heldReads = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<Runnable> heldWrites = new ConcurrentLinkedQueue<>();
    volatile boolean holdReads;
    volatile boolean holdWrites;
    volatile boolean failReads;
    volatile boolean failWrites;
    volatile boolean closed;

    @Override
    public CompletionStage<Void> write(long position, byte[] bytes) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      Runnable op = () -> {
        if (failWrites) {
          done.completeExceptionally(new IOException("disk on fire at " + position));
        } else {
          System.arraycopy(bytes, 0, data, (int) position, bytes.length);
          done.complete(null);
        }
      };
      run(op, holdWrites, heldWrites);
      return done;
    }

    @Override
    public CompletionStage<byte[]> read(long position, int length) {
      CompletableFuture<byte[]> done = new CompletableFuture<>();
      Runnable op = () -> {
        if (failReads) {
          done.completeExceptionally(new IOException("bad sector at " + position));
        } else {
          done.complete(Arrays.copyOfRange(data, (int) position, (int) position + length));
        }
      };
      run(op, holdReads, heldReads);
      return done;
    }

    private static void run(Runnable op, boolean hold, ConcurrentLinkedQueue<Runnable> held) {
      if (hold) {
        held.add(op);
      } else {
        op.run();
      }
    }

    static void release(ConcurrentLinkedQueue<Runnable> held) {
      for (Runnable op; (op = held.poll()) != null; ) {
        op.run();
      }
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  private final TestProbe<WriteReply> writes = kit.createTestProbe();
  private final TestProbe<ReadReply> reads = kit.createTestProbe();
  private final TestProbe<BackingStats> stats = kit.createTestProbe();

  private ActorRef<BackingStore.Command> store(BackingIo io, long capacity) {
    return kit.spawn(BackingStore.create("swap0", io, capacity));
  }

  private long write(ActorRef<BackingStore.Command> store, byte[] bytes) {
    store.tell(new BackingStore.Write(bytes, 1, 1, writes.getRef()));
    return writes.expectMessageClass(WriteReply.Written.class).slotOffset();
  }

  private BackingStats stats(ActorRef<BackingStore.Command> store) {
    store.tell(new BackingStore.GetStats(stats.getRef()));
    return stats.receiveMessage();
  }

  private static byte[] page(SplittableRandom rnd, int length) {
    byte[] bytes = new byte[length];
    rnd.nextBytes(bytes);
    return bytes;
  }

  @Test
  void manyPagesRoundTripThroughARealFileAndTheFileIsDeletedOnClose(@TempDir Path dir) throws Exception {
    long seed = 2013;
    SplittableRandom rnd = new SplittableRandom(seed);
    Path file = dir.resolve("swap0.wb");
    Executor blocking = kit.system().dispatchers().lookup(DispatcherSelector.blocking());
    ActorRef<BackingStore.Command> store = store(FileBackingIo.open(file, "swap0", blocking), BackingStore.UNLIMITED);

    Map<Long, byte[]> onDisk = new HashMap<>(); // slot -> bytes
    for (int round = 0; round < 3; round++) {
      int n = 300;
      List<byte[]> sent = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        byte[] bytes = page(rnd, 1 + rnd.nextInt(4096));
        sent.add(bytes);
        store.tell(new BackingStore.Write(bytes, i, round, writes.getRef()));
      }
      for (int i = 0; i < n; i++) { // completions come back in any order on a thread pool
        WriteReply.Written w = writes.expectMessageClass(WriteReply.Written.class);
        assertThat(w.generation()).isEqualTo(round);
        assertThat(onDisk.put(w.slotOffset(), sent.get(w.tag()))).as("seed %d: slot reused while live", seed).isNull();
      }
      assertNoOverlap(onDisk);
      for (Map.Entry<Long, byte[]> e : onDisk.entrySet()) {
        store.tell(new BackingStore.Read(e.getKey(), e.getValue().length, e.getKey(), CodecKind.LZ4, reads.getRef()));
      }
      for (int i = 0; i < onDisk.size(); i++) {
        ReadReply.ReadDone r = reads.expectMessageClass(ReadReply.ReadDone.class);
        assertThat(r.bytes()).as("seed %d, slot %d", seed, r.pageIndex()).isEqualTo(onDisk.get(r.pageIndex()));
      }
      // free about half, so the next round reuses the holes
      List<Long> slots = new ArrayList<>(onDisk.keySet());
      for (Long slot : slots) {
        if (rnd.nextBoolean()) {
          store.tell(new BackingStore.Free(slot, onDisk.remove(slot).length));
        }
      }
    }
    // the file reaches into the last live slot (whose tail, up to the 64-byte unit, is never written)
    assertThat(Files.size(file)).isGreaterThan(stats(store).fileEnd() - BackingSlots.UNIT);
    onDisk.forEach((slot, bytes) -> store.tell(new BackingStore.Free(slot, bytes.length)));
    BackingStats last = stats(store);
    assertThat(last.slotsInUse()).isZero();
    assertThat(last.fileEnd()).isZero();
    assertThat(last.writes()).isEqualTo(900);

    store.tell(new BackingStore.Close(stats.getRef()));
    assertThat(stats.receiveMessage()).isEqualTo(last);
    stats.expectTerminated(store);
    assertThat(file).doesNotExist();
  }

  private static void assertNoOverlap(Map<Long, byte[]> onDisk) {
    TreeMap<Long, Integer> sorted = new TreeMap<>();
    onDisk.forEach((slot, bytes) -> sorted.put(slot, bytes.length));
    long previousEnd = 0;
    for (Map.Entry<Long, Integer> e : sorted.entrySet()) {
      assertThat(e.getKey()).isGreaterThanOrEqualTo(previousEnd);
      previousEnd = e.getKey() + e.getValue();
    }
  }

  @Test
  void pagesOf2000BytesArePackedAt2048BytesEach() {
    ActorRef<BackingStore.Command> store = store(new MemoryIo(), BackingStore.UNLIMITED);
    int n = 100;
    for (int i = 0; i < n; i++) {
      assertThat(write(store, new byte[2000])).isEqualTo(i * 2048L);
    }
    BackingStats s = stats(store);
    assertThat(s.slotsInUse()).isEqualTo(n);
    assertThat(s.bytesInUse()).isEqualTo(n * 2048L);
    assertThat(s.fileEnd()).isEqualTo(n * 2048L);
  }

  @Test
  void freedSlotsAreReusedSoTheFileDoesNotGrow() {
    ActorRef<BackingStore.Command> store = store(new MemoryIo(), BackingStore.UNLIMITED);
    List<Long> slots = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      slots.add(write(store, new byte[3000]));
    }
    long end = stats(store).fileEnd();
    for (int i = 0; i < 40; i += 2) {
      store.tell(new BackingStore.Free(slots.get(i), 3000));
    }
    for (int i = 0; i < 20; i++) {
      assertThat(write(store, new byte[1 + i * 150])).isLessThan(end);
    }
    assertThat(stats(store).fileEnd()).isEqualTo(end);
  }

  @Test
  void fullStoreRefusesAndCountsUntilASlotIsFreed() {
    ActorRef<BackingStore.Command> store = store(new MemoryIo(), 8192);
    for (int i = 0; i < 4; i++) {
      write(store, new byte[2000]);
    }
    store.tell(new BackingStore.Write(new byte[2000], 7, 42, writes.getRef()));
    WriteReply.WriteRefused refused = writes.expectMessageClass(WriteReply.WriteRefused.class);
    assertThat(refused.tag()).isEqualTo(7);
    assertThat(refused.generation()).isEqualTo(42);
    assertThat(refused.reason()).contains("swap0", "full", "8192");
    assertThat(stats(store).fullCount()).isEqualTo(1);
    assertThat(stats(store).capacityBytes()).isEqualTo(8192);

    store.tell(new BackingStore.Free(2048, 2000));
    assertThat(write(store, new byte[2000])).isEqualTo(2048);
  }

  @Test
  void failedWriteFreesItsSlotAndIsCounted() {
    MemoryIo io = new MemoryIo();
    ActorRef<BackingStore.Command> store = store(io, BackingStore.UNLIMITED);
    io.failWrites = true;
    store.tell(new BackingStore.Write(new byte[2000], 3, 9, writes.getRef()));
    WriteReply.WriteFailed failed = writes.expectMessageClass(WriteReply.WriteFailed.class);
    assertThat(failed.tag()).isEqualTo(3);
    assertThat(failed.generation()).isEqualTo(9);
    assertThat(failed.message()).isEqualTo("disk on fire at 0");
    BackingStats s = stats(store);
    assertThat(s.writeErrors()).isEqualTo(1);
    assertThat(s.writes()).isZero();
    assertThat(s.slotsInUse()).isZero();
    assertThat(s.fileEnd()).isZero();

    io.failWrites = false;
    assertThat(write(store, new byte[2000])).isZero();
  }

  @Test
  void failedReadIsReportedAndCountedAndTheSlotStaysAllocated() {
    MemoryIo io = new MemoryIo();
    ActorRef<BackingStore.Command> store = store(io, BackingStore.UNLIMITED);
    long slot = write(store, new byte[500]);
    io.failReads = true;
    store.tell(new BackingStore.Read(slot, 500, 77, CodecKind.LZ4, reads.getRef()));
    ReadReply.ReadFailed failed = reads.expectMessageClass(ReadReply.ReadFailed.class);
    assertThat(failed.pageIndex()).isEqualTo(77);
    assertThat(failed.message()).isEqualTo("bad sector at 0");
    assertThat(stats(store).readErrors()).isEqualTo(1);
    assertThat(stats(store).slotsInUse()).isEqualTo(1);

    store.tell(new BackingStore.Free(slot, 500));
    assertThat(stats(store).slotsInUse()).isZero();
  }

  @Test
  void freeDuringAnInFlightReadWaitsSoAWriteCannotOverwriteWhatTheReadHasNotRead() {
    MemoryIo io = new MemoryIo();
    ActorRef<BackingStore.Command> store = store(io, BackingStore.UNLIMITED);
    byte[] first = page(new SplittableRandom(7), 2000);
    long slot = write(store, first);

    io.holdReads = true;
    store.tell(new BackingStore.Read(slot, 2000, 5, CodecKind.LZ4, reads.getRef()));
    store.tell(new BackingStore.Free(slot, 2000));
    long other = write(store, page(new SplittableRandom(8), 2000));
    assertThat(other).as("the freed slot must not be reused while a read of it is held").isNotEqualTo(slot);
    assertThat(stats(store).slotsInUse()).isEqualTo(2);
    // a read sent after the free names a dead slot; refused, not added to the wait
    store.tell(new BackingStore.Read(slot, 2000, 6, CodecKind.LZ4, reads.getRef()));
    assertThat(reads.expectMessageClass(ReadReply.ReadFailed.class).message()).contains("freed");

    MemoryIo.release(io.heldReads);
    ReadReply.ReadDone done = reads.expectMessageClass(ReadReply.ReadDone.class);
    assertThat(done.pageIndex()).isEqualTo(5);
    assertThat(done.bytes()).isEqualTo(first);
    assertThat(stats(store).slotsInUse()).isEqualTo(1);
    assertThat(write(store, new byte[2000])).as("freed once the read completed").isEqualTo(slot);
  }

  @Test
  void closeWaitsForInFlightIoThenClosesTheFileAndStops() {
    MemoryIo io = new MemoryIo();
    ActorRef<BackingStore.Command> store = store(io, BackingStore.UNLIMITED);
    long slot = write(store, new byte[100]);
    io.holdWrites = true;
    io.holdReads = true;
    store.tell(new BackingStore.Write(new byte[300], 1, 2, writes.getRef()));
    store.tell(new BackingStore.Read(slot, 100, 0, CodecKind.LZ4, reads.getRef()));
    store.tell(new BackingStore.Close(stats.getRef()));
    store.tell(new BackingStore.Write(new byte[300], 2, 3, writes.getRef()));
    assertThat(writes.expectMessageClass(WriteReply.WriteRefused.class).reason()).contains("closing");

    stats.expectNoMessage(Duration.ofMillis(200));
    assertThat(io.closed).isFalse();
    MemoryIo.release(io.heldWrites);
    assertThat(writes.expectMessageClass(WriteReply.Written.class).generation()).isEqualTo(2);
    stats.expectNoMessage(Duration.ofMillis(100));
    assertThat(io.closed).isFalse();
    MemoryIo.release(io.heldReads);
    reads.expectMessageClass(ReadReply.ReadDone.class);

    BackingStats last = stats.receiveMessage();
    assertThat(io.closed).isTrue();
    assertThat(last.writes()).isEqualTo(2);
    assertThat(last.reads()).isEqualTo(1);
    assertThat(last.slotsInUse()).isEqualTo(2);
    stats.expectTerminated(store);
  }
}
