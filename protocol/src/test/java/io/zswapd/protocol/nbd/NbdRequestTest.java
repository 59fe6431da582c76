package io.zswapd.protocol.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class NbdRequestTest {

    @Test
    void encodeThenDecodeGivesTheSameRequest() {
        NbdRequest req = new NbdRequest(Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, 0x0123456789abcdefL, 4096L * 7, 8192);
        byte[] wire = req.encode();

        assertThat(wire).hasSize(NbdRequest.HEADER_SIZE);
        ByteBuffer in = ByteBuffer.wrap(wire);
        assertThat(NbdRequest.decode(in)).isEqualTo(req);
        assertThat(in.remaining()).isZero();
    }

    @Test
    void fieldsSitAtTheSpecOffsetsInNetworkOrder() {
        byte[] wire = new NbdRequest(0x0102, 0x0304, 0x1112131415161718L, 0x2122232425262728L, 0x31323334).encode();

        assertThat(wire).containsExactly(
                0x25, 0x60, (byte) 0x95, 0x13, 0x01, 0x02, 0x03, 0x04,
                0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
                0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
                0x31, 0x32, 0x33, 0x34);
    }

    @Test
    void unsignedFieldsSurviveTheRoundTrip() {
        NbdRequest req = new NbdRequest(0xffff, Nbd.CMD_WRITE, -1L, -512L, 0xfffffe00);
        NbdRequest back = NbdRequest.decode(ByteBuffer.wrap(req.encode()));

        assertThat(back.flags()).isEqualTo(0xffff);
        assertThat(back.lengthUnsigned()).isEqualTo(0xfffffe00L);
        assertThat(back.payloadLength()).isEqualTo(0xfffffe00L);
        assertThat(Long.toUnsignedString(back.offset())).isEqualTo("18446744073709551104");
    }

    @Test
    void onlyWriteCarriesAPayload() {
        assertThat(new NbdRequest(0, Nbd.CMD_READ, 1, 0, 4096).payloadLength()).isZero();
        assertThat(new NbdRequest(0, Nbd.CMD_WRITE_ZEROES, 1, 0, 4096).payloadLength()).isZero();
        assertThat(new NbdRequest(0, Nbd.CMD_WRITE, 1, 0, 4096).payloadLength()).isEqualTo(4096);
    }

    @Test
    void decodeLeavesFollowingBytesForTheNextMessage() {
        NbdRequest a = new NbdRequest(0, Nbd.CMD_READ, 1, 0, 512);
        NbdRequest b = new NbdRequest(0, Nbd.CMD_FLUSH, 2, 0, 0);
        ByteBuffer in = ByteBuffer.wrap(HandshakeDriver.concat(a.encode(), b.encode()));

        assertThat(NbdRequest.decode(in)).isEqualTo(a);
        assertThat(in.position()).isEqualTo(28);
        assertThat(NbdRequest.decode(in)).isEqualTo(b);
    }

    @Test
    void badMagicIsAProtocolErrorAndConsumesNothing() {
        byte[] wire = new NbdRequest(0, Nbd.CMD_READ, 1, 0, 512).encode();
        wire[3] ^= 1;
        ByteBuffer in = ByteBuffer.wrap(wire);

        assertThatThrownBy(() -> NbdRequest.decode(in))
                .isInstanceOf(NbdProtocolException.class)
                .hasMessageContaining("0x25609512").hasMessageContaining("0x25609513");
        assertThat(in.position()).isZero();
    }

    @Test
    void aReplyMagicWhereARequestShouldBeIsRejected() {
        ByteBuffer in = ByteBuffer.allocate(28).putInt(Nbd.SIMPLE_REPLY_MAGIC).position(0);

        assertThatThrownBy(() -> NbdRequest.decode(in)).isInstanceOf(NbdProtocolException.class);
    }

    @Test
    void aShortBufferIsRefusedWithoutConsuming() {
        ByteBuffer in = ByteBuffer.wrap(new NbdRequest(0, Nbd.CMD_READ, 1, 0, 512).encode(), 0, 27);

        assertThatThrownBy(() -> NbdRequest.decode(in)).isInstanceOf(IllegalArgumentException.class);
        assertThat(in.position()).isZero();
    }

    @Test
    void flagsAndTypeMustFitSixteenBits() {
        assertThatThrownBy(() -> new NbdRequest(0x10000, 0, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NbdRequest(0, -1, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void toStringNamesTheCommand() {
        assertThat(new NbdRequest(0, Nbd.CMD_TRIM, 9, 4096, 8192).toString())
                .contains("NBD_CMD_TRIM").contains("handle=9").contains("length=8192");
    }
}
