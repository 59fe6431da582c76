package io.zswapd.protocol.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClientHandshakeTest {

    @Test
    void anOldstyleGreetingIsNamedAsSuch() {
        ByteBuffer oldstyle = ByteBuffer.allocate(18).putLong(Nbd.NBDMAGIC).putLong(Nbd.CLISERV_MAGIC).flip();

        assertThatThrownBy(() -> ClientHandshake.parseGreeting(oldstyle))
                .isInstanceOf(NbdProtocolException.class).hasMessageContaining("oldstyle");
    }

    @Test
    void infoDataIsNameLengthNameCountAndRequests() {
        byte[] data = ClientHandshake.infoData("ab", Nbd.INFO_NAME, Nbd.INFO_BLOCK_SIZE);

        assertThat(data).containsExactly(0, 0, 0, 2, 'a', 'b', 0, 2, 0, 1, 0, 3);
    }

    @Test
    void infoRepliesWithoutAFinalAckAreRefused() {
        List<OptionReply> replies = List.of(OptionReply.error(Nbd.OPT_GO, Nbd.REP_ERR_UNKNOWN, "no"));

        assertThatThrownBy(() -> ClientHandshake.parseInfoReplies(replies)).isInstanceOf(NbdProtocolException.class);
    }

    @Test
    void anAckWithoutInfoExportIsRefused() {
        assertThatThrownBy(() -> ClientHandshake.parseInfoReplies(List.of(OptionReply.ack(Nbd.OPT_GO))))
                .hasMessageContaining("NBD_INFO_EXPORT");
    }

    @Test
    void anInfoExportOfTheWrongLengthIsRefused() {
        OptionReply shortExport = new OptionReply(Nbd.OPT_GO, Nbd.REP_INFO, new byte[] {0, 0, 1});

        assertThatThrownBy(() -> ClientHandshake.parseInfoReplies(List.of(shortExport, OptionReply.ack(Nbd.OPT_GO))))
                .hasMessageContaining("12 bytes");
    }

    @Test
    void optionReplyRoundTripsAndErrorMessagesAreCutToTheStringLimit() {
        OptionReply r = OptionReply.error(Nbd.OPT_INFO, Nbd.REP_ERR_INVALID, "x".repeat(5000));
        ByteBuffer wire = ByteBuffer.wrap(r.encode());

        assertThat(r.data()).hasSize(Nbd.MAX_STRING_BYTES);
        assertThat(OptionReply.peekDataLength(wire)).isEqualTo(Nbd.MAX_STRING_BYTES);
        assertThat(OptionReply.decode(wire)).isEqualTo(r);
        assertThat(r.isFinal()).isTrue();
        assertThat(r.toString()).startsWith("NBD_REP_ERR_INVALID to NBD_OPT_INFO");
    }

    @Test
    void anIncompleteOptionReplyIsNotConsumed() {
        ByteBuffer partial = ByteBuffer.wrap(new OptionReply(Nbd.OPT_LIST, Nbd.REP_SERVER, new byte[8]).encode(), 0, 27);

        assertThatThrownBy(() -> OptionReply.decode(partial)).isInstanceOf(IllegalArgumentException.class);
        assertThat(partial.position()).isZero();
    }
}
