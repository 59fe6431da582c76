package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.overflow.OverflowKey;
import io.zswapd.actors.overflow.OverflowLimits;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.protocol.engine.EngineCommand;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The rule that a value in the middle of a put is never evicted, replayed with a gate: the
 * stores of a replacing put are held at the namespace's tree shard while another put needs room.
 * The least recently used value is the one being replaced; eviction must pass it over (its old
 * value is still what a failed put would leave, and its new one is about to be installed) and
 * take the next.
 */
class OverflowEvictionRaceTest {

  @Test
  void aValueBeingPutIsPassedOverByLruEviction() {
    GatedActors actors = new GatedActors();
    AtomicBoolean armed = new AtomicBoolean();
    MessageGate stores = actors.hold("the replacing put's StoreRange",
        GatedActors.role(EngineActor.Role.TREE_SHARD).and(a -> a.export().equals("overflow:race")),
        m -> m instanceof TreeShard.Pages p && p.requests().get(0) instanceof EngineCommand.StoreRange
            && armed.getAndSet(false));
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 64 MiB", ZswapdSetup.of(actors))) {
      OverflowStore store = await(engine.zswapd().overflowStore("race", OverflowLimits.NONE.withMaxEntries(2)
          .withWhenFull(OverflowLimits.WhenFull.EVICT_LRU)));
      await(store.put("a", "a, first".getBytes()));
      await(store.put("b", "b".getBytes()));

      armed.set(true);
      CompletionStage<Void> replace = store.put("a", "a, second".getBytes());
      stores.awaitArrival(0); // a is being put: its pages are held on their way to the shard

      await(store.put("c", "c".getBytes())); // needs room: a is the least recently used
      assertThat(await(store.contains("b"))).as("b, the next least recently used, was evicted").isFalse();
      OverflowStore.Figures f = await(store.figures());
      assertThat(f.evicted()).isEqualTo(1);
      assertThat(f.entries()).as("a (old value) and c").isEqualTo(2);

      stores.open();
      await(replace);
      assertThat(await(store.get("a"))).hasValueSatisfying(v -> assertThat(new String(v)).isEqualTo("a, second"));
      assertThat(await(store.get("c"))).isPresent();
      assertThat(await(store.figures()).entries()).isEqualTo(2);
      assertThat(await(store.keys().runWith(akka.stream.javadsl.Sink.seq(), engine.testKit().system())))
          .containsExactly(OverflowKey.of("a"), OverflowKey.of("c"));
    }
  }
}
