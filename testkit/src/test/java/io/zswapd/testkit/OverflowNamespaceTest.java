package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.serialization.SerializerWithStringManifest;
import akka.stream.javadsl.Sink;
import akka.util.ByteString;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.actors.overflow.OverflowKey;
import io.zswapd.actors.overflow.OverflowLimits;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ExportStats;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The overflow store as an Akka developer uses it: long and string keys, listing, objects
 * through Akka Serialization, per-namespace limits with refuse, LRU eviction and expiry, the
 * evictions as a stream, and the namespace's actor protocol.
 */
class OverflowNamespaceTest {
  private static EngineFixture engine;
  private static Zswapd z;

  /** A message an application would park: serialized by the serializer bound below. */
  public record Session(String user, int hits) {}

  /** A plain string-manifest serializer, as an application binds for its messages. */
  public static final class SessionSerializer extends SerializerWithStringManifest {
    @Override
    public int identifier() {
      return 917_001;
    }

    @Override
    public String manifest(Object o) {
      return "S1";
    }

    @Override
    public byte[] toBinary(Object o) {
      Session s = (Session) o;
      return (s.user() + "\n" + s.hits()).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Object fromBinary(byte[] bytes, String manifest) {
      if (!manifest.equals("S1")) {
        throw new IllegalArgumentException("unknown manifest " + manifest);
      }
      String[] parts = new String(bytes, StandardCharsets.UTF_8).split("\n");
      return new Session(parts[0], Integer.parseInt(parts[1]));
    }
  }

  /** Not bound to any serializer (and Java serialization is off in Akka 2.6). */
  public record Unbound(String what) {}

