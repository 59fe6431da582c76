package io.zswapd.testkit.nbd;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.SoftAssertions.assertSoftly;

import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.nbd.ClientHandshake;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdReply;
import io.zswapd.protocol.nbd.NbdRequest;
import io.zswapd.protocol.nbd.OptionReply;
import io.zswapd.testkit.NbdFixture;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The transmission phase on one connection: byte ranges of any alignment against a local
 * model, FLUSH and FUA, TRIM and WRITE_ZEROES with their effect on the engine's counters, and
 * pipelined requests answered out of order.
 *
 * <p>Every test works on its own export or its own region of "swap0", so they share one server.
 */
class TransmissionTest {
  static final long SEED = 0x7EA5_5EEDL;
  static final int PAGE = 4096;
  static final int MIB = 1 << 20;

  private static NbdFixture fixture;

  @BeforeAll
  static void start() {
    fixture = NbdFixture.start("""
        zswapd.pool.max-size = 256 MiB
        zswapd.exports = [
          { name = "swap0", size = 1 GiB },
          { name = "trim-whole", size = 64 MiB },
          { name = "trim-part", size = 64 MiB },
          { name = "zeroes", size = 64 MiB }
        ]
        zswapd.nbd.max-payload = 1 MiB
        """);
  }

  @AfterAll
  static void stop() {
    fixture.close();
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void writesAndReadsOfAnyAlignmentMatchTheModel(Transport transport) throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + transport.ordinal());
    ExportModel model = new ExportModel(transport.ordinal() * 4L * MIB, 3 * MIB);
    long b = model.base();
    long[][] ranges = {
        {0, PAGE}, {2 * PAGE, 4 * PAGE},                     // aligned
        {1000, 5000}, {PAGE - 1, 2}, {7, 1}, {5 * PAGE - 1, 1}, // unaligned, across a page boundary, single bytes
        {40_001, 300 * 1024},                                 // many pages at an odd offset
        {MIB + 3, MIB},                                       // exactly max-payload, unaligned
    };
    try (NbdClient nbd = NbdClient.connectGo(transport.address(fixture), "swap0", true)) {
      for (long[] r : ranges) {
        byte[] data = ExportModel.random(rnd, (int) r[1]);
        nbd.write(b + r[0], data);
        model.write(b + r[0], data);
        assertThat(nbd.read(b + r[0], data.length)).as("seed %d, range %d+%d", SEED, r[0], r[1]).isEqualTo(data);
        long around = Math.max(b, b + r[0] - 10);
        int aroundLength = (int) Math.min(Math.min(data.length + 20, MIB), b + model.size() - around);
        assertThat(nbd.read(around, aroundLength)).as("seed %d, around %d+%d", SEED, r[0], r[1])
            .isEqualTo(model.bytes(around, aroundLength));
      }
      assertThat(nbd.read(b, 0)).isEmpty();
      for (int off = 0; off < model.size(); off += MIB) {
        assertThat(nbd.read(b + off, MIB)).as("seed %d, MiB at %d", SEED, off).isEqualTo(model.bytes(b + off, MIB));
      }
    }
  }

  @Test
  void flushIsAnsweredOnlyAfterEveryEarlierWrite() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED);
    ExportModel model = new ExportModel(20L * MIB, MIB);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      nbd.flush(); // nothing in flight: answered at once
      Set<Long> writes = new HashSet<>();
      for (int i = 0; i < 20; i++) {
        byte[] data = ExportModel.random(rnd, 1 + rnd.nextInt(3 * PAGE));
        long offset = model.base() + i * 3L * PAGE + rnd.nextInt(100);
        model.write(offset, data);
        writes.add(nbd.send(Nbd.CMD_WRITE, 0, offset, data.length, data));
      }
      long flush = nbd.send(Nbd.CMD_FLUSH, 0, 0, 0, null);
      List<Long> order = new ArrayList<>();
      for (int i = 0; i < 21; i++) {
        Reply r = nbd.receive();
        assertThat(r.error()).as(r.toString()).isZero();
        order.add(r.handle());
      }
      assertThat(order.get(20)).as("FLUSH must come after every write sent before it: %s", order).isEqualTo(flush);
      assertThat(new HashSet<>(order.subList(0, 20))).isEqualTo(writes);
      assertThat(nbd.read(model.base(), model.size())).as("seed %d", SEED).isEqualTo(model.bytes());
    }
  }

  @Test
  void fuaWritesTrimsAndWriteZeroesAreVisibleWhenAcknowledged() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 1);
    ExportModel model = new ExportModel(30L * MIB, 8 * PAGE);
    long b = model.base();
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      byte[] data = ExportModel.random(rnd, 8 * PAGE);
      nbd.write(b, data, Nbd.CMD_FLAG_FUA);
      model.write(b, data);
      assertThat(nbd.read(b, 8 * PAGE)).as("seed %d", SEED + 1).isEqualTo(model.bytes());
      byte[] piece = ExportModel.random(rnd, 333);
      nbd.write(b + 5000, piece, Nbd.CMD_FLAG_FUA);
      model.write(b + 5000, piece);
      succeed(nbd.request(Nbd.CMD_TRIM, Nbd.CMD_FLAG_FUA, b + 2 * PAGE, PAGE, null));
      model.zero(b + 2 * PAGE, PAGE);
      nbd.writeZeroes(b + 4 * PAGE + 17, PAGE, Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE);
      model.zero(b + 4 * PAGE + 17, PAGE);
      assertThat(nbd.read(b, 8 * PAGE)).as("seed %d", SEED + 1).isEqualTo(model.bytes());
    }
  }

  /** Spec: with SEND_FUA negotiated "the server MUST accept all commands with this bit set (even by ignoring the bit)". */
  @Test
  void fuaOnReadAndFlushIsAcceptedAsTheSpecRequires() throws IOException {
    byte[] data = ExportModel.random(new SplittableRandom(SEED + 2), 100);
    long offset = 31L * MIB;
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      nbd.write(offset, data);
      Reply read = nbd.request(Nbd.CMD_READ, Nbd.CMD_FLAG_FUA, offset, 100, null);
      Reply flush = nbd.request(Nbd.CMD_FLUSH, Nbd.CMD_FLAG_FUA, 0, 0, null);
      assertSoftly(soft -> {
        soft.assertThat(read.error()).as("READ with FUA: %s", read).isZero();
        soft.assertThat(read.data()).as("READ with FUA: data").isEqualTo(data);
        soft.assertThat(flush.error()).as("FLUSH with FUA: %s", flush).isZero();
      });
    }
  }

  @Test
  void trimOfWholePagesReadsZerosAndFreesTheirMemory() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 3);
    ExportModel model = new ExportModel(0, 8 * PAGE);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "trim-whole", true)) {
      byte[] data = ExportModel.random(rnd, 8 * PAGE);
      nbd.write(0, data);
      model.write(0, data);
      EngineStats before = await(fixture.zswapd().stats());
      ExportStats full = before.export("trim-whole").orElseThrow();
      assertThat(full.storedPages()).isEqualTo(8);
      assertThat(full.hugePages()).as("random pages are stored raw").isEqualTo(8);
      assertThat(full.comprDataSize()).isEqualTo(8L * PAGE);

      nbd.trim(2 * PAGE, 3 * PAGE);
      model.zero(2 * PAGE, 3 * PAGE);
      assertThat(nbd.read(0, 8 * PAGE)).as("seed %d", SEED + 3).isEqualTo(model.bytes());
      EngineStats after = await(fixture.zswapd().stats());
      ExportStats trimmed = after.export("trim-whole").orElseThrow();
      assertThat(trimmed.storedPages()).isEqualTo(5);
      assertThat(trimmed.hugePages()).isEqualTo(5);
      assertThat(trimmed.comprDataSize()).isEqualTo(5L * PAGE);
      assertThat(trimmed.invalidatedPages()).isEqualTo(3);
      assertThat(after.pool().handlesInUse()).isEqualTo(before.pool().handlesInUse() - 3);

      nbd.trim(0, 8 * PAGE); // trimming pages already trimmed is harmless
      assertThat(nbd.read(0, 8 * PAGE)).isEqualTo(new byte[8 * PAGE]);
      ExportStats empty = await(fixture.zswapd().stats()).export("trim-whole").orElseThrow();
      assertThat(empty.storedPages()).isZero();
      assertThat(empty.comprDataSize()).isZero();
      assertThat(empty.invalidatedPages()).isEqualTo(8);
    }
  }

  @Test
  void trimOfPartialPagesKeepsTheirBytes() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 4);
    ExportModel model = new ExportModel(0, 4 * PAGE);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "trim-part", true)) {
      byte[] data = ExportModel.random(rnd, 4 * PAGE);
      nbd.write(0, data);
      model.write(0, data);
      nbd.trim(100, 1000); // inside page 0: advisory, nothing to free
      assertThat(nbd.read(0, 4 * PAGE)).as("seed %d", SEED + 4).isEqualTo(model.bytes());
      assertThat(stats("trim-part").storedPages()).isEqualTo(4);

      nbd.trim(PAGE + 100, 2 * PAGE); // [1.02, 3.02) pages: only page 2 is whole
      model.zero(2 * PAGE, PAGE);
      assertThat(nbd.read(0, 4 * PAGE)).as("seed %d", SEED + 4).isEqualTo(model.bytes());
      ExportStats s = stats("trim-part");
      assertThat(s.storedPages()).isEqualTo(3);
      assertThat(s.comprDataSize()).isEqualTo(3L * PAGE);
      assertThat(s.invalidatedPages()).isEqualTo(1);
    }
  }

  @Test
  void writeZeroesReadsZerosAndKeepsSamePagesWithoutCompressedBytes() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 5);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "zeroes", true)) {
      nbd.write(0, ExportModel.random(rnd, 4 * PAGE));
      ExportStats written = stats("zeroes");
      assertThat(written.comprDataSize()).isEqualTo(4L * PAGE);
      assertThat(written.samePages()).isZero();

      nbd.writeZeroes(0, 2 * PAGE, 0);
      nbd.writeZeroes(2 * PAGE, 2 * PAGE, Nbd.CMD_FLAG_NO_HOLE);
      assertThat(nbd.read(0, 4 * PAGE)).isEqualTo(new byte[4 * PAGE]);
      ExportStats zeroed = stats("zeroes");
      assertThat(zeroed.storedPages()).isEqualTo(4);
      assertThat(zeroed.samePages()).isEqualTo(4);
      assertThat(zeroed.comprDataSize()).isZero();

      nbd.writeZeroes(4 * PAGE, 2 * PAGE, 0); // never written before
      assertThat(nbd.read(4 * PAGE, 2 * PAGE)).isEqualTo(new byte[2 * PAGE]);
      ExportStats more = stats("zeroes");
      assertThat(more.samePages()).isEqualTo(6);
      assertThat(more.storedPages()).isEqualTo(6);
      assertThat(more.comprDataSize()).isZero();
    }
  }

  @Test
  void writeZeroesOfPartialPagesZeroesOnlyThoseBytes() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 6);
    ExportModel model = new ExportModel(40L * MIB, 3 * PAGE);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      byte[] data = ExportModel.random(rnd, 3 * PAGE);
      nbd.write(model.base(), data);
      model.write(model.base(), data);
      nbd.writeZeroes(model.base() + 100, 5000, 0);
      model.zero(model.base() + 100, 5000);
      nbd.writeZeroes(model.base() + 3 * PAGE - 1, 1, Nbd.CMD_FLAG_NO_HOLE);
      model.zero(model.base() + 3 * PAGE - 1, 1);
      assertThat(nbd.read(model.base(), 3 * PAGE)).as("seed %d", SEED + 6).isEqualTo(model.bytes());
    }
  }

  @Test
  void twoHundredPipelinedRequestsAreAllAnsweredWithTheModelsData() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 7);
    int readZone = 256 * 1024;
    int slot = 3000; // writes go to disjoint slots, which straddle pages: neighbours patch one page at once
    ExportModel model = new ExportModel(64L * MIB, readZone + 100 * slot);
    long b = model.base();
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      byte[] prefill = ExportModel.random(rnd, readZone);
      nbd.write(b, prefill);
      model.write(b, prefill);

      Map<Long, byte[]> expectedReads = new HashMap<>();
      Set<Long> writes = new HashSet<>();
      List<Long> sent = new ArrayList<>();
      int nextSlot = 0;
      for (int i = 0; i < 200; i++) {
        boolean write = nextSlot < 100 && (rnd.nextBoolean() || 200 - i <= 100 - nextSlot);
        long handle;
        if (write) {
          long offset = b + readZone + (long) nextSlot++ * slot + rnd.nextInt(1000);
          byte[] data = ExportModel.random(rnd, 1 + rnd.nextInt(2000));
          model.write(offset, data);
          handle = nbd.send(Nbd.CMD_WRITE, 0, offset, data.length, data);
          writes.add(handle);
        } else {
          int length = 1 + rnd.nextInt(8192);
          long offset = b + rnd.nextInt(readZone - length);
          handle = nbd.send(Nbd.CMD_READ, 0, offset, length, null);
          expectedReads.put(handle, model.bytes(offset, length));
        }
        sent.add(handle);
      }
      assertThat(writes).hasSize(100);
      List<Long> arrived = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        Reply r = nbd.receive();
        assertThat(r.error()).as("seed %d: %s", SEED + 7, r).isZero();
        if (expectedReads.containsKey(r.handle())) {
          assertThat(r.data()).as("seed %d: %s", SEED + 7, r).isEqualTo(expectedReads.get(r.handle()));
        }
        arrived.add(r.handle());
      }
      assertThat(arrived).as("every request answered exactly once").containsExactlyInAnyOrderElementsOf(sent);
      assertThat(nbd.outstanding()).isZero();
      assertThat(nbd.read(b + readZone, 100 * slot)).as("seed %d", SEED + 7)
          .isEqualTo(model.bytes(b + readZone, 100 * slot));
    }
  }

  /**
   * A 1 MiB READ and a FLUSH in one TCP segment: the connection stage dispatches both from one
   * chunk, the FLUSH (no write in flight) is answered on the spot and the READ only once its 256
   * page loads are back, so the later request's reply must come first.
   */
  @Test
  void aFlushSentRightAfterALargeReadIsAnsweredFirst() throws IOException {
    byte[] data = ExportModel.random(new SplittableRandom(SEED + 8), MIB);
    long offset = 100L * MIB + 5;
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      nbd.write(offset, data);
    }
    try (NbdConnection raw = rawGo(fixture.tcp(), "swap0")) {
      raw.writeAll(ByteBuffer.allocate(2 * NbdRequest.HEADER_SIZE)
          .put(new NbdRequest(0, Nbd.CMD_READ, 1, offset, MIB).encode())
          .put(new NbdRequest(0, Nbd.CMD_FLUSH, 2, 0, 0).encode())
          .flip());
      NbdReply first = NbdReply.decode(ByteBuffer.wrap(raw.readFully(NbdReply.HEADER_SIZE, "first reply")));
      assertThat(first).isEqualTo(new NbdReply(0, 2));
      NbdReply second = NbdReply.decode(ByteBuffer.wrap(raw.readFully(NbdReply.HEADER_SIZE, "second reply")));
      assertThat(second).isEqualTo(new NbdReply(0, 1));
      assertThat(raw.readFully(MIB, "READ data")).as("seed %d", SEED + 8).isEqualTo(data);
    }
  }

  /**
   * A client sends sixteen 1 MiB READs and reads nothing for a while, so the server fills the
   * socket buffer and must wait for the socket to drain (partial writes, then a wait for
   * writability). Meanwhile another connection is served as usual, and once the first client
   * reads, every reply arrives whole and in one piece.
   */
  @ParameterizedTest
  @EnumSource(Transport.class)
  void aClientThatReadsLateStallsOnlyItselfAndGetsEveryByte(Transport transport) throws Exception {
    long seed = SEED + 9 + transport.ordinal();
    SplittableRandom rnd = new SplittableRandom(seed);
    int reads = 16;
    ExportModel model = new ExportModel(200L * MIB + transport.ordinal() * 8L * MIB, 4 * MIB);
    try (NbdClient slow = NbdClient.connectGo(transport.address(fixture), "swap0", true);
         NbdClient other = NbdClient.connectGo(transport.address(fixture), "swap0", true)) {
      for (int i = 0; i < 4; i++) {
        byte[] data = ExportModel.random(rnd, MIB);
        slow.write(model.base() + (long) i * MIB, data);
        model.write(model.base() + (long) i * MIB, data);
      }
      Map<Long, Long> offsets = new HashMap<>();
      for (int i = 0; i < reads; i++) {
        long offset = model.base() + rnd.nextInt(3 * MIB);
        offsets.put(slow.send(Nbd.CMD_READ, 0, offset, MIB, null), offset);
      }
      Thread.sleep(300); // the replies (16 MiB) now fill the socket buffers and wait in the server

      byte[] page = ExportModel.random(rnd, PAGE);
      other.write(model.base() + 4L * MIB, page);
      assertThat(other.read(model.base() + 4L * MIB, PAGE)).as("seed %d", seed).isEqualTo(page);

      for (int i = 0; i < reads; i++) {
        Reply r = slow.receive();
        succeed(r);
        long offset = offsets.remove(r.handle());
        assertThat(r.data()).as("seed %d: %s", seed, r)
            .isEqualTo(model.bytes(offset, MIB));
      }
      assertThat(offsets).as("every READ answered once").isEmpty();
    }
  }

  /** A GO handshake on a bare connection, for tests that must put several requests in one write. */
  private static NbdConnection rawGo(SocketAddress address, String export) throws IOException {
    NbdConnection c = NbdConnection.open(address, Negotiation.DEFAULT_TIMEOUT);
    ClientHandshake.parseGreeting(ByteBuffer.wrap(c.readFully(ClientHandshake.GREETING_SIZE, "greeting")));
    c.writeAll(ByteBuffer.wrap(ClientHandshake.clientFlags(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)));
    c.writeAll(ByteBuffer.wrap(ClientHandshake.go(export)));
    OptionReply r;
    do {
      ByteBuffer header = ByteBuffer.wrap(c.readFully(OptionReply.HEADER_SIZE, "GO reply"));
      int length = (int) OptionReply.peekDataLength(header);
      ByteBuffer whole = ByteBuffer.allocate(OptionReply.HEADER_SIZE + length).put(header.rewind());
      c.readFully(whole, "GO reply data");
      r = OptionReply.decode(whole.flip());
    } while (!r.isFinal());
    assertThat(r.type()).as(r.toString()).isEqualTo(Nbd.REP_ACK);
    return c;
  }

  private static ExportStats stats(String export) {
    return await(fixture.zswapd().stats()).export(export).orElseThrow();
  }

  private static void succeed(Reply r) {
    assertThat(r.error()).as(r.toString()).isZero();
  }
}
