package io.zswapd.testkit.nbd;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.nbd.ClientHandshake;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdReply;
import io.zswapd.protocol.nbd.NbdRequest;
import io.zswapd.testkit.NbdFixture;
import io.zswapd.testkit.PageGenerator;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Connections coming and going: DISC finishes in-flight work, a vanished client leaks nothing,
 * concurrent connections writing parts of the same pages lose no bytes, and every connection
 * sees every other's completed writes (CAN_MULTI_CONN).
 */
class ConnectionLifecycleTest {
  static final long SEED = 0xC0_5EEDL;
  static final int PAGE = 4096;
  static final long MIB = 1 << 20;
  static final String HOCON = """
      zswapd.pool.max-size = 256 MiB
      zswapd.exports = [ { name = "swap0", size = 1 GiB }, { name = "tiny", size = 1 MiB } ]
      zswapd.nbd.max-payload = 1 MiB
      """;

  private static NbdFixture fixture;

  @BeforeAll
  static void start() {
    fixture = NbdFixture.start(HOCON);
  }

  @AfterAll
  static void stop() {
    fixture.close();
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void discWithWritesInFlightAnswersThemAllBeforeClosing(Transport transport) throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + transport.ordinal());
    int writes = 150; // more than the stage's 128 in flight, so DISC waits in the socket for a while
    int slot = 5000;
    ExportModel model = new ExportModel(transport.ordinal() * 8 * MIB, writes * slot);
    Set<Long> sent = new HashSet<>();
    try (NbdClient nbd = NbdClient.connectGo(transport.address(fixture), "swap0", true)) {
      for (int i = 0; i < writes; i++) {
        int length = 1 + rnd.nextInt(slot - 100);
        long offset = model.base() + (long) i * slot + rnd.nextInt(slot - length);
        byte[] data = ExportModel.random(rnd, length);
        model.write(offset, data);
        sent.add(nbd.send(Nbd.CMD_WRITE, 0, offset, length, data));
      }
      nbd.disconnect();
      Set<Long> answered = new HashSet<>();
      for (int i = 0; i < writes; i++) {
        Reply r = nbd.receive();
        assertThat(r.error()).as(r.toString()).isZero();
        answered.add(r.handle());
      }
      assertThat(answered).isEqualTo(sent);
      assertThat(nbd.awaitServerClose()).as("the server closes after DISC").isTrue();
    }
    try (NbdClient check = NbdClient.connectGo(transport.address(fixture), "swap0", true)) {
      assertThat(check.read(model.base(), model.size())).as("seed %d", SEED + transport.ordinal())
          .isEqualTo(model.bytes());
    }
  }

  /**
   * A client may close its sending side once it has sent DISC (it must send nothing more); it
   * still reads the replies to what it had in flight. A bare blocking channel, because the test
   * client cannot half-close.
   */
  @ParameterizedTest
  @EnumSource(Transport.class)
  void discFollowedByAHalfCloseStillAnswersEveryRequestInFlight(Transport transport) throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 50 + transport.ordinal());
    int writes = 20;
    ExportModel model = new ExportModel(32 * MIB + transport.ordinal() * MIB, writes * PAGE);
    ByteBuffer requests = ByteBuffer.allocate(writes * (NbdRequest.HEADER_SIZE + PAGE) + NbdRequest.HEADER_SIZE);
    for (int i = 0; i < writes; i++) {
      byte[] page = ExportModel.random(rnd, PAGE);
      model.write(model.base() + (long) i * PAGE, page);
      requests.put(new NbdRequest(0, Nbd.CMD_WRITE, i + 1, model.base() + (long) i * PAGE, PAGE).encode()).put(page);
    }
    requests.put(new NbdRequest(0, Nbd.CMD_DISC, writes + 1, 0, 0).encode()).flip();
    SocketAddress address = transport.address(fixture);
    Set<Long> answered = new HashSet<>();
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      try (SocketChannel ch = transport == Transport.TCP ? SocketChannel.open()
          : SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(address);
        readFully(ch, ClientHandshake.GREETING_SIZE);
        write(ch, ByteBuffer.wrap(ClientHandshake.clientFlags(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)));
        write(ch, ByteBuffer.wrap(ClientHandshake.exportName("swap0")));
        readFully(ch, ClientHandshake.EXPORT_NAME_REPLY_SIZE);
        write(ch, requests);
        ch.shutdownOutput();
        for (int i = 0; i < writes; i++) {
          NbdReply r = NbdReply.decode(readFully(ch, NbdReply.HEADER_SIZE));
          assertThat(r.error()).as(r.toString()).isZero();
          answered.add(r.handle());
        }
        assertThat(ch.read(ByteBuffer.allocate(1))).as("then the server closes").isEqualTo(-1);
      }
    }, () -> transport + ": " + answered.size() + " of " + writes + " replies arrived");
    assertThat(answered).hasSize(writes);
    try (NbdClient check = NbdClient.connectGo(address, "swap0", true)) {
      assertThat(check.read(model.base(), model.size())).as("seed %d", SEED + 50).isEqualTo(model.bytes());
    }
  }

  /**
   * A client vanishes with 40 page writes in flight and a WRITE whose payload stopped halfway;
   * another vanishes mid-handshake. Every page must then hold either nothing or all of its
   * write, the half-sent write nothing, and every handle the pool holds must belong to a stored
   * page. A fresh engine, so that the counts are this test's alone.
   */
  @ParameterizedTest
  @EnumSource(Transport.class)
  void clientsThatVanishLeaveTheServerServingAndLeakNothing(Transport transport) throws Exception {
    PageGenerator gen = new PageGenerator(SEED + 10 + transport.ordinal());
    try (NbdFixture own = NbdFixture.start(HOCON)) {
      NbdClient gone = NbdClient.connectGo(transport.address(own), "swap0", true);
      for (int p = 0; p < 5; p++) {
        gone.write((long) p * PAGE, gen.page(p, PageGenerator.Kind.RANDOM));
      }
      for (int p = 100; p < 140; p++) {
        gone.send(Nbd.CMD_WRITE, 0, (long) p * PAGE, PAGE, gen.page(p, PageGenerator.Kind.RANDOM));
      }
      // header for two pages, payload for one: the stage is waiting for the rest when the client goes
      gone.send(Nbd.CMD_WRITE, 0, 200L * PAGE, 2 * PAGE, gen.page(200, PageGenerator.Kind.RANDOM));
      gone.vanish();
      Negotiation.open(transport.address(own), true).vanish();

      try (NbdClient next = NbdClient.connectGo(transport.address(own), "swap0", true)) {
        for (int p = 0; p < 5; p++) {
          assertThat(next.read((long) p * PAGE, PAGE)).as("seed %d page %d", gen.seed(), p)
              .isEqualTo(gen.page(p, PageGenerator.Kind.RANDOM));
        }
        next.write(300L * PAGE, gen.page(300, PageGenerator.Kind.RANDOM));
        assertThat(next.read(300L * PAGE, PAGE)).isEqualTo(gen.page(300, PageGenerator.Kind.RANDOM));
        awaitOpenConnections(own, 1);
        next.disconnect();
        assertThat(next.awaitServerClose()).isTrue();
      }
      awaitOpenConnections(own, 0);
      Thread.sleep(200); // a vanished connection's stage may close before the engine answers its writes

      try (NbdClient check = NbdClient.connectGo(transport.address(own), "swap0", true)) {
        assertThat(check.read(200L * PAGE, 2 * PAGE)).as("the half-sent write stores nothing")
            .isEqualTo(new byte[2 * PAGE]);
        int inFlightStored = 0;
        for (int p = 100; p < 140; p++) {
          byte[] got = check.read((long) p * PAGE, PAGE);
          if (!Arrays.equals(got, new byte[PAGE])) {
            assertThat(got).as("seed %d page %d: all of the write or nothing", gen.seed(), p)
                .isEqualTo(gen.page(p, PageGenerator.Kind.RANDOM));
            inFlightStored++;
          }
        }
        long expectedPages = 5 + 1 + inFlightStored;
        EngineStats s = await(own.zswapd().stats());
        ExportStats swap = s.export("swap0").orElseThrow();
        assertThat(swap.storedPages()).as("%d of the 40 in-flight writes stored", inFlightStored)
            .isEqualTo(expectedPages);
        assertThat(swap.samePages()).isZero();
        assertThat(s.pool().handlesInUse()).as("one handle per stored (raw) page").isEqualTo(expectedPages);
      }
      awaitOpenConnections(own, 0);
    }
  }

  /**
   * Connection A writes bytes [100, 3000) of eight pages in small pieces of 0xA_, while B writes
   * [0, 100) and [3000, 4000) in pieces of 0xB_, both pipelined and started together, so pieces
   * of one page from both connections are in the page's shard at once. Bytes [4000, 4096) keep
   * the prefill. Three rounds with new values; after each every byte must be its writer's.
   */
  @Test
  void concurrentUnalignedWritesToTheSamePagesLoseNoBytes() throws Exception {
    SplittableRandom rnd = new SplittableRandom(SEED + 20);
    int pages = 8;
    ExportModel model = new ExportModel(16 * MIB, pages * PAGE);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (NbdClient a = NbdClient.connectGo(fixture.tcp(), "swap0", true);
         NbdClient b = NbdClient.connectGo(Transport.UNIX.address(fixture), "swap0", true)) {
      byte[] prefill = ExportModel.random(rnd, pages * PAGE);
      a.write(model.base(), prefill);
      model.write(model.base(), prefill);
      for (int round = 0; round < 3; round++) {
        byte aa = (byte) (0xA0 + round);
        byte bb = (byte) (0xB0 + round);
        List<long[]> aPieces = pieces(rnd, model.base(), pages, new int[][] {{100, 3000}});
        List<long[]> bPieces = pieces(rnd, model.base(), pages, new int[][] {{3000, 4000}, {0, 100}});
        for (long[] p : aPieces) {
          model.write(p[0], ExportModel.filled((int) p[1], aa));
        }
        for (long[] p : bPieces) {
          model.write(p[0], ExportModel.filled((int) p[1], bb));
        }
        CountDownLatch go = new CountDownLatch(1);
        Future<Integer> fa = pool.submit(writer(a, aPieces, aa, go));
        Future<Integer> fb = pool.submit(writer(b, bPieces, bb, go));
        go.countDown();
        assertThat(fa.get(30, TimeUnit.SECONDS)).isEqualTo(aPieces.size());
        assertThat(fb.get(30, TimeUnit.SECONDS)).isEqualTo(bPieces.size());
        assertThat(b.read(model.base(), pages * PAGE)).as("seed %d round %d", SEED + 20, round)
            .isEqualTo(model.bytes());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void everyConnectionSeesEveryOthersCompletedWrites() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 30);
    ExportModel model = new ExportModel(24 * MIB, 64 * PAGE);
    List<NbdClient> clients = new ArrayList<>();
    try {
      for (Transport t : new Transport[] {Transport.TCP, Transport.UNIX, Transport.TCP, Transport.UNIX}) {
        NbdClient c = NbdClient.connectGo(t.address(fixture), "swap0", true);
        assertThat(c.export().hasFlag(Nbd.FLAG_CAN_MULTI_CONN)).isTrue();
        clients.add(c);
      }
      for (int round = 0; round < 40; round++) {
        NbdClient writer = clients.get(round % clients.size());
        int length = 1 + rnd.nextInt(3 * PAGE);
        long offset = model.base() + rnd.nextInt(model.size() - length);
        switch (round % 4) {
          case 3 -> {
            writer.writeZeroes(offset, length, 0);
            model.zero(offset, length);
          }
          default -> {
            byte[] data = ExportModel.random(rnd, length);
            writer.write(offset, data);
            model.write(offset, data);
          }
        }
        for (NbdClient reader : clients) {
          assertThat(reader.read(offset, length)).as("seed %d round %d", SEED + 30, round)
              .isEqualTo(model.bytes(offset, length));
        }
      }
      clients.get(1).trim(model.base(), model.size());
      assertThat(clients.get(2).read(model.base(), model.size())).isEqualTo(new byte[model.size()]);
    } finally {
      for (NbdClient c : clients) {
        c.close();
      }
    }
  }

  /**
   * Many clients at once (the kernel opens one connection per queue with CAN_MULTI_CONN), on a
   * fresh server with the default settings an embedding application gets. A connection that is
   * not served shows up as a timeout naming it.
   */
  @ParameterizedTest
  @EnumSource(Transport.class)
  void twentyFourConnectionsOpenAtOnceAreAllServed(Transport transport) throws Exception {
    SplittableRandom rnd = new SplittableRandom(SEED + 40 + transport.ordinal());
    int n = 24;
    List<NbdClient> clients = new ArrayList<>();
    try (NbdFixture own = NbdFixture.start(HOCON)) {
      try {
        for (int i = 0; i < n; i++) {
          try {
            clients.add(Negotiation.open(transport.address(own), true, Duration.ofSeconds(3)).go("tiny"));
          } catch (IOException e) {
            throw new AssertionError("connection " + (i + 1) + " of " + n + " was not served: " + e, e);
          }
        }
        awaitOpenConnections(own, n);
        for (int i = 0; i < n; i++) {
          byte[] data = ExportModel.random(rnd, 1000);
          clients.get(i).write(i * 1000L, data);
          assertThat(clients.get((i + 1) % n).read(i * 1000L, 1000)).as("seed %d client %d", SEED + 40, i)
              .isEqualTo(data);
        }
      } finally {
        for (NbdClient c : clients) {
          c.close();
        }
      }
      awaitOpenConnections(own, 0);
    }
  }

  /** Splits each byte range of every page into random pieces of 1..150 bytes, interleaved page by page. */
  private static List<long[]> pieces(SplittableRandom rnd, long base, int pages, int[][] ranges) {
    List<List<long[]>> perPage = new ArrayList<>();
    for (int p = 0; p < pages; p++) {
      List<long[]> list = new ArrayList<>();
      for (int[] r : ranges) {
        for (int at = r[0]; at < r[1]; ) {
          int length = Math.min(1 + rnd.nextInt(150), r[1] - at);
          list.add(new long[] {base + (long) p * PAGE + at, length});
          at += length;
        }
      }
      perPage.add(list);
    }
    List<long[]> interleaved = new ArrayList<>();
    while (perPage.stream().anyMatch(l -> !l.isEmpty())) {
      for (List<long[]> l : perPage) {
        if (!l.isEmpty()) {
          interleaved.add(l.remove(0));
        }
      }
    }
    return interleaved;
  }

  /** Sends every piece pipelined once {@code go} opens, then reads every reply; returns how many were OK. */
  private static Callable<Integer> writer(NbdClient nbd, List<long[]> pieces, byte value, CountDownLatch go) {
    return () -> {
      go.await();
      for (long[] p : pieces) {
        nbd.send(Nbd.CMD_WRITE, 0, p[0], (int) p[1], ExportModel.filled((int) p[1], value));
      }
      int ok = 0;
      for (int i = 0; i < pieces.size(); i++) {
        Reply r = nbd.receive();
        if (r.isOk()) {
          ok++;
        }
      }
      return ok;
    };
  }

  private static ByteBuffer readFully(SocketChannel ch, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new EOFException("server closed after " + b.position() + " of " + n + " bytes");
      }
    }
    return b.flip();
  }

  private static void write(SocketChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  private static void awaitOpenConnections(NbdFixture f, int expected) {
    Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
        .untilAsserted(() -> assertThat(await(f.server().openConnections())).isEqualTo(expected));
  }
}