  @BeforeAll
  static void start() {
    engine = EngineFixture.start("zswapd.pool.max-size = 256 MiB\n"
        + "akka.actor.serializers.session = \"" + SessionSerializer.class.getName() + "\"\n"
        + "akka.actor.serialization-bindings { \"" + Session.class.getName() + "\" = session }\n"
        + "zswapd.overflow.namespaces = [ { name = configured, max-entries = 2, when-full = evict-lru } ]\n");
    z = engine.zswapd();
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  /** Bytes that do not compress: each takes its full pages in the pool. */
  private static byte[] random(long seed, int length) {
    byte[] v = new byte[length];
    new SplittableRandom(seed).nextBytes(v);
    return v;
  }

  private static OverflowStore open(String namespace, OverflowLimits limits) {
    return await(z.overflowStore(namespace, limits));
  }

  private static long storedPages(String namespace) {
    return await(z.stats()).export("overflow:" + namespace).map(ExportStats::storedPages).orElse(0L);
  }

  @Test
  void longAndStringKeysAreDistinctAndListedInKeyOrder() {
    OverflowStore store = await(z.overflowStore("keys"));
    for (long k : new long[] {5, -3, 100}) {
      await(store.put(k, ("long " + k).getBytes()));
    }
    for (String k : new String[] {"b", "a", "7"}) {
      await(store.put(k, ("string " + k).getBytes()));
    }
    assertThat(await(store.get("7"))).hasValueSatisfying(v -> assertThat(new String(v)).isEqualTo("string 7"));
    assertThat(await(store.get(7))).isEmpty();
    assertThat(await(store.contains(-3))).isTrue();
    assertThat(await(store.contains("c"))).isFalse();
    List<OverflowKey> keys = await(store.keys().runWith(Sink.seq(), engine.testKit().system()));
    assertThat(keys).extracting(OverflowKey::toString)
        .containsExactly("-3", "5", "100", "\"7\"", "\"a\"", "\"b\"");
    assertThat(await(store.remove("a"))).isTrue();
    assertThat(await(store.size())).isEqualTo(5);
    assertThatThrownBy(() -> await(store.put("x".repeat(OverflowKey.MAX_STRING_LENGTH + 1), new byte[1])))
        .isInstanceOf(ZswapdException.class).hasMessageContaining("exceeds the limit of 1024");
  }

  @Test
  void aListingOfManyKeysComesInPagesInOrder() {
    OverflowStore store = await(z.overflowStore("many-keys"));
    int n = OverflowStore.KEYS_PAGE * 2 + 517;
    List<java.util.concurrent.CompletionStage<Void>> puts = new ArrayList<>();
    for (int i = n - 1; i >= 0; i--) {
      puts.add(store.put(String.format("user-%05d", i), new byte[] {(byte) i}));
    }
    puts.forEach(EngineFixture::await);
    List<OverflowKey> keys = await(store.keys().runWith(Sink.seq(), engine.testKit().system()));
    assertThat(keys).hasSize(n);
    for (int i = 0; i < n; i++) {
      assertThat(keys.get(i).stringValue()).isEqualTo(String.format("user-%05d", i));
    }
  }

  @Test
  void objectsRoundTripThroughAkkaSerializationAndBytesStayBytes() {
    OverflowStore store = await(z.overflowStore("objects"));
    await(store.putObject("s1", new Session("ada", 42)));
    assertThat(await(store.getObject("s1", Session.class))).contains(new Session("ada", 42));
    assertThatThrownBy(() -> await(store.get("s1"))).isInstanceOf(ZswapdException.class)
        .hasMessageContaining(Session.class.getName()).hasMessageContaining("use getObject");
    assertThatThrownBy(() -> await(store.getObject("s1", String.class))).isInstanceOf(ZswapdException.class)
        .hasMessageContaining("not a java.lang.String");

    await(store.put(OverflowKey.of(2), ByteString.fromString("as a ByteString")));
    assertThat(await(store.getByteString(OverflowKey.of(2))))
        .contains(ByteString.fromString("as a ByteString"));
    assertThat(await(store.getObject(2, ByteString.class))).contains(ByteString.fromString("as a ByteString"));
    assertThat(await(store.get(2))).hasValueSatisfying(v -> assertThat(new String(v)).isEqualTo("as a ByteString"));

    await(store.put("s1-old", new byte[] {1}));
    assertThatThrownBy(() -> await(store.putObject("s1-old", new Unbound("no binding"))))
        .isInstanceOf(ZswapdException.class)
        .hasMessageContaining("cannot serialize the " + Unbound.class.getName())
        .satisfies(e -> assertThat(((ZswapdException) e).error().code()).isEqualTo(ErrorCode.INVALID));
    assertThat(await(store.get("s1-old"))).as("a failed put leaves the old value")
        .hasValueSatisfying(v -> assertThat(v).containsExactly(1));
  }

  @Test
  void aFullNamespaceThatRefusesNamesItsLimitAndKeepsItsValues() {
    OverflowStore store = open("refusing", OverflowLimits.NONE.withMaxEntries(3));
    for (int k = 0; k < 3; k++) {
      await(store.put(k, random(k, 5000)));
    }
    assertThatThrownBy(() -> await(store.put(3, random(3, 10))))
        .isInstanceOf(ZswapdException.class)
        .hasMessageContaining("overflow namespace refusing is full")
        .hasMessageContaining("max-entries 3")
        .satisfies(e -> assertThat(((ZswapdException) e).error().code()).isEqualTo(ErrorCode.NAMESPACE_FULL));
    await(store.put(1, random(11, 6000))); // replacing a value adds no entry
    assertThat(await(store.get(1))).hasValueSatisfying(v -> assertThat(v).isEqualTo(random(11, 6000)));
    OverflowStore.Figures f = await(store.figures());
    assertThat(f.entries()).isEqualTo(3);
    assertThat(f.refused()).isEqualTo(1);
    assertThat(f.evicted()).isZero();

    OverflowStore bytes = open("refusing-bytes", OverflowLimits.NONE.withMaxBytes(3 * 4096));
    await(bytes.put(0, random(20, 2 * 4096)));
    assertThatThrownBy(() -> await(bytes.put(1, random(21, 2 * 4096))))
        .isInstanceOf(ZswapdException.class).hasMessageContaining("max-bytes 12288");
    assertThatThrownBy(() -> await(bytes.put(2, random(22, 4 * 4096))))
        .isInstanceOf(ZswapdException.class)
        .hasMessageContaining("the value's 16384 compressed bytes exceed max-bytes 12288");
  }

  @Test
  void evictingTheLeastRecentlyUsedMakesRoomAndTellsTheSubscribers() {
    OverflowStore store = open("lru", OverflowLimits.NONE.withMaxEntries(3)
        .withWhenFull(OverflowLimits.WhenFull.EVICT_LRU));
    ConcurrentLinkedQueue<OverflowStore.Evicted> seen = new ConcurrentLinkedQueue<>();
    store.evictions(64).runForeach(seen::add, engine.testKit().system());
    await(store.figures()); // the subscription arrived before the figures' answer
    for (int k = 1; k <= 3; k++) {
      await(store.put(k, random(k, 4096)));
    }
    assertThat(await(store.get(1))).isPresent(); // 1 is used: 2 is now the least recently used
    await(store.put(4, random(4, 4096)));
    assertThat(await(store.contains(2))).isFalse();
    assertThat(await(store.contains(1))).isTrue();
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(seen)
        .containsExactly(new OverflowStore.Evicted(OverflowKey.of(2), OverflowStore.EvictionReason.LRU, 4096)));

    // by bytes: incompressible pages cost 4096 each; lowering the limit evicts at once
    OverflowStore.Figures f = await(store.setLimits(OverflowLimits.NONE.withMaxBytes(2 * 4096)
        .withWhenFull(OverflowLimits.WhenFull.EVICT_LRU)));
    assertThat(f.entries()).isEqualTo(2);
    assertThat(f.storedBytes()).isEqualTo(2 * 4096);
    assertThat(f.evicted()).isEqualTo(2);
    assertThat(await(store.contains(3))).as("3 was the least recently used").isFalse();
    assertThat(await(store.contains(1))).as("1 was used after 3").isTrue();
    assertThat(await(store.get(4))).hasValueSatisfying(v -> assertThat(v).isEqualTo(random(4, 4096)));
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(storedPages("lru")).isEqualTo(2));
  }

