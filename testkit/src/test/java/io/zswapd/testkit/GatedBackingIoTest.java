package io.zswapd.testkit;

import io.zswapd.actors.codec.CodecKind;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.DispatcherSelector;
import io.zswapd.actors.writeback.BackingStats;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.FileBackingIo;
import io.zswapd.actors.writeback.ReadReply;
import io.zswapd.actors.writeback.WriteReply;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The race-test double itself: holds, releases, failures and counts do what they say. */
class GatedBackingIoTest {
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static byte[] filled(int length, int value) {
    byte[] bytes = new byte[length];
    Arrays.fill(bytes, (byte) value);
    return bytes;
  }

  private static <T> T join(CompletionStage<T> stage) {
    return stage.toCompletableFuture().orTimeout(5, TimeUnit.SECONDS).join();
  }

  @Test
  void heldWriteReachesTheFileOnlyWhenReleased() {
    GatedBackingIo io = GatedBackingIo.inMemory().holdWrites(true);
    CompletableFuture<Void> written = io.write(0, filled(100, 1)).toCompletableFuture();
    assertThat(written).isNotDone();
    assertThat(io.heldWrites()).isEqualTo(1);
    assertThatThrownBy(() -> join(io.read(0, 100))).hasRootCauseInstanceOf(IOException.class);

    io.releaseWrite(0);
    assertThat(written).isCompleted();
    assertThat(io.heldWrites()).isZero();
    assertThat(join(io.read(0, 100))).isEqualTo(filled(100, 1));
    assertThat(io.writeCalls()).isEqualTo(1);
    assertThat(io.readCalls()).isEqualTo(2);
  }

  @Test
  void heldCallsAreReleasedByIndexInAnyOrderOrAllAtOnce() {
    GatedBackingIo io = GatedBackingIo.inMemory().holdWrites(true);
    CompletableFuture<?>[] done = new CompletableFuture<?>[3];
    for (int i = 0; i < 3; i++) {
      done[i] = io.write(i * 64L, filled(64, i + 1)).toCompletableFuture();
    }
    io.releaseWrite(2);
    assertThat(done[2]).isCompleted();
    assertThat(done[0]).isNotDone();
    assertThat(done[1]).isNotDone();
    assertThatThrownBy(() -> io.releaseWrite(2))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("write #2 is not held");
    assertThat(io.releaseAllWrites()).isEqualTo(2);
    assertThat(done[0]).isCompleted();
    assertThat(done[1]).isCompleted();
    assertThat(join(io.read(64, 64))).isEqualTo(filled(64, 2));
  }

  @Test
  void heldReadSeesTheBytesThereAtReleaseTime() {
    GatedBackingIo io = GatedBackingIo.inMemory();
    join(io.write(0, filled(64, 1)));
    io.holdReads(true);
    CompletableFuture<byte[]> read = io.read(0, 64).toCompletableFuture();
    join(io.write(0, filled(64, 2)));
    io.releaseRead(0);
    assertThat(join(read)).isEqualTo(filled(64, 2));
  }

  @Test
  void nextWritesAndReadsFailAsAsked() {
    GatedBackingIo io = GatedBackingIo.inMemory().failNextWrites(2).failNextReads(1);
    assertThatThrownBy(() -> join(io.write(0, new byte[10])))
        .hasRootCauseMessage("injected write failure #0 of 10 bytes at 0");
    assertThatThrownBy(() -> join(io.write(64, new byte[20])))
        .hasRootCauseMessage("injected write failure #1 of 20 bytes at 64");
    join(io.write(128, filled(30, 3)));
    assertThatThrownBy(() -> join(io.read(128, 30)))
        .hasRootCauseMessage("injected read failure #0 of 30 bytes at 128");
    assertThat(join(io.read(128, 30))).isEqualTo(filled(30, 3));
    assertThat(io.writeCalls()).isEqualTo(3);
    assertThat(io.readCalls()).isEqualTo(2);
  }

  @Test
  void heldCallCanBeFailedInsteadOfReleased() {
    GatedBackingIo io = GatedBackingIo.inMemory().holdWrites(true);
    CompletableFuture<Void> written = io.write(4096, new byte[64]).toCompletableFuture();
    io.failWrite(0);
    assertThatThrownBy(() -> join(written)).hasRootCauseMessage("injected write failure #0 of 64 bytes at 4096");
    assertThatThrownBy(() -> join(io.read(4096, 64))).hasRootCauseInstanceOf(IOException.class);
  }

  @Test
  void arrivalOfACallCanBeAwaitedBeforeItIsMade() {
    GatedBackingIo io = GatedBackingIo.inMemory().holdReads(true);
    CompletableFuture<GatedBackingIo.Call> second = io.readCall(1);
    io.read(0, 10);
    assertThat(second).isNotDone();
    io.read(640, 20);
    assertThat(join(second)).isEqualTo(new GatedBackingIo.Call(1, 640, 20));
    assertThat(io.heldReads()).isEqualTo(2);
  }

  /** The deferred-free rule of BackingStore, replayed over a real file through this double. */
  @Test
  void backingStoreDefersAFreeBehindAHeldReadOverARealFile(@TempDir Path dir) throws Exception {
    var blocking = kit.system().dispatchers().lookup(DispatcherSelector.blocking());
    Path file = dir.resolve("swap0.wb");
    GatedBackingIo io = GatedBackingIo.over(FileBackingIo.open(file, "swap0", blocking));
    ActorRef<BackingStore.Command> store = kit.spawn(BackingStore.create("swap0", io, BackingStore.UNLIMITED));
    TestProbe<WriteReply> writes = kit.createTestProbe();
    TestProbe<ReadReply> reads = kit.createTestProbe();
    TestProbe<BackingStats> stats = kit.createTestProbe();

    store.tell(new BackingStore.Write(filled(2000, 7), 0, 1, writes.getRef()));
    long slot = writes.expectMessageClass(WriteReply.Written.class).slotOffset();
    io.holdReads(true);
    store.tell(new BackingStore.Read(slot, 2000, 42, CodecKind.LZ4, reads.getRef()));
    join(io.readCall(0));
    store.tell(new BackingStore.Free(slot, 2000));
    store.tell(new BackingStore.Write(filled(2000, 9), 1, 2, writes.getRef()));
    assertThat(writes.expectMessageClass(WriteReply.Written.class).slotOffset()).isNotEqualTo(slot);

    io.releaseRead(0);
    assertThat(reads.expectMessageClass(ReadReply.ReadDone.class).bytes()).isEqualTo(filled(2000, 7));
    store.tell(new BackingStore.Write(filled(2000, 11), 2, 3, writes.getRef()));
    assertThat(writes.expectMessageClass(WriteReply.Written.class).slotOffset()).isEqualTo(slot);

    store.tell(new BackingStore.Close(stats.getRef()));
    BackingStats last = stats.receiveMessage();
    assertThat(last.slotsInUse()).isEqualTo(2);
    assertThat(last.writes()).isEqualTo(3);
    assertThat(last.reads()).isEqualTo(1);
    assertThat(io.isClosed()).isTrue();
    assertThat(file).doesNotExist();
  }
}
