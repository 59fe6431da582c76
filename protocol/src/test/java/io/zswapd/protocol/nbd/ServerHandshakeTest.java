package io.zswapd.protocol.nbd;

import static io.zswapd.protocol.nbd.HandshakeDriver.assertReplyTypes;
import static io.zswapd.protocol.nbd.HandshakeDriver.concat;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.protocol.nbd.ServerHandshake.State;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ServerHandshakeTest {
    static final int SWAP_FLAGS = Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_TRIM
            | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_CAN_MULTI_CONN;
    static final ExportInfo SWAP = ExportInfo.of("swap0", 3L << 30, SWAP_FLAGS).withDescription("compressed swap");
    static final ExportInfo SCRATCH = ExportInfo.of("scratch", 64 << 20, Nbd.FLAG_READ_ONLY).withBlockSizes(512, 4096, 1 << 20);
    static final ExportCatalog CATALOG = ExportCatalog.of(SWAP, SCRATCH);
    static final byte[] FIXED = ClientHandshake.clientFlags(Nbd.FLAG_C_FIXED_NEWSTYLE);
    static final byte[] FIXED_NO_ZEROES = ClientHandshake.clientFlags(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);

    final HandshakeDriver client = new HandshakeDriver(CATALOG);

    private HandshakeDriver negotiating(byte[] clientFlags) {
        assertThat(client.send(clientFlags).state()).isEqualTo(State.OPTIONS);
        assertThat(client.takeOutput()).isEmpty();
        return client;
    }

    // ---- greeting and client flags -------------------------------------------------------------

    @Test
    void greetingIsBothMagicsThenFixedNewstyleAndNoZeroes() {
        byte[] greeting = client.server.greeting();

        assertThat(greeting).hasSize(18);
        assertThat(ClientHandshake.parseGreeting(ByteBuffer.wrap(greeting)))
                .isEqualTo(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
        assertThat(client.server.state()).isEqualTo(State.AWAITING_CLIENT_FLAGS);
    }

    @Test
    void anUnknownClientFlagClosesTheConnection() {
        ServerHandshake.Step step = client.send(ClientHandshake.clientFlags(Nbd.FLAG_C_FIXED_NEWSTYLE | 1 << 2));

        assertThat(step.state()).isEqualTo(State.CLOSED);
        assertThat(step.output()).isEmpty();
        assertThat(step.closeReason()).hasValueSatisfying(r -> assertThat(r).contains("0x00000005"));
    }

    @Test
    void aClientWithoutFixedNewstyleIsStillServed() {
        negotiating(ClientHandshake.clientFlags(0));
        ServerHandshake.Step step = client.send(ClientHandshake.exportName("swap0"));

        assertThat(client.server.clientFixedNewstyle()).isFalse();
        assertThat(step.state()).isEqualTo(State.TRANSMISSION);
        assertThat(client.takeOutput()).hasSize(10 + 124);
    }

    // ---- NBD_OPT_EXPORT_NAME -------------------------------------------------------------------

    @Test
    void exportNameRepliesSizeFlagsAndTheZeroesThenEntersTransmission() {
        negotiating(FIXED);
        ServerHandshake.Step step = client.send(ClientHandshake.exportName("swap0"));

        ByteBuffer out = ByteBuffer.wrap(client.takeOutput());
        assertThat(out.remaining()).isEqualTo(134);
        ExportDetails d = ClientHandshake.parseExportNameReply(out);
        assertThat(d.sizeBytes()).isEqualTo(3L << 30);
        assertThat(d.transmissionFlags()).isEqualTo(SWAP_FLAGS | Nbd.FLAG_HAS_FLAGS);
        while (out.hasRemaining()) assertThat(out.get()).isZero();
        assertThat(step.state()).isEqualTo(State.TRANSMISSION);
        assertThat(step.selected()).contains(SWAP);
        assertThat(step.closeReason()).isEmpty();
    }

    @Test
    void exportNameWithNoZeroesSendsOnlySizeAndFlags() {
        negotiating(FIXED_NO_ZEROES);
        ServerHandshake.Step step = client.send(ClientHandshake.exportName("scratch"));

        byte[] out = client.takeOutput();
        assertThat(out).hasSize(10);
        assertThat(ClientHandshake.parseExportNameReply(ByteBuffer.wrap(out)).transmissionFlags())
                .isEqualTo(Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_READ_ONLY);
        assertThat(step.selected()).contains(SCRATCH);
    }

    @Test
    void exportNameForAnUnknownExportClosesWithoutAReply() {
        negotiating(FIXED);
        ServerHandshake.Step step = client.send(ClientHandshake.exportName("nope"));

        assertThat(step.output()).isEmpty();
        assertThat(step.state()).isEqualTo(State.CLOSED);
        assertThat(step.selected()).isEmpty();
        assertThat(step.closeReason()).hasValueSatisfying(r -> assertThat(r).contains("'nope'"));
    }

    @Test
    void theEmptyExportNameSelectsTheFirstExport() {
        negotiating(FIXED_NO_ZEROES);

        assertThat(client.send(ClientHandshake.exportName("")).selected()).contains(SWAP);
    }

    @Test
    void anExportNameLongerThanTheSpecLimitCloses() {
        negotiating(FIXED);

        ServerHandshake.Step step = client.send(ClientHandshake.exportName("x".repeat(4097)));
        assertThat(step.state()).isEqualTo(State.CLOSED);
        assertThat(step.output()).isEmpty();
    }

    // ---- NBD_OPT_GO / NBD_OPT_INFO -------------------------------------------------------------

    @Test
    void goRepliesExportAndBlockSizeThenAckAndEntersTransmissionWithoutZeroes() {
        negotiating(FIXED);
        ServerHandshake.Step step = client.send(ClientHandshake.go("scratch"));

        List<OptionReply> replies = client.takeReplies(); // fails if any padding followed the ACK
        assertReplyTypes(replies, Nbd.OPT_GO, Nbd.REP_INFO, Nbd.REP_INFO, Nbd.REP_ACK);
        ExportDetails d = ClientHandshake.parseInfoReplies(replies);
        assertThat(d.sizeBytes()).isEqualTo(64 << 20);
        assertThat(d.transmissionFlags()).isEqualTo(Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_READ_ONLY);
        assertThat(d.blockSize()).contains(new ExportDetails.BlockSize(512, 4096, 1 << 20));
        assertThat(d.name()).isEmpty();
        assertThat(d.description()).isEmpty();
        assertThat(step.state()).isEqualTo(State.TRANSMISSION);
        assertThat(step.selected()).contains(SCRATCH);
    }

    @Test
    void infoAnswersLikeGoButStaysInOptionsAndAFollowingGoWorks() {
        negotiating(FIXED);
        ServerHandshake.Step info = client.send(ClientHandshake.info("swap0", Nbd.INFO_BLOCK_SIZE));
        List<OptionReply> infoReplies = client.takeReplies();
        ServerHandshake.Step go = client.send(ClientHandshake.go("swap0", Nbd.INFO_BLOCK_SIZE));
        List<OptionReply> goReplies = client.takeReplies();

        assertThat(info.state()).isEqualTo(State.OPTIONS);
        assertThat(info.selected()).isEmpty();
        assertThat(go.state()).isEqualTo(State.TRANSMISSION);
        // "the server MUST reply with the same set of information": identical apart from the option number
        assertThat(infoReplies).extracting(OptionReply::type).containsExactlyElementsOf(
                goReplies.stream().map(OptionReply::type).toList());
        assertThat(infoReplies).extracting(r -> HexFormat.of().formatHex(r.data())).containsExactlyElementsOf(
                goReplies.stream().map(r -> HexFormat.of().formatHex(r.data())).toList());
        assertThat(ClientHandshake.parseInfoReplies(infoReplies)).isEqualTo(ClientHandshake.parseInfoReplies(goReplies));
    }

    @Test
    void exportNameInfoAndGoReportTheSameSizeAndFlags() {
        HandshakeDriver viaExportName = new HandshakeDriver(CATALOG);
        viaExportName.send(concat(FIXED_NO_ZEROES, ClientHandshake.exportName("swap0")));
        ExportDetails old = ClientHandshake.parseExportNameReply(ByteBuffer.wrap(viaExportName.takeOutput()));

        negotiating(FIXED);
        client.send(ClientHandshake.info("swap0"));
        ExportDetails info = ClientHandshake.parseInfoReplies(client.takeReplies());
        client.send(ClientHandshake.go("swap0"));
        ExportDetails go = ClientHandshake.parseInfoReplies(client.takeReplies());

        assertThat(List.of(info.sizeBytes(), go.sizeBytes())).containsOnly(old.sizeBytes());
        assertThat(List.of(info.transmissionFlags(), go.transmissionFlags())).containsOnly(old.transmissionFlags());
    }

    @Test
    void requestedNameAndDescriptionAreSentAndTheNameIsCanonical() {
        negotiating(FIXED);
        client.send(ClientHandshake.info("", Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION));

        List<OptionReply> replies = client.takeReplies();
        assertReplyTypes(replies, Nbd.OPT_INFO, Nbd.REP_INFO, Nbd.REP_INFO, Nbd.REP_INFO, Nbd.REP_INFO, Nbd.REP_ACK);
        ExportDetails d = ClientHandshake.parseInfoReplies(replies);
        assertThat(d.name()).contains("swap0");
        assertThat(d.description()).contains("compressed swap");
        assertThat(d.sizeBytes()).isEqualTo(3L << 30);
    }

    @Test
    void aRequestedDescriptionThatDoesNotExistIsOmittedAndUnknownRequestsAreIgnored() {
        negotiating(FIXED);
        client.send(ClientHandshake.info("scratch", Nbd.INFO_DESCRIPTION, 0x7777));

        List<OptionReply> replies = client.takeReplies();
        assertReplyTypes(replies, Nbd.OPT_INFO, Nbd.REP_INFO, Nbd.REP_INFO, Nbd.REP_ACK);
        assertThat(ClientHandshake.parseInfoReplies(replies).description()).isEmpty();
    }

    @Test
    void goForAnUnknownExportIsErrUnknownAndNegotiationGoesOn() {
        negotiating(FIXED);
        ServerHandshake.Step step = client.send(ClientHandshake.go("nope"));

        List<OptionReply> replies = client.takeReplies();
        assertReplyTypes(replies, Nbd.OPT_GO, Nbd.REP_ERR_UNKNOWN);
        assertThat(replies.get(0).message()).contains("'nope'");
        assertThat(step.state()).isEqualTo(State.OPTIONS);
        assertThat(client.send(ClientHandshake.go("swap0")).selected()).contains(SWAP);
    }

    @Test
    void infoWithTooLittleDataIsInvalid() {
        negotiating(FIXED);
        client.send(ClientHandshake.option(Nbd.OPT_INFO, new byte[5]));

        assertReplyTypes(client.takeReplies(), Nbd.OPT_INFO, Nbd.REP_ERR_INVALID);
        assertThat(client.server.state()).isEqualTo(State.OPTIONS);
    }

    @Test
    void goWhoseNameLengthOverrunsTheDataIsInvalid() {
        negotiating(FIXED);
        byte[] data = ByteBuffer.allocate(10).putInt(5).put("abcd".getBytes()).putShort((short) 0).array();
        ServerHandshake.Step step = client.send(ClientHandshake.option(Nbd.OPT_GO, data));

        assertReplyTypes(client.takeReplies(), Nbd.OPT_GO, Nbd.REP_ERR_INVALID);
        assertThat(step.state()).isEqualTo(State.OPTIONS);
    }

    @Test
    void goWhoseRequestCountDisagreesWithTheDataIsInvalidThenAGoodGoWorks() {
        negotiating(FIXED);
        byte[] good = ClientHandshake.infoData("swap0", Nbd.INFO_NAME);
        byte[] extraByte = concat(good, new byte[] {0});
        client.send(ClientHandshake.option(Nbd.OPT_GO, extraByte));

        assertReplyTypes(client.takeReplies(), Nbd.OPT_GO, Nbd.REP_ERR_INVALID);
        assertThat(client.send(ClientHandshake.option(Nbd.OPT_GO, good)).state()).isEqualTo(State.TRANSMISSION);
    }

    @Test
    void goWithANameThatIsNotUtf8IsInvalid() {
        negotiating(FIXED);
        byte[] data = ByteBuffer.allocate(8).putInt(2).put((byte) 0xc3).put((byte) 0x28).putShort((short) 0).array();
        client.send(ClientHandshake.option(Nbd.OPT_GO, data));

        assertReplyTypes(client.takeReplies(), Nbd.OPT_GO, Nbd.REP_ERR_INVALID);
    }

    // ---- NBD_OPT_LIST, NBD_OPT_ABORT -----------------------------------------------------------

    @Test
    void listSendsOneServerReplyPerExportThenAck() {
        negotiating(FIXED);
        ServerHandshake.Step step = client.send(ClientHandshake.list());

        List<OptionReply> replies = client.takeReplies();
        assertReplyTypes(replies, Nbd.OPT_LIST, Nbd.REP_SERVER, Nbd.REP_SERVER, Nbd.REP_ACK);
        assertThat(ClientHandshake.parseListReplies(replies)).containsExactly("swap0", "scratch");
        assertThat(new String(replies.get(0).data())).endsWith("swap0compressed swap");
        assertThat(step.state()).isEqualTo(State.OPTIONS);
    }

    @Test
    void listWithDataIsInvalid() {
        negotiating(FIXED);
        client.send(ClientHandshake.option(Nbd.OPT_LIST, new byte[] {1, 2, 3}));

        assertReplyTypes(client.takeReplies(), Nbd.OPT_LIST, Nbd.REP_ERR_INVALID);
        assertThat(client.server.state()).isEqualTo(State.OPTIONS);
    }

    @Test
    void abortIsAcknowledgedThenTheConnectionCloses() {
        negotiating(FIXED);
        ServerHandshake.Step step = client.send(ClientHandshake.abort());

        assertReplyTypes(client.takeReplies(), Nbd.OPT_ABORT, Nbd.REP_ACK);
        assertThat(step.state()).isEqualTo(State.CLOSED);
        assertThat(step.closeReason()).hasValueSatisfying(r -> assertThat(r).contains("ABORT"));
    }

    // ---- everything else -----------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(ints = {Nbd.OPT_STARTTLS, Nbd.OPT_STRUCTURED_REPLY, Nbd.OPT_LIST_META_CONTEXT,
            Nbd.OPT_SET_META_CONTEXT, Nbd.OPT_EXTENDED_HEADERS, Nbd.OPT_PEEK_EXPORT, 0, 12, 0x7fffffff, -1})
    void otherOptionsAreUnsupportedAndTheirDataIsSkippedSoAFollowingGoWorks(int option) {
        negotiating(FIXED);
        byte[] data = option == Nbd.OPT_SET_META_CONTEXT || option == Nbd.OPT_LIST_META_CONTEXT
                ? ClientHandshake.infoData("swap0", 0, 1, 0x6261, 0x7365) // some bytes that look like a query
                : new byte[0];
        ServerHandshake.Step step = client.send(concat(ClientHandshake.option(option, data), ClientHandshake.go("swap0")));

        List<OptionReply> replies = client.takeReplies();
        assertThat(replies.get(0).option()).isEqualTo(option);
        assertThat(replies.get(0).type()).isEqualTo(Nbd.REP_ERR_UNSUP);
        assertThat(replies.get(0).message()).contains("does not support");
        assertThat(replies.subList(1, replies.size())).extracting(OptionReply::type)
                .containsExactly(Nbd.REP_INFO, Nbd.REP_INFO, Nbd.REP_ACK);
        assertThat(step.state()).isEqualTo(State.TRANSMISSION);
    }

    @Test
    void aBadOptionMagicCloses() {
        negotiating(FIXED);
        byte[] opt = ClientHandshake.list();
        opt[0] = 'X';
        ServerHandshake.Step step = client.send(opt);

        assertThat(step.state()).isEqualTo(State.CLOSED);
        assertThat(step.output()).isEmpty();
        assertThat(step.closeReason()).hasValueSatisfying(r -> assertThat(r).contains("magic"));
    }

    @Test
    void anOversizedOptionClosesAsSoonAsItsHeaderArrives() {
        negotiating(FIXED);
        ServerHandshake.Step step = client.send(
                ClientHandshake.optionHeader(Nbd.OPT_STRUCTURED_REPLY, ServerHandshake.MAX_OPTION_DATA + 1L));

        assertThat(step.state()).isEqualTo(State.CLOSED);
        assertThat(step.output()).isEmpty();
        assertThat(step.closeReason()).hasValueSatisfying(r -> assertThat(r)
                .contains("NBD_OPT_STRUCTURED_REPLY").contains(Integer.toString(ServerHandshake.MAX_OPTION_DATA)));
    }

    @Test
    void aFourGibibyteOptionLengthIsNotMistakenForANegativeOne() {
        negotiating(FIXED);

        assertThat(client.send(ClientHandshake.optionHeader(Nbd.OPT_GO, 0xffffffffL)).state()).isEqualTo(State.CLOSED);
    }

    @Test
    void anOptionAtTheLimitIsWaitedForThenAnswered() {
        negotiating(FIXED);
        byte[] header = ClientHandshake.optionHeader(Nbd.OPT_STRUCTURED_REPLY, ServerHandshake.MAX_OPTION_DATA);
        ServerHandshake.Step waiting = client.send(header);

        assertThat(waiting.state()).isEqualTo(State.OPTIONS);
        assertThat(client.pending.remaining()).isEqualTo(16); // nothing consumed until the data is complete
        client.send(new byte[ServerHandshake.MAX_OPTION_DATA]);
        assertReplyTypes(client.takeReplies(), Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ERR_UNSUP);
        assertThat(client.pending.remaining()).isZero();
    }

    // ---- resumability --------------------------------------------------------------------------

    @Test
    void aConversationFedByteByByteGetsTheSameAnswersAsOneFedAtOnce() {
        byte[] conversation = concat(FIXED_NO_ZEROES,
                ClientHandshake.option(Nbd.OPT_STARTTLS, new byte[0]),
                ClientHandshake.list(),
                ClientHandshake.info("nope"),
                ClientHandshake.info("scratch", Nbd.INFO_NAME, Nbd.INFO_BLOCK_SIZE),
                ClientHandshake.go("swap0", Nbd.INFO_DESCRIPTION));

        HandshakeDriver atOnce = new HandshakeDriver(CATALOG);
        ServerHandshake.Step whole = atOnce.send(conversation);
        ServerHandshake.Step last = client.sendByteByByte(conversation);

        assertThat(client.takeOutput()).isEqualTo(atOnce.takeOutput()).isNotEmpty();
        assertThat(last.state()).isEqualTo(whole.state()).isEqualTo(State.TRANSMISSION);
        assertThat(last.selected()).isEqualTo(whole.selected()).contains(SWAP);
    }

    @Test
    void noBytesAreConsumedUntilAMessageIsComplete() {
        byte[] flagsAndGo = concat(FIXED, ClientHandshake.go("swap0"));
        for (int i = 0; i < 3; i++) {
            client.send(new byte[] {flagsAndGo[i]});
            assertThat(client.pending.remaining()).isEqualTo(i + 1);
        }
        client.send(new byte[] {flagsAndGo[3]});
        assertThat(client.pending.remaining()).isZero();
        for (int i = 4; i < flagsAndGo.length - 1; i++) {
            assertThat(client.send(new byte[] {flagsAndGo[i]}).output()).isEmpty();
        }
        assertThat(client.pending.remaining()).isEqualTo(flagsAndGo.length - 5);
        assertThat(client.send(new byte[] {flagsAndGo[flagsAndGo.length - 1]}).state()).isEqualTo(State.TRANSMISSION);
    }

    @Test
    void requestsPipelinedAfterGoAreLeftForTheTransmissionPhase() {
        NbdRequest read = new NbdRequest(0, Nbd.CMD_READ, 42, 0, 4096);
        ServerHandshake.Step step = client.send(concat(FIXED, ClientHandshake.go("swap0"), read.encode()));

        assertThat(step.state()).isEqualTo(State.TRANSMISSION);
        assertThat(client.pending.remaining()).isEqualTo(NbdRequest.HEADER_SIZE);
        assertThat(NbdRequest.decode(client.pending)).isEqualTo(read);
    }

    @Test
    void afterTheHandshakeEndsNothingMoreIsConsumedOrAnswered() {
        client.send(concat(FIXED, ClientHandshake.abort()));
        client.takeOutput();
        ServerHandshake.Step step = client.send(ClientHandshake.list());

        assertThat(step.output()).isEmpty();
        assertThat(step.state()).isEqualTo(State.CLOSED);
        assertThat(client.pending.remaining()).isEqualTo(16);
    }
}
