package io.zswapd.protocol.nbd;

import static io.zswapd.protocol.nbd.HandshakeDriver.assertReplyTypes;
import static io.zswapd.protocol.nbd.HandshakeDriver.concat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.protocol.nbd.ServerHandshake.State;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The handshake of a server that requires TLS (qemu-nbd's and nbdkit's --tls=require): nothing
 * but STARTTLS and ABORT is served before TLS, and after STARTTLS the bytes that follow are left
 * for the caller's TLS engine.
 */
class ServerHandshakeTlsTest {
    final HandshakeDriver client = new HandshakeDriver(new ServerHandshake(ServerHandshakeTest.CATALOG, true));

    private void negotiating() {
        assertThat(client.send(ServerHandshakeTest.FIXED).state()).isEqualTo(State.OPTIONS);
    }

    @ParameterizedTest
    @ValueSource(ints = {Nbd.OPT_LIST, Nbd.OPT_GO, Nbd.OPT_INFO, Nbd.OPT_STRUCTURED_REPLY, 12})
    void everyOptionBeforeStarttlsIsAnsweredTlsRequired(int option) {
        negotiating();
        byte[] data = option == Nbd.OPT_GO || option == Nbd.OPT_INFO ? ClientHandshake.infoData("swap0", 0) : new byte[0];
        ServerHandshake.Step step = client.send(ClientHandshake.option(option, data));

        List<OptionReply> replies = client.takeReplies();
        assertThat(replies).singleElement().satisfies(r -> {
            assertThat(r.option()).isEqualTo(option);
            assertThat(r.type()).isEqualTo(Nbd.REP_ERR_TLS_REQD);
        });
        assertThat(step.state()).isEqualTo(State.OPTIONS);
        assertThat(client.server.tlsActive()).isFalse();
    }

    @Test
    void exportNameBeforeStarttlsClosesWithoutAnExportSize() {
        negotiating();
        ServerHandshake.Step step = client.send(ClientHandshake.exportName("swap0"));

        assertThat(step.state()).isEqualTo(State.CLOSED);
        assertThat(step.output()).isEmpty();
        assertThat(step.closeReason()).hasValueSatisfying(r -> assertThat(r).contains("requires TLS"));
    }

    @Test
    void abortIsStillServedBeforeTls() {
        negotiating();
        ServerHandshake.Step step = client.send(ClientHandshake.abort());

        assertReplyTypes(client.takeReplies(), Nbd.OPT_ABORT, Nbd.REP_ACK);
        assertThat(step.state()).isEqualTo(State.CLOSED);
    }

    @Test
    void starttlsIsAcknowledgedAndTheBytesAfterItAreLeftForTls() {
        negotiating();
        byte[] clientHello = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
        ServerHandshake.Step step = client.send(concat(ClientHandshake.option(Nbd.OPT_STARTTLS, new byte[0]), clientHello));

        assertReplyTypes(client.takeReplies(), Nbd.OPT_STARTTLS, Nbd.REP_ACK);
        assertThat(step.state()).isEqualTo(State.STARTING_TLS);
        assertThat(client.pending.remaining()).as("the TLS record is not read as an option").isEqualTo(clientHello.length);
        assertThat(client.server.onBytes(client.pending).output()).isEmpty();
        assertThat(client.pending.remaining()).isEqualTo(clientHello.length);
    }

    @Test
    void afterTlsStartedTheExportIsServedAndASecondStarttlsIsInvalid() {
        negotiating();
        client.send(ClientHandshake.option(Nbd.OPT_STARTTLS, new byte[0]));
        client.takeOutput();
        client.server.tlsStarted();

        assertThat(client.server.tlsActive()).isTrue();
        client.send(ClientHandshake.option(Nbd.OPT_STARTTLS, new byte[0]));
        assertReplyTypes(client.takeReplies(), Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID);
        ServerHandshake.Step step = client.send(ClientHandshake.go("swap0"));
        assertThat(step.state()).isEqualTo(State.TRANSMISSION);
        assertThat(step.selected()).contains(ServerHandshakeTest.SWAP);
    }

    @Test
    void starttlsWithDataIsInvalidAndTlsDoesNotStart() {
        negotiating();
        ServerHandshake.Step step = client.send(ClientHandshake.option(Nbd.OPT_STARTTLS, new byte[] {1}));

        assertReplyTypes(client.takeReplies(), Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID);
        assertThat(step.state()).isEqualTo(State.OPTIONS);
    }

    @Test
    void tlsStartedOutsideStartingTlsIsABug() {
        negotiating();
        assertThatThrownBy(client.server::tlsStarted).isInstanceOf(IllegalStateException.class);
    }
}
