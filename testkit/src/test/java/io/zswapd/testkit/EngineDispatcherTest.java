package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.Zswapd;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The engine on a dispatcher of the application's own, configured exactly as the example in
 * the actors module's reference.conf says (that example once named a form Akka refuses).
 */
class EngineDispatcherTest {
  @Test
  void theReferenceConfExampleGivesTheEngineADispatcherOfItsOwn() throws Exception {
    String example = referenceConfExample();
    try (EngineFixture engine = EngineFixture.start(example)) {
      Zswapd z = engine.zswapd();
      byte[] page = new PageGenerator(5).page(1, PageGenerator.Kind.C50);
      await(z.store("swap0", 9, page));
      assertThat(await(z.load("swap0", 9))).isEqualTo(page);
      assertThat(engine.testKit().system().dispatchers().lookup(
          akka.actor.typed.DispatcherSelector.fromConfig("my-app.zswapd-dispatcher"))).isNotNull();
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
