package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.DispatcherSelector;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.protocol.engine.RecompressMode;
import io.zswapd.protocol.engine.WritebackMode;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The engine on a dispatcher of the application's own, configured exactly as the example in
 * the actors module's reference.conf says (that example once named a form Akka refuses).
 *
 * <p>The rule ({@code EngineDispatcher}): the guardian starts on {@code zswapd-engine-dispatcher}
 * and every actor below it on its parent's dispatcher, so the whole engine runs where that
 * setting says. Checked where it matters: {@link GatedActors} records the thread each engine
 * actor handles each message on, and every one of them, of every role (the pool, the arena, the
 * size classes, swap types, tree shards, the backing store, the overflow directory, the
 * migration and writeback workers), must be a thread of the configured dispatcher. Fails if the
 * guardian is spawned on Akka's default dispatcher (everything below it follows), or if any
 * actor below it is spawned on another dispatcher than its parent's.
 */
class EngineDispatcherTest {
  /** The dispatcher the reference.conf example defines; Akka names its threads after it. */
  private static final String DISPATCHER = "my-app.zswapd-dispatcher";

  @Test
  void theReferenceConfExampleRunsEveryEngineActorOnItsDispatcher() throws Exception {
    String example = referenceConfExample();
    assertThat(example).as("the example").contains(DISPATCHER);
    GatedActors actors = new GatedActors();
    MessageGate everything = actors.watch("every message of every engine actor", a -> true, m -> true);
    String hocon = example + """
        zswapd.pool.max-size = 64 MiB
        zswapd.exports = [ { name = "swap0", size = 64 MiB, backing-file = "/nonexistent/zswapd-dispatcher",
                             recompressor = zstd } ]
        """;
    try (EngineFixture engine = EngineFixture.start(hocon,
        new ZswapdSetup(export -> GatedBackingIo.inMemory()).withSpawnHook(actors))) {
      Zswapd z = engine.zswapd();
      assertThat(engine.testKit().system().dispatchers().lookup(DispatcherSelector.fromConfig(DISPATCHER)))
          .isNotNull();

      // Work that reaches every kind of engine actor.
      PageGenerator gen = new PageGenerator(5);
      byte[] page = gen.page(1, PageGenerator.Kind.C50);
      await(z.store("swap0", 9, page), "a store");
      assertThat(await(z.load("swap0", 9), "a load")).isEqualTo(page);
      byte[] pages = new byte[8 * PageGenerator.PAGE_SIZE];
      for (int i = 0; i < 8; i++) {
        gen.fill(page, 100 + i, PageGenerator.Kind.RANDOM);
        System.arraycopy(page, 0, pages, i * PageGenerator.PAGE_SIZE, page.length);
      }
      await(z.storePages("swap0", 64, pages), "a range store");
      assertThat(await(z.loadPages("swap0", 64, 8), "a range load")).isEqualTo(pages);
      OverflowStore cold = await(z.overflowStore("dispatcher-test"), "a namespace");
      await(cold.put(1, pages), "a put");
      assertThat(await(cold.get(1), "a get").orElseThrow()).isEqualTo(pages);
      await(z.recompress(RecompressMode.ALL, 0), "a recompression");
      await(z.writeback(WritebackMode.ALL), "a writeback");
      assertThat(await(z.loadPages("swap0", 64, 8), "a load from the backing file")).isEqualTo(pages);
      await(z.compact(), "a compaction");
      await(z.migrate(), "a migration pass");
      await(z.stats(), "stats");

      Set<EngineActor.Role> seen = EnumSet.noneOf(EngineActor.Role.class);
      Map<EngineActor.Role, Set<String>> elsewhere = new TreeMap<>();
      for (int k = 0; k < everything.arrived(); k++) {
        GatedActors.Arrival a = everything.arrival(k).getNow(null);
        seen.add(a.actor().role());
        if (!a.thread().contains(DISPATCHER)) {
          elsewhere.computeIfAbsent(a.actor().role(), r -> new TreeSet<>()).add(a.thread());
        }
      }
      assertThat(seen).as("roles that handled a message: the work above reaches each one")
          .containsExactlyInAnyOrderElementsOf(EnumSet.allOf(EngineActor.Role.class));
      assertThat(elsewhere)
          .as("engine actors that ran off the configured dispatcher %s: role -> threads", DISPATCHER)
          .isEmpty();
    }
  }

  /** The commented example in reference.conf, uncommented. */
  private static String referenceConfExample() throws Exception {
    // several modules have a reference.conf; the engine's is the one that names its dispatcher
    String conf = null;
    var all = Zswapd.class.getClassLoader().getResources("reference.conf");
    while (all.hasMoreElements()) {
      try (var s = all.nextElement().openStream()) {
        String text = new String(s.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (text.contains("zswapd-engine-dispatcher = \"akka.actor.default-dispatcher\"")) {
          conf = text;
        }
      }
    }
    assertThat(conf).as("the actors module's reference.conf").isNotNull();
    Matcher m = Pattern.compile("(?s)for example:\\n((?:#   [^\\n]*\\n)+)").matcher(conf);
    assertThat(m.find()).as("the example in:\n" + conf).isTrue();
    return m.group(1).replaceAll("(?m)^#   ", "");
  }
}
