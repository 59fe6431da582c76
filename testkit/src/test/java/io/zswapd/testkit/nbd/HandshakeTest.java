package io.zswapd.testkit.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.zswapd.protocol.nbd.ClientHandshake;
import io.zswapd.protocol.nbd.ExportDetails;
import io.zswapd.protocol.nbd.ExportDetails.BlockSize;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.OptionReply;
import io.zswapd.testkit.NbdFixture;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fixed-newstyle handshake as a client sees it, over TCP and over the Unix socket: every
 * option zswapd supports, the refusals, and what each export advertises.
 */
class HandshakeTest {
  static final long SEED = 0x4A5D_5EEDL;
  static final long GIB = 1L << 30;
  static final long MIB = 1L << 20;
  /** What every writable export advertises (DESIGN.md, "NBD in one paragraph"). */
  static final int WRITABLE_FLAGS = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA
      | Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_CAN_MULTI_CONN;
  static final BlockSize BLOCK_SIZES = new BlockSize(1, 4096, (int) MIB);

  private static NbdFixture fixture;

  @BeforeAll
  static void start() {
    fixture = NbdFixture.start(StandardExports.HOCON);
  }

  @AfterAll
  static void stop() {
    fixture.close();
  }

  static Stream<Arguments> transportsAndNoZeroes() {
    return Stream.of(Transport.values())
        .flatMap(t -> Stream.of(arguments(t, true), arguments(t, false)));
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void greetingOffersFixedNewstyleAndNoZeroes(Transport transport) throws IOException {
    try (Negotiation n = Negotiation.open(transport.address(fixture), true)) {
      assertThat(n.handshakeFlags()).isEqualTo(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
      assertThat(n.clientFlags()).isEqualTo(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
    }
  }

  @ParameterizedTest(name = "{0}, noZeroes={1}")
  @MethodSource("transportsAndNoZeroes")
  void goEntersTransmissionWithSizeFlagsAndBlockSizes(Transport transport, boolean noZeroes) throws IOException {
    try (NbdClient nbd = NbdClient.connectGo(transport.address(fixture), "swap0", noZeroes)) {
      assertThat(nbd.size()).isEqualTo(GIB);
      assertThat(nbd.transmissionFlags()).isEqualTo(WRITABLE_FLAGS);
      assertThat(nbd.export().blockSize()).contains(BLOCK_SIZES);
      assertRoundTrip(nbd, (10 * MIB) + 4096L * (2 * transport.ordinal() + (noZeroes ? 1 : 0)));
      nbd.disconnect();
      assertThat(nbd.awaitServerClose()).isTrue();
    }
  }

  @ParameterizedTest(name = "{0}, noZeroes={1}")
  @MethodSource("transportsAndNoZeroes")
  void exportNameEntersTransmissionWithSizeAndFlags(Transport transport, boolean noZeroes) throws IOException {
    // Without NO_ZEROES the client reads and checks the 124 zero bytes; a wrong count would
    // shift every later reply and fail the round trip.
    try (NbdClient nbd = NbdClient.connectExportName(transport.address(fixture), "tiny", noZeroes)) {
      assertThat(nbd.size()).isEqualTo(MIB);
      assertThat(nbd.transmissionFlags()).isEqualTo(WRITABLE_FLAGS);
      assertThat(nbd.export().blockSize()).isEmpty();
      assertRoundTrip(nbd, 4096L * (2 * transport.ordinal() + (noZeroes ? 1 : 0)));
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void exportNameForAnUnknownExportClosesWithoutAReply(Transport transport) throws IOException {
    try (Negotiation n = Negotiation.open(transport.address(fixture), true)) {
      n.sendRaw(ClientHandshake.exportName("no-such-export"));
      assertThat(n.awaitServerClose()).as("the server must close without sending anything").isTrue();
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void infoAndGoReportTheSameSizeFlagsAndBlockSizes(Transport transport) throws IOException {
    record Expected(String name, long size, int flags) {}
    for (Expected e : List.of(new Expected("swap0", GIB, WRITABLE_FLAGS),
        new Expected("ro", 64 * MIB, WRITABLE_FLAGS | Nbd.FLAG_READ_ONLY),
        new Expected("tiny", MIB, WRITABLE_FLAGS))) {
      try (Negotiation n = Negotiation.open(transport.address(fixture), true)) {
        ExportDetails info = n.info(e.name(), Nbd.INFO_BLOCK_SIZE);
        ExportDetails infoAgain = n.info(e.name());
        try (NbdClient nbd = n.go(e.name(), Nbd.INFO_BLOCK_SIZE)) {
          ExportDetails go = nbd.export();
          assertThat(info.sizeBytes()).as(e.name()).isEqualTo(e.size());
          assertThat(info.transmissionFlags()).as(e.name()).isEqualTo(e.flags());
          assertThat(info.blockSize()).as(e.name()).contains(BLOCK_SIZES);
          assertThat(infoAgain).as("INFO without requests still sends BLOCK_SIZE").isEqualTo(info);
          assertThat(go).as(e.name()).isEqualTo(info);
        }
      }
    }
  }

  @Test
  void infoNamesAndDescribesTheExportWhenAsked() throws IOException {
    try (Negotiation n = Negotiation.open(fixture.tcp(), true)) {
      ExportDetails ro = n.info("ro", Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION);
      assertThat(ro.name()).contains("ro");
      assertThat(ro.description()).contains("zswapd compressed swap (lz4), read-only");
      ExportDetails swap = n.info("swap0", Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION);
      assertThat(swap.name()).contains("swap0");
      assertThat(swap.description()).contains("zswapd compressed swap (lz4)");
      assertThat(n.info("swap0").name()).as("INFO_NAME is sent only when requested").isEmpty();
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void infoForAnUnknownExportAnswersErrUnknownAndNegotiationContinues(Transport transport) throws IOException {
    try (Negotiation n = Negotiation.open(transport.address(fixture), true)) {
      List<OptionReply> replies = n.optionRaw(Nbd.OPT_INFO, ClientHandshake.infoData("no-such-export"));
      assertThat(replies).hasSize(1);
      assertThat(replies.get(0).option()).isEqualTo(Nbd.OPT_INFO);
      assertThat(replies.get(0).type()).isEqualTo(Nbd.REP_ERR_UNKNOWN);
      assertThat(replies.get(0).message()).contains("no-such-export");
      try (NbdClient nbd = n.go("tiny")) {
        assertThat(nbd.size()).isEqualTo(MIB);
        assertRoundTrip(nbd, 100_000 + transport.ordinal() * 8192L);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void goForAnUnknownExportAnswersErrUnknownAndNegotiationContinues(Transport transport) throws IOException {
    try (Negotiation n = Negotiation.open(transport.address(fixture), true)) {
      List<OptionReply> replies = n.optionRaw(Nbd.OPT_GO, ClientHandshake.infoData("no-such-export"));
      assertThat(replies).extracting(OptionReply::type).containsExactly(Nbd.REP_ERR_UNKNOWN);
      try (NbdClient nbd = n.go("swap0")) {
        assertThat(nbd.size()).isEqualTo(GIB);
        assertRoundTrip(nbd, 11 * MIB + transport.ordinal() * 8192L);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void listNamesEveryExportInConfiguredOrder(Transport transport) throws IOException {
    try (Negotiation n = Negotiation.open(transport.address(fixture), true)) {
      List<OptionReply> replies = n.optionRaw(Nbd.OPT_LIST, new byte[0]);
      assertThat(replies).extracting(OptionReply::type)
          .containsExactly(Nbd.REP_SERVER, Nbd.REP_SERVER, Nbd.REP_SERVER, Nbd.REP_ACK);
      assertThat(ClientHandshake.parseListReplies(replies)).containsExactly("swap0", "ro", "tiny");
      assertThat(n.list()).as("LIST can be repeated").containsExactly("swap0", "ro", "tiny");
      try (NbdClient nbd = n.go("ro")) {
        assertThat(nbd.transmissionFlags()).isEqualTo(WRITABLE_FLAGS | Nbd.FLAG_READ_ONLY);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void abortIsAcknowledgedThenTheServerCloses(Transport transport) throws IOException {
    try (Negotiation n = Negotiation.open(transport.address(fixture), true)) {
      n.sendRaw(ClientHandshake.abort());
      OptionReply ack = n.readOptionReply();
      assertThat(ack).isEqualTo(OptionReply.ack(Nbd.OPT_ABORT));
      assertThat(n.awaitServerClose()).isTrue();
    }
    Negotiation n = Negotiation.open(transport.address(fixture), true);
    assertThat(n.abort()).isEqualTo(OptionReply.ack(Nbd.OPT_ABORT));
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void unsupportedOptionsAnswerErrUnsupAndAFollowingGoWorks(Transport transport) throws IOException {
    byte[] metaContextQuery = metaContextData("swap0", "base:allocation");
    record Refused(int option, byte[] data) {}
    try (Negotiation n = Negotiation.open(transport.address(fixture), true)) {
      for (Refused r : List.of(new Refused(Nbd.OPT_STRUCTURED_REPLY, new byte[0]),
          new Refused(Nbd.OPT_STARTTLS, new byte[0]),
          new Refused(Nbd.OPT_SET_META_CONTEXT, metaContextQuery),
          new Refused(Nbd.OPT_LIST_META_CONTEXT, metaContextQuery),
          new Refused(Nbd.OPT_EXTENDED_HEADERS, new byte[0]),
          new Refused(0x4242, new byte[] {1, 2, 3, 4, 5}))) {
        List<OptionReply> replies = n.optionRaw(r.option(), r.data());
        assertThat(replies).as(Nbd.optionName(r.option())).hasSize(1);
        assertThat(replies.get(0).option()).as(Nbd.optionName(r.option())).isEqualTo(r.option());
        assertThat(replies.get(0).type()).as(Nbd.optionName(r.option())).isEqualTo(Nbd.REP_ERR_UNSUP);
      }
      try (NbdClient nbd = n.go("swap0", Nbd.INFO_BLOCK_SIZE)) {
        assertThat(nbd.size()).isEqualTo(GIB);
        assertThat(nbd.export().blockSize()).contains(BLOCK_SIZES);
        assertRoundTrip(nbd, 12 * MIB + transport.ordinal() * 8192L);
      }
    }
  }

  @Test
  void transmissionFlagsAreTheSameForEveryExportExceptReadOnly() throws IOException {
    for (String name : List.of("swap0", "ro", "tiny")) {
      try (Negotiation n = Negotiation.open(fixture.tcp(), true)) {
        ExportDetails e = n.info(name);
        for (int flag : new int[] {Nbd.FLAG_HAS_FLAGS, Nbd.FLAG_SEND_FLUSH, Nbd.FLAG_SEND_FUA, Nbd.FLAG_SEND_TRIM,
            Nbd.FLAG_SEND_WRITE_ZEROES, Nbd.FLAG_CAN_MULTI_CONN}) {
          assertThat(e.hasFlag(flag)).as("%s flag 0x%x", name, flag).isTrue();
        }
        assertThat(e.hasFlag(Nbd.FLAG_ROTATIONAL)).as("%s is not rotational", name).isFalse();
        assertThat(e.hasFlag(Nbd.FLAG_READ_ONLY)).as("%s read-only", name).isEqualTo(name.equals("ro"));
        assertThat(e.transmissionFlags() & ~(WRITABLE_FLAGS | Nbd.FLAG_READ_ONLY))
            .as("%s advertises nothing else", name).isZero();
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void emptyExportNameSelectsTheFirstExport(Transport transport) throws IOException {
    long offset = 13 * MIB + transport.ordinal() * 8192L + 7;
    byte[] data = ExportModel.random(new SplittableRandom(SEED + transport.ordinal()), 5000);
    try (NbdClient byEmptyGo = Negotiation.open(transport.address(fixture), true).go("", Nbd.INFO_NAME)) {
      assertThat(byEmptyGo.export().name()).contains("swap0");
      assertThat(byEmptyGo.size()).isEqualTo(GIB);
      byEmptyGo.write(offset, data);
    }
    try (NbdClient byEmptyExportName = NbdClient.connectExportName(transport.address(fixture), "", true);
         NbdClient byName = NbdClient.connectGo(transport.address(fixture), "swap0", true)) {
      assertThat(byEmptyExportName.size()).isEqualTo(GIB);
      assertThat(byEmptyExportName.read(offset, data.length)).as("seed %d", SEED).isEqualTo(data);
      assertThat(byName.read(offset, data.length)).as("seed %d", SEED).isEqualTo(data);
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void aClientWithoutFixedNewstyleIsStillServed(Transport transport) throws IOException {
    try (Negotiation n = Negotiation.openWithClientFlags(transport.address(fixture), 0);
         NbdClient nbd = n.exportName("tiny")) {
      assertThat(nbd.size()).isEqualTo(MIB);
      assertRoundTrip(nbd, 200_000 + transport.ordinal() * 8192L);
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void malformedHandshakesCloseTheConnection(Transport transport) throws IOException {
    try (Negotiation unknownClientFlag = Negotiation.openWithClientFlags(transport.address(fixture),
        Nbd.FLAG_C_FIXED_NEWSTYLE | 1 << 5)) {
      assertThat(unknownClientFlag.awaitServerClose()).as("unknown client flag").isTrue();
    }
    try (Negotiation badMagic = Negotiation.open(transport.address(fixture), true)) {
      byte[] option = ClientHandshake.list();
      option[0] ^= 0x55;
      badMagic.sendRaw(option);
      assertThat(badMagic.awaitServerClose()).as("bad option magic").isTrue();
    }
    try (Negotiation huge = Negotiation.open(transport.address(fixture), true)) {
      huge.sendRaw(ClientHandshake.optionHeader(Nbd.OPT_GO, 1L << 30));
      assertThat(huge.awaitServerClose()).as("an option declaring 1 GiB of data").isTrue();
    }
    try (NbdClient nbd = NbdClient.connectGo(transport.address(fixture), "tiny", true)) {
      assertRoundTrip(nbd, 300_000 + transport.ordinal() * 8192L);
    }
  }

  /** Writes a seeded page-and-a-bit at {@code offset} and reads it back: the connection is in transmission. */
  private static void assertRoundTrip(NbdClient nbd, long offset) throws IOException {
    byte[] data = ExportModel.random(new SplittableRandom(SEED ^ offset), 4097);
    nbd.write(offset, data);
    assertThat(nbd.read(offset, data.length)).as("seed %d offset %d", SEED, offset).isEqualTo(data);
  }

  /** NBD_OPT_{SET,LIST}_META_CONTEXT data: export name length, name, query count, queries. */
  private static byte[] metaContextData(String export, String query) {
    byte[] name = export.getBytes(StandardCharsets.UTF_8);
    byte[] q = query.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(4 + name.length + 4 + 4 + q.length)
        .putInt(name.length).put(name).putInt(1).putInt(q.length).put(q).array();
  }
}
