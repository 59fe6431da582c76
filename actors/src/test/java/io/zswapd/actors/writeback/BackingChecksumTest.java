package io.zswapd.actors.writeback;

import io.zswapd.actors.codec.CodecKind;
import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CRC32C at the end of every backing slot: a page read back is returned only when its bytes
 * and its offset match the sum written with them; any damage, in the page's bytes or in the sum,
 * or another slot's bytes at this offset, is a failed read naming the slot, and counted.
 */
class BackingChecksumTest {
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  /** A file in memory; {@link #flip} damages one byte on disk, as bit rot would. */
  private static final class FlippingIo implements BackingIo {
    final byte[] data = new byte[1 << 16];
    final ConcurrentHashMap<Long, Integer> writtenLength = new ConcurrentHashMap<>();

    @Override
    public CompletionStage<Void> write(long position, byte[] bytes) {
      System.arraycopy(bytes, 0, data, (int) position, bytes.length);
      writtenLength.put(position, bytes.length);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<byte[]> read(long position, int length) {
      return CompletableFuture.completedFuture(Arrays.copyOfRange(data, (int) position, (int) position + length));
    }

    void flip(long position) {
      data[(int) position] ^= 0x01;
    }

    @Override
    public void close() {}
  }

  private final TestProbe<WriteReply> writes = kit.createTestProbe();
  private final TestProbe<ReadReply> reads = kit.createTestProbe();
  private final TestProbe<BackingStats> stats = kit.createTestProbe();

  private static byte[] page(int length, int seed) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = (byte) (seed * 31 + i * 7);
    }
    return b;
  }

  private long write(ActorRef<BackingStore.Command> store, byte[] bytes) {
    store.tell(new BackingStore.Write(bytes, 1, 1, writes.getRef()));
    return writes.expectMessageClass(WriteReply.Written.class).slotOffset();
  }

  private ReadReply read(ActorRef<BackingStore.Command> store, long slot, int length) {
    store.tell(new BackingStore.Read(slot, length, 7, CodecKind.LZ4, reads.getRef()));
    return reads.receiveMessage();
  }

  private BackingStats stats(ActorRef<BackingStore.Command> store) {
    store.tell(new BackingStore.GetStats(stats.getRef()));
    return stats.receiveMessage();
  }

  @Test
  void slotHoldsThePageThenItsChecksumAndAReadReturnsOnlyThePage() {
    FlippingIo io = new FlippingIo();
    ActorRef<BackingStore.Command> store = kit.spawn(BackingStore.create("swap0", io, BackingStore.UNLIMITED));
    byte[] bytes = page(300, 1);
    long slot = write(store, bytes);
    assertThat(io.writtenLength.get(slot)).isEqualTo(300 + BackingStore.CHECKSUM_BYTES);
    int stored = java.nio.ByteBuffer.wrap(io.data).getInt((int) slot + 300);
    assertThat(stored).isEqualTo(BackingStore.checksum(slot, bytes, 300));
    assertThat(((ReadReply.ReadDone) read(store, slot, 300)).bytes()).isEqualTo(bytes);
    assertThat(stats(store).corruptReads()).isZero();
  }

  @Test
  void rawPageTakesItsBytesAndTheChecksumRoundedTo64() {
    ActorRef<BackingStore.Command> store =
        kit.spawn(BackingStore.create("swap0", new FlippingIo(), BackingStore.UNLIMITED));
    write(store, page(4096, 2));
    assertThat(write(store, page(100, 3))).isEqualTo(4160);
    assertThat(stats(store).bytesInUse()).isEqualTo(4160 + 128);
  }

  @Test
  void aFlippedBitAnywhereInTheSlotIsAFailedReadNamingTheSlot() {
    FlippingIo io = new FlippingIo();
    ActorRef<BackingStore.Command> store = kit.spawn(BackingStore.create("swap0", io, BackingStore.UNLIMITED));
    write(store, page(1000, 4)); // slot 0, so the next one has a non-zero offset
    byte[] bytes = page(1000, 5);
    long slot = write(store, bytes);
    int[] damaged = {0, 1, 499, 999, 1000, 1003}; // first, middle and last page byte; first and last checksum byte
    for (int i = 0; i < damaged.length; i++) {
      io.flip(slot + damaged[i]);
      ReadReply r = read(store, slot, 1000);
      assertThat(r).as("byte %d of the slot damaged", damaged[i]).isInstanceOf(ReadReply.ReadFailed.class);
      assertThat(((ReadReply.ReadFailed) r).message()).startsWith("backing file of export swap0: checksum mismatch"
          + " in the slot at offset " + slot + " (1000 bytes): stored crc32c ");
      assertThat(r.pageIndex()).isEqualTo(7);
      assertThat(stats(store).corruptReads()).isEqualTo(i + 1);
      io.flip(slot + damaged[i]); // repaired: reads fine again
      assertThat(((ReadReply.ReadDone) read(store, slot, 1000)).bytes()).isEqualTo(bytes);
    }
    BackingStats s = stats(store);
    assertThat(s.slotsInUse()).as("a corrupt slot stays allocated until its owner frees it").isEqualTo(2);
    store.tell(new BackingStore.Free(slot, 1000));
    assertThat(stats(store).slotsInUse()).isEqualTo(1);
  }

  @Test
  void anotherSlotsIntactBytesAtThisOffsetDoNotPass() {
    FlippingIo io = new FlippingIo();
    ActorRef<BackingStore.Command> store = kit.spawn(BackingStore.create("swap0", io, BackingStore.UNLIMITED));
    long a = write(store, page(600, 6));
    long b = write(store, page(600, 7));
    // a misdirected write: slot a's bytes and their (valid for a) checksum land at b
    System.arraycopy(io.data, (int) a, io.data, (int) b, 600 + BackingStore.CHECKSUM_BYTES);
    assertThat(read(store, b, 600)).isInstanceOf(ReadReply.ReadFailed.class);
    assertThat(((ReadReply.ReadDone) read(store, a, 600)).bytes()).isEqualTo(page(600, 6));
    assertThat(stats(store).corruptReads()).isEqualTo(1);
  }
}
