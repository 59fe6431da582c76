package io.zswapd.testkit.nbd;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdRequest;
import io.zswapd.protocol.nbd.ClientHandshake;
import io.zswapd.testkit.NbdFixture;
import io.zswapd.testkit.PageGenerator;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * What one client can make the server hold, whatever it sends (issue 15): replies it never
 * reads, option floods before GO, zero-payload commands over huge ranges, connections past the
 * limit, and clients that stall in the handshake, stop reading or go idle. In every case the
 * offending connection stops being read or is closed, everyone else is served, and the budget
 * comes back whole.
 */
class ConnectionLimitsTest {
  static final int PAGE = 4096;
  static final long KIB = 1024;

  /** A small budget: 64 KiB requests, 1 MiB in all, so a connection's share is 256 KiB. */
  static final String SMALL = """
      zswapd.pool.max-size = 128 MiB
      zswapd.exports = [ { name = "swap0", size = 64 MiB }, { name = "probe", size = 1 MiB } ]
      zswapd.nbd { max-payload = 64 KiB, buffer-memory = 1 MiB }
      """;

  private static SocketAddress unix(NbdFixture f) {
    return UnixDomainSocketAddress.of(f.unixSocket());
  }

  /** Another client can attach, write a page and read it back. */
  private static void assertOthersAreServed(NbdFixture f, int seed) throws IOException {
    byte[] page = new PageGenerator(seed).page(seed, PageGenerator.Kind.C50);
    try (NbdClient probe = NbdClient.connectGo(f.tcp(), "probe", true)) {
      probe.timeout(Duration.ofSeconds(30));
      probe.write(0, page);
      assertThat(probe.read(0, PAGE)).isEqualTo(page);
    }
  }

  private static ExportStats stats(NbdFixture f, String export) {
    return await(f.zswapd().stats()).export(export).orElseThrow();
  }

