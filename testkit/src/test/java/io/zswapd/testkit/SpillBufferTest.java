package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import akka.actor.typed.ActorSystem;
import akka.serialization.SerializerWithStringManifest;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.embedded.SpillBuffer;
import io.zswapd.actors.embedded.Zswapd;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The spill buffer with a fast producer and a consumer held back by a gate (the first element
 * waits until the test opens it): elements past the heap's share go to compressed memory, come
 * back in order, and what was spilled is freed; past the byte limit the stage backpressures or
 * fails, as asked.
 */
class SpillBufferTest {
  private static EngineFixture engine;
  private static Zswapd z;
  private static ActorSystem<?> system;

  /** A stream element with a payload that compresses like text. */
  public record Event(long seq, String payload) {}

  public static final class EventSerializer extends SerializerWithStringManifest {
    @Override
    public int identifier() {
      return 917_002;
    }

    @Override
    public String manifest(Object o) {
      return "E";
    }

    @Override
    public byte[] toBinary(Object o) {
      Event e = (Event) o;
      byte[] text = e.payload().getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(8 + text.length).putLong(e.seq()).put(text).array();
    }

    @Override
    public Object fromBinary(byte[] bytes, String manifest) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      long seq = b.getLong();
      return new Event(seq, new String(bytes, 8, bytes.length - 8, StandardCharsets.UTF_8));
    }
  }

  @BeforeAll
  static void start() {
    engine = EngineFixture.start("zswapd.pool.max-size = 256 MiB\n"
        + "akka.actor.serializers.event = \"" + EventSerializer.class.getName() + "\"\n"
        + "akka.actor.serialization-bindings { \"" + Event.class.getName() + "\" = event }\n");
    z = engine.zswapd();
    system = engine.testKit().system();
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  private static Event event(long seq) {
    return new Event(seq, "event " + seq + " of a stream that compresses well, " + (seq % 97));
  }

  /** Elements 0..n-1, counting how many the buffer has pulled. */
  private static Source<Event, ?> producer(long n, AtomicLong produced) {
    return Source.range(0, (int) n - 1).map(i -> {
      produced.incrementAndGet();
      return event(i);
    });
  }

  /** Holds the first element until {@code gate} completes: the consumer is slower than any producer. */
  private static <T> akka.stream.javadsl.Flow<T, T, ?> heldBy(CompletionStage<?> gate) {
    return akka.stream.javadsl.Flow.<T>create().mapAsync(1, e -> gate.thenApply(x -> e));
  }

  @Test
  void aSlowConsumerGetsEveryElementInOrderAndTheSpilledMemoryIsFreed() {
    OverflowStore store = await(z.overflowStore("spill-order"));
    int n = 150_000;
    AtomicLong produced = new AtomicLong();
    CompletableFuture<Void> gate = new CompletableFuture<>();
    CompletionStage<List<Event>> all = producer(n, produced)
        .via(store.spillBuffer(Event.class, 1000, 256L << 20, SpillBuffer.WhenFull.BACKPRESSURE))
        .via(heldBy(gate))
        .runWith(Sink.seq(), system);

    await().atMost(Duration.ofSeconds(60)).until(() -> produced.get() == n);
    OverflowStore.Figures spilled = await(store.figures());
    assertThat(spilled.entries()).as("batches spilled while the consumer was held").isPositive();
    assertThat(spilled.valueBytes()).as("most of the stream is in the store").isGreaterThan(n * 40L);
    assertThat(spilled.storedBytes()).as("compressed").isLessThan(spilled.valueBytes() / 2);

    gate.complete(null);
    List<Event> got = await(all);
    assertThat(got).hasSize(n);
    for (int i = 0; i < n; i++) {
      if (!got.get(i).equals(event(i))) {
        throw new AssertionError("element " + i + " is " + got.get(i) + ", expected " + event(i));
      }
    }
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(await(store.figures()).entries())
        .as("every batch read back was removed").isZero());
  }

  @Test
  void pastTheByteLimitItBackpressuresAndLosesNothing() {
    OverflowStore store = await(z.overflowStore("spill-backpressure"));
    int n = 50_000;
    long limit = 256 << 10;
    AtomicLong produced = new AtomicLong();
    CompletableFuture<Void> gate = new CompletableFuture<>();
    CompletionStage<List<Event>> all = producer(n, produced)
        .via(store.spillBuffer(Event.class, 100, limit, SpillBuffer.WhenFull.BACKPRESSURE))
        .via(heldBy(gate))
        .runWith(Sink.seq(), system);

    // about 100 on the heap and 256 KiB of ~60-byte elements spilled: some 4,500, far from n
    // the producer stops: the same count at two polls 300 ms apart, with the spill near its limit
    AtomicLong last = new AtomicLong(-1);
    await().pollInterval(Duration.ofMillis(300)).atMost(Duration.ofSeconds(30)).until(() -> {
      long now = produced.get();
      return now == last.getAndSet(now) && await(store.figures()).valueBytes() >= limit - SpillBuffer.BATCH_BYTES;
    });
    long atLimit = produced.get();
    assertThat(atLimit).as("the producer was held back").isLessThan(n / 4);
    assertThat(await(store.figures()).valueBytes()).isLessThanOrEqualTo(limit + SpillBuffer.BATCH_BYTES);

    gate.complete(null);
    List<Event> got = await(all);
    assertThat(got).hasSize(n);
    for (int i = 0; i < n; i++) { // elements pushed after the release come after those spilled before it
      if (!got.get(i).equals(event(i))) {
        throw new AssertionError("element " + i + " is " + got.get(i) + ", expected " + event(i));
      }
    }
  }

  @Test
  void pastTheByteLimitItFailsWhenToldToNamingTheLimit() {
    OverflowStore store = await(z.overflowStore("spill-fail"));
    CompletableFuture<Void> gate = new CompletableFuture<>();
    CompletionStage<List<Event>> all = producer(50_000, new AtomicLong())
        .via(store.spillBuffer(Event.class, 100, 128 << 10, SpillBuffer.WhenFull.FAIL))
        .via(heldBy(gate))
        .runWith(Sink.seq(), system);
    assertThatThrownBy(() -> await(all)).isInstanceOf(SpillBuffer.BufferOverflowException.class)
        .hasMessageContaining("passed its limit of 131072 spilled bytes")
        .hasMessageContaining("spill-fail");
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(await(store.figures()).entries())
        .as("a failed stage removes what it spilled").isZero());
  }

  @Test
  void aConsumerThatKeepsUpSpillsNothing() {
    OverflowStore store = await(z.overflowStore("spill-none"));
    List<Event> got = await(producer(20_000, new AtomicLong())
        .via(store.spillBuffer(Event.class, 20_000, 1 << 20, SpillBuffer.WhenFull.FAIL))
        .runWith(Sink.seq(), system));
    assertThat(got).hasSize(20_000);
    assertThat(await(store.figures()).refused() + await(store.figures()).entries()).isZero();
  }
}
