package io.zswapd.testkit.faults;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.testkit.ActorFault;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.NbdFixture;
import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.protocol.nbd.Nbd;
import java.net.UnixDomainSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An engine actor that throws (a bug: bad input and I/O errors are answers) stops the engine at
 * once and loudly (issue 15, point 2): the request it was handling and every request waiting
 * fail within a second of the failure with ENGINE_FAILED, later ones at once, stats still
 * answer, shutdown does not wait, and {@code whenFailed} says which actor failed and which pages
 * are lost. Nothing waits for the 60 s request timeout.
 */
class EngineFailureTest {
  static final String HOCON = """
      zswapd.pool.max-size = 64 MiB
      zswapd.exports = [ { name = "swap0", size = 256 MiB } ]
      """;
  final PageGenerator pages = new PageGenerator(70);

  private static void assertEngineFailed(CompletionStage<?> request) {
    assertThatThrownBy(() -> await(request))
        .isInstanceOf(ZswapdException.class)
        .satisfies(e -> assertThat(((ZswapdException) e).code()).isEqualTo(ErrorCode.ENGINE_FAILED));
  }

  @Test
  void aTreeShardThatThrowsFailsTheEngineAndEveryRequestAtOnce() throws Exception {
    GatedActors actors = new GatedActors();
    try (EngineFixture engine = EngineFixture.start(HOCON, ZswapdSetup.of(actors))) {
      Zswapd z = engine.zswapd();
      await(z.store("swap0", 1, pages.page(1, PageGenerator.Kind.C50)));
      await(z.store("swap0", 20_000, pages.page(2, PageGenerator.Kind.C50))); // shard 1
      ActorFault fault = actors.failOn("tree shard 0 on a load",
          GatedActors.actor(EngineActor.treeShard("swap0", 0)), GatedActors.named("Pages"));

      CompletionStage<byte[]> lost = z.load("swap0", 1);
      fault.first().get(30, TimeUnit.SECONDS);
      assertEngineFailed(lost);
      String what = await(z.whenFailed());
      assertThat(what).contains("tree shard 0 of export \"swap0\"").contains("pages 0..16384 are lost")
          .contains("injected failure");
      assertEngineFailed(z.load("swap0", 20_000));       // another shard: the engine serves nothing more
      assertEngineFailed(z.store("swap0", 2, pages.page(3, PageGenerator.Kind.C50)));
      assertThat(await(z.stats()).pool().memLimit()).as("stats answer with the parts alive (the pool)").isPositive();
      assertThat(await(z.shutdown()).clean()).as("a failed engine cannot account for its pages").isFalse();
    }
  }

  @Test
  void aSizeClassThatThrowsFailsTheEngineNamingThePool() throws Exception {
    GatedActors actors = new GatedActors();
    try (EngineFixture engine = EngineFixture.start(HOCON, ZswapdSetup.of(actors))) {
      Zswapd z = engine.zswapd();
      ActorFault fault = actors.failOn("every size class on an allocation",
          GatedActors.role(EngineActor.Role.SIZE_CLASS), GatedActors.named("Work"));

      CompletionStage<Void> store = z.store("swap0", 7, pages.page(7, PageGenerator.Kind.C50));
      fault.first().get(30, TimeUnit.SECONDS);
      assertEngineFailed(store);
      assertThat(await(z.whenFailed())).contains("size class actor").contains("pages in the pool are lost");
      assertEngineFailed(z.load("swap0", 7));
    }
  }

  /**
   * Over NBD the same failure is an EIO for the request the engine was serving, within the
   * connection's one-second tick (its own watch: no futures), and for every later request at
   * once; the connection stays usable for the client to give up cleanly.
   */
  @Test
  void anNbdConnectionAnswersEioWhenTheEngineFails() throws Exception {
    GatedActors actors = new GatedActors();
    try (NbdFixture nbd = NbdFixture.start(HOCON, ZswapdSetup.of(actors));
         NbdClient client = NbdClient.connectGo(UnixDomainSocketAddress.of(nbd.unixSocket()), "swap0", true)) {
      client.timeout(Duration.ofSeconds(30));
      byte[] page = pages.page(1, PageGenerator.Kind.C50);
      client.write(4096, page);
      assertThat(client.read(4096, 4096)).isEqualTo(page);
      ActorFault fault = actors.failOn("tree shard 0 on a load",
          GatedActors.actor(EngineActor.treeShard("swap0", 0)), GatedActors.named("Pages"));

      long lost = client.send(Nbd.CMD_READ, 0, 4096, 4096, null);
      fault.first().get(30, TimeUnit.SECONDS);
      assertThat(client.await(lost).error()).as("the read the failed shard was serving").isEqualTo(Nbd.EIO);
      assertThat(client.request(Nbd.CMD_WRITE, 0, 8192, 4096, page).error()).as("a later write").isEqualTo(Nbd.EIO);
      assertThat(client.request(Nbd.CMD_READ, 0, 64L << 20, 4096, null).error()).as("a read of another shard")
          .isEqualTo(Nbd.EIO);
      client.disconnect();
    }
  }
}