  /** Eventually every connection has left and all of buffer-memory is back. */
  private static void assertBudgetReturned(NbdFixture f, long bufferBytes) {
    Awaitility.await().atMost(30, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
      var budget = await(f.server().budget());
      assertThat(budget.admitted()).as("connections served").isZero();
      assertThat(budget.available()).as("buffer-memory not granted").isEqualTo(bufferBytes);
    });
  }

  @Test
  void repliesAClientDoesNotReadStopItsRequestsNotTheServer() throws IOException {
    try (NbdFixture f = NbdFixture.start(SMALL)) {
      int requests = 100;
      int length = 64 * (int) KIB;
      byte[] data = new PageGenerator(7).page(7, PageGenerator.Kind.C50);
      try (NbdClient writer = NbdClient.connectGo(unix(f), "swap0", true)) {
        for (int p = 0; p < 16; p++) {
          writer.write((long) p * PAGE, data);
        }
      }
      long loadsBefore = stats(f, "swap0").loads();
      try (NbdClient hog = NbdClient.connectGo(unix(f), "swap0", true)) {
        hog.timeout(Duration.ofSeconds(30));
        for (int i = 0; i < requests; i++) {
          hog.send(Nbd.CMD_READ, 0, 0, length, null); // 6.25 MiB of replies asked for, none read yet
        }
        assertOthersAreServed(f, 1);
        // The hog holds at most its share (256 KiB) and two credit chunks: a handful of its 100 reads.
        var budget = await(f.server().budget());
        assertThat(1024 * KIB - budget.available()).as("buffer-memory the hog holds")
            .isLessThanOrEqualTo(256 * KIB + 2 * 64 * KIB + 64 * KIB);
        long pagesLoaded = stats(f, "swap0").loads() - loadsBefore;
        assertThat(pagesLoaded).as("pages the engine loaded for unread replies")
            .isLessThanOrEqualTo(8L * length / PAGE);
        // Once it reads, everything comes, right.
        for (int i = 0; i < requests; i++) {
          Reply r = hog.receive();
          assertThat(r.error()).isZero();
          assertThat(java.util.Arrays.copyOf(r.data(), PAGE)).isEqualTo(data);
        }
      }
      assertBudgetReturned(f, 1024 * KIB);
    }
  }

  @Test
  void anOptionFloodWhoseRepliesAreUnreadIsNotReadEither() throws IOException {
    try (NbdFixture f = NbdFixture.start(SMALL)) {
      byte[] list = ClientHandshake.list();
      long limit = 64L << 20;
      long sent = 0;
      try (Negotiation flood = Negotiation.open(unix(f), true)) {
        flood.timeout(Duration.ofSeconds(3));
        byte[] burst = new byte[list.length * 1024];
        for (int i = 0; i < 1024; i++) {
          System.arraycopy(list, 0, burst, i * list.length, list.length);
        }
        try {
          while (sent < limit) {
            flood.sendRaw(burst);
            sent += burst.length;
          }
        } catch (IOException stalled) {
          // the server stopped reading: the replies to what it read are waiting, unread
        }
        // Socket buffers take a few hundred KiB each way; the server reads options only while
        // at most 64 KiB of their replies wait (about 13 KiB of LIST options).
        assertThat(sent).as("bytes of NBD_OPT_LIST the server took while none of its replies were read")
            .isLessThan(4L << 20);
        assertOthersAreServed(f, 2);
      }
      assertBudgetReturned(f, 1024 * KIB);
    }
  }

  @Test
  void writeZeroesOverWholeExportsArePipelinedAndAnsweredInBoundedWork() throws IOException {
    try (NbdFixture f = NbdFixture.start("""
        zswapd.pool.max-size = 128 MiB
        zswapd.exports = [ { name = "swap0", size = 256 MiB }, { name = "probe", size = 1 MiB } ]
        """)) {
      long size = 256L << 20;
      try (NbdClient c = NbdClient.connectGo(unix(f), "swap0", true)) {
        c.timeout(Duration.ofSeconds(120));
        List<Long> handles = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          handles.add(c.send(Nbd.CMD_WRITE_ZEROES, i % 2 == 0 ? Nbd.CMD_FLAG_NO_HOLE : 0, 0, (int) size, null));
        }
        assertOthersAreServed(f, 3);
        for (long h : handles) {
          assertThat(c.await(h).error()).isZero();
        }
        assertThat(c.read(size - PAGE, PAGE)).isEqualTo(new byte[PAGE]);
      }
      assertThat(stats(f, "swap0").samePages()).isEqualTo(size / PAGE);
    }
  }

  @Test
  void aConnectionPastMaxConnectionsIsClosedAtOnceAndOthersStayServed() throws IOException {
    try (NbdFixture f = NbdFixture.start(SMALL + "zswapd.nbd.max-connections = 2\n");
        NbdClient a = NbdClient.connectGo(unix(f), "swap0", true);
        NbdClient b = NbdClient.connectGo(f.tcp(), "swap0", true)) {
      try (SocketChannel third = SocketChannel.open(unix(f))) {
        ByteBuffer greeting = ByteBuffer.allocate(18);
        assertThat(third.read(greeting)).as("closed without a greeting").isEqualTo(-1);
      }
      byte[] page = new PageGenerator(4).page(4, PageGenerator.Kind.C50);
      a.write(0, page);
      assertThat(b.read(0, PAGE)).isEqualTo(page);
      a.close();
      Awaitility.await().atMost(30, TimeUnit.SECONDS)
          .until(() -> await(f.server().budget()).admitted() == 1);
      try (NbdClient c = NbdClient.connectGo(unix(f), "swap0", true)) {
        assertThat(c.read(0, PAGE)).as("a place freed is taken again").isEqualTo(page);
      }
    }
  }

  @Test
  void aClientThatChoosesNoExportIsDisconnectedAfterTheHandshakeTimeout() throws IOException {
    try (NbdFixture f = NbdFixture.start(SMALL + "zswapd.nbd.handshake-timeout = 1s\n");
        Negotiation stalled = Negotiation.open(unix(f), true)) {
      stalled.timeout(Duration.ofSeconds(30));
      assertThat(stalled.list()).contains("swap0");
      assertThat(stalled.awaitServerClose()).as("closed by the server").isTrue();
      assertOthersAreServed(f, 5);
      assertBudgetReturned(f, 1024 * KIB);
    }
  }

  @Test
  void aClientThatReadsNoRepliesIsClosedAfterTheSendTimeoutAndItsBudgetReturns() throws IOException {
    try (NbdFixture f = NbdFixture.start(SMALL + "zswapd.nbd.send-timeout = 1s\n");
        NbdClient hog = NbdClient.connectGo(unix(f), "swap0", true)) {
      for (int i = 0; i < 200; i++) {
        hog.send(Nbd.CMD_READ, 0, 0, 64 * (int) KIB, null);
      }
      assertBudgetReturned(f, 1024 * KIB);
      hog.timeout(Duration.ofSeconds(30));
      assertThatThrownBy(() -> {
        for (int i = 0; i < 200; i++) {
          hog.receive();
        }
      }).as("the connection was closed before all replies were sent").isInstanceOf(IOException.class);
    }
  }

  @Test
  void idleTimeoutClosesAConnectionWithNothingInFlightAndIsOffByDefault() throws IOException {
    try (NbdFixture f = NbdFixture.start(SMALL + "zswapd.nbd.idle-timeout = 1s\n");
        NbdClient idle = NbdClient.connectGo(unix(f), "swap0", true)) {
      idle.timeout(Duration.ofSeconds(30));
      assertThat(idle.awaitServerClose()).isTrue();
      assertBudgetReturned(f, 1024 * KIB);
    }
    try (NbdFixture f = NbdFixture.start(SMALL);
        NbdClient kept = NbdClient.connectGo(unix(f), "swap0", true)) {
      // the handshake timeout (10 s) has no say after GO, and there is no idle timeout by default
      Awaitility.await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(30))
          .until(() -> await(f.server().budget()).admitted() == 1);
      assertThat(kept.read(0, PAGE)).isEqualTo(new byte[PAGE]);
    }
  }

  @Test
  void aTruncatedRequestHeaderCountsAsIdleAndHoldsNothing() throws IOException {
    try (NbdFixture f = NbdFixture.start(SMALL + "zswapd.nbd.idle-timeout = 1s\n");
        NbdClient c = NbdClient.connectGo(unix(f), "swap0", true)) {
      c.sendRaw(java.util.Arrays.copyOf(new NbdRequest(0, Nbd.CMD_READ, 1, 0, PAGE).encode(), 20));
      c.timeout(Duration.ofSeconds(30));
      assertThat(c.awaitServerClose()).as("a half-sent request is idle too").isTrue();
      assertBudgetReturned(f, 1024 * KIB);
    }
  }
}