  @Test
  void valuesExpireAfterTheirTimeToLiveAndTheirMemoryIsFreedWithoutBeingTouched() {
    OverflowStore store = open("ttl", OverflowLimits.NONE.withTimeToLive(Duration.ofMillis(300)));
    ConcurrentLinkedQueue<OverflowStore.Evicted> seen = new ConcurrentLinkedQueue<>();
    store.evictions(64).runForeach(seen::add, engine.testKit().system());
    await(store.figures());
    await(store.put("touched", random(1, 3 * 4096)));
    await(store.put("untouched", random(2, 2 * 4096)));
    assertThat(storedPages("ttl")).isEqualTo(5);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(await(store.contains("touched"))).isFalse());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(storedPages("ttl")).isZero());
    OverflowStore.Figures f = await(store.figures());
    assertThat(f.expired()).isEqualTo(2);
    assertThat(f.entries()).isZero();
    assertThat(seen).extracting(OverflowStore.Evicted::reason)
        .containsExactly(OverflowStore.EvictionReason.EXPIRED, OverflowStore.EvictionReason.EXPIRED);
    assertThat(await(store.get("untouched"))).isEmpty();
  }

  @Test
  void anActorSpeaksTheNamespaceProtocolWithItsOwnReplyTo() {
    OverflowStore store = await(z.overflowStore("actors"));
    TestProbe<OverflowStore.PutResult> puts = engine.testKit().createTestProbe();
    TestProbe<OverflowStore.GetResult> gets = engine.testKit().createTestProbe();
    TestProbe<OverflowStore.Removed> removes = engine.testKit().createTestProbe();
    OverflowKey key = OverflowKey.of("actor-state");
    store.ref().tell(new OverflowStore.Put(key, new Session("bob", 3), puts.ref()));
    store.ref().tell(new OverflowStore.Get(key, gets.ref())); // queued behind the put of its key
    assertThat(puts.receiveMessage()).isEqualTo(new OverflowStore.PutDone(key, false));
    assertThat(gets.receiveMessage()).isEqualTo(new OverflowStore.Found(key, new Session("bob", 3)));
    store.ref().tell(new OverflowStore.Remove(key, removes.ref()));
    store.ref().tell(new OverflowStore.Get(key, gets.ref()));
    assertThat(removes.receiveMessage()).isEqualTo(new OverflowStore.Removed(key, true));
    assertThat(gets.receiveMessage()).isEqualTo(new OverflowStore.Missing(key));
    assertThat(await(store.get("actor-state"))).isEqualTo(Optional.empty());
  }

  @Test
  void aNamespaceInTheConfigurationStartsWithItsLimits() {
    OverflowStore store = await(z.overflowStore("configured"));
    assertThat(await(store.figures()).limits()).isEqualTo(OverflowLimits.NONE.withMaxEntries(2)
        .withWhenFull(OverflowLimits.WhenFull.EVICT_LRU));
    for (int k = 0; k < 3; k++) {
      await(store.put(k, random(k, 100)));
    }
    assertThat(await(store.figures()).evicted()).isEqualTo(1);
    assertThat(await(store.contains(0))).isFalse();
    assertThat(await(await(z.overflowStore("not-configured")).figures()).limits()).isEqualTo(OverflowLimits.NONE);
  }

  @Test
  void badArgumentsAreRefusedNamingTheLimit() {
    assertThatThrownBy(() -> OverflowLimits.NONE.withMaxEntries(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("max-entries must be at least 1, got 0");
    assertThatThrownBy(() -> OverflowLimits.NONE.withMaxBytes(-5)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("max-bytes must be at least 1, got -5");
    assertThatThrownBy(() -> OverflowLimits.NONE.withTimeToLive(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("time-to-live must be positive");
    OverflowStore store = await(z.overflowStore("bad-input"));
    assertThatThrownBy(() -> await(store.putObject("k", null))).isInstanceOf(ZswapdException.class)
        .hasMessageContaining("cannot be null");
    assertThatThrownBy(() -> await(store.put((String) null, new byte[1]))).isInstanceOf(ZswapdException.class)
        .hasMessageContaining("key cannot be null");
    assertThatThrownBy(() -> store.spillBuffer(Session.class, 0, 1 << 20, io.zswapd.actors.embedded.SpillBuffer.WhenFull.FAIL))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("heapElements must be at least 1, got 0");
    assertThatThrownBy(() -> store.spillBuffer(Session.class, 10, 1024, io.zswapd.actors.embedded.SpillBuffer.WhenFull.FAIL))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one batch (65536 bytes)");
    assertThat(await(store.figures()).entries()).as("nothing stored by refused calls").isZero();
  }
}
