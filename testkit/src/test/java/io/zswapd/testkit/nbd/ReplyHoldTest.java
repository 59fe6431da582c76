package io.zswapd.testkit.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.testkit.GatedActors;
import io.zswapd.testkit.MessageGate;
import io.zswapd.testkit.NbdFixture;
import io.zswapd.testkit.PageGenerator;
import java.net.UnixDomainSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Requests read together are answered together ({@code zswapd.nbd.reply-hold}): a reply whose
 * request finished while others read with it are still being served waits for them, so one
 * write carries them all, but never longer than {@code reply-hold}, and never at all with 0.
 * The two requests of each pass go out in one system call, one to tree shard 0 and one to tree
 * shard 1, so the engine answers them separately.
 */
class ReplyHoldTest {
  static final int PAGE = 4096;
  static final long SHARD_0 = 0;
  static final long SHARD_1 = 64L << 20; // page 16384: the second tree shard
  final PageGenerator pages = new PageGenerator(0x4E1D);

  static String hocon(String replyHold) {
    return """
        zswapd.pool.max-size = 64 MiB
        zswapd.exports = [ { name = "swap0", size = 256 MiB } ]
        zswapd.nbd.reply-hold = %s
        """.formatted(replyHold);
  }

  /** Writes a page of seed {@code seed} at {@code offset} and returns it. */
  byte[] written(NbdClient client, long offset, int seed) throws Exception {
    byte[] page = pages.page(seed, PageGenerator.Kind.C50);
    client.write(offset, page);
    return page;
  }

  /**
   * The rule that bounds the wait: with the read of shard 1 held in the engine (a gate at its
   * tree shard stands for a slow backing file), the read of shard 0 it came with is answered
   * anyway, after at most {@code reply-hold}; the held one follows once released.
   */
  @ParameterizedTest
  @ValueSource(strings = {"10ms", "0"})
  void aReplyDoesNotWaitPastReplyHoldForTheRestOfItsPass(String replyHold) throws Exception {
    GatedActors actors = new GatedActors();
    try (NbdFixture nbd = NbdFixture.start(hocon(replyHold), ZswapdSetup.of(actors));
         NbdClient client = NbdClient.connectGo(UnixDomainSocketAddress.of(nbd.unixSocket()), "swap0", true)) {
      client.timeout(Duration.ofSeconds(20));
      byte[] a = written(client, SHARD_0, 1);
      byte[] b = written(client, SHARD_1, 2);
      MessageGate shard1 = actors.hold("tree shard 1's page batches",
          GatedActors.actor(EngineActor.treeShard("swap0", 1)), GatedActors.named("Pages"));

      long[] handles = client.sendTogether(Nbd.CMD_READ, new long[] {SHARD_0, SHARD_1}, PAGE);
      shard1.awaitArrival(0);
      assertThat(client.await(handles[0]).data())
          .as("the read of shard 0, while the read of shard 1 it came with is held (reply-hold %s)", replyHold)
          .isEqualTo(a);
      shard1.open();
      assertThat(client.await(handles[1]).data()).as("the read of shard 1, released").isEqualTo(b);
      client.disconnect();
    }
  }

  /**
   * The rule that makes it pay: the last request of a pass to finish sends the held replies
   * with its own. With reply-hold at its 1 s maximum, twenty passes of two reads take far less
   * than the twenty seconds they would if held replies waited for the limit.
   */
  @Test
  void theLastRequestOfAPassSendsTheHeldReplies() throws Exception {
    String replyHold = "1s";
    try (NbdFixture nbd = NbdFixture.start(hocon(replyHold));
         NbdClient client = NbdClient.connectGo(UnixDomainSocketAddress.of(nbd.unixSocket()), "swap0", true)) {
      client.timeout(Duration.ofSeconds(30));
      byte[] a = written(client, SHARD_0, 3);
      byte[] b = written(client, SHARD_1, 4);
      int passes = 20;
      long start = System.nanoTime();
      for (int i = 0; i < passes; i++) {
        long[] handles = client.sendTogether(Nbd.CMD_READ, new long[] {SHARD_0, SHARD_1}, PAGE);
        assertThat(client.await(handles[0]).data()).isEqualTo(a);
        assertThat(client.await(handles[1]).data()).isEqualTo(b);
      }
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertThat(took).as("%d passes of two reads with reply-hold = %s", passes, replyHold)
          .isLessThan(Duration.ofSeconds(passes / 2));
      client.disconnect();
    }
  }
}
