package io.zswapd.protocol.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class NbdReplyTest {

    @Test
    void encodeThenDecodeGivesTheSameReply() {
        NbdReply reply = new NbdReply(Nbd.ENOSPC, 0xfedcba9876543210L);
        ByteBuffer in = ByteBuffer.wrap(reply.encode());

        assertThat(in.remaining()).isEqualTo(NbdReply.HEADER_SIZE);
        assertThat(NbdReply.decode(in)).isEqualTo(reply);
        assertThat(in.remaining()).isZero();
    }

    @Test
    void fieldsSitAtTheSpecOffsets() {
        byte[] wire = new NbdReply(22, 0x0102030405060708L).encode();

        assertThat(wire).containsExactly(0x67, 0x44, 0x66, (byte) 0x98, 0, 0, 0, 22, 1, 2, 3, 4, 5, 6, 7, 8);
    }

    @Test
    void encodeIntoABufferLeavesRoomForReadData() {
        byte[] data = {1, 2, 3};
        ByteBuffer out = ByteBuffer.allocate(NbdReply.HEADER_SIZE + data.length);
        NbdReply.ok(5).encode(out).put(data);
        out.flip();

        assertThat(NbdReply.decode(out).isOk()).isTrue();
        assertThat(out.get()).isEqualTo((byte) 1);
    }

    @Test
    void aStructuredReplyIsRejectedBecauseItWasNeverNegotiated() {
        ByteBuffer in = ByteBuffer.allocate(16).putInt(Nbd.STRUCTURED_REPLY_MAGIC).position(0);

        assertThatThrownBy(() -> NbdReply.decode(in))
                .isInstanceOf(NbdProtocolException.class).hasMessageContaining("structured");
        assertThat(in.position()).isZero();
    }

    @Test
    void toStringNamesTheError() {
        assertThat(new NbdReply(Nbd.EINVAL, 3).toString()).contains("NBD_EINVAL").contains("handle=3");
    }
}
