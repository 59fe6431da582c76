package io.zswapd.protocol.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NbdTest {

    @Test
    void errorReplyTypesAreTwoToTheThirtyFirstPlusTheirNumber() {
        assertThat(Integer.toUnsignedLong(Nbd.REP_ERR_UNSUP)).isEqualTo((1L << 31) + 1);
        assertThat(Integer.toUnsignedLong(Nbd.REP_ERR_TOO_BIG)).isEqualTo((1L << 31) + 9);
        assertThat(Integer.toUnsignedLong(Nbd.REP_ERR_EXT_HEADER_REQD)).isEqualTo((1L << 31) + 10);
        assertThat(Nbd.isErrorReply(Nbd.REP_ERR_BLOCK_SIZE_REQD)).isTrue();
        assertThat(Nbd.isErrorReply(Nbd.REP_ACK)).isFalse();
    }

    @Test
    void magicsSpellTheirAsciiNames() {
        assertThat(new String(java.nio.ByteBuffer.allocate(8).putLong(Nbd.NBDMAGIC).array())).isEqualTo("NBDMAGIC");
        assertThat(new String(java.nio.ByteBuffer.allocate(8).putLong(Nbd.IHAVEOPT).array())).isEqualTo("IHAVEOPT");
    }

    @Test
    void namesCoverKnownAndUnknownNumbers() {
        assertThat(Nbd.commandName(Nbd.CMD_WRITE_ZEROES)).isEqualTo("NBD_CMD_WRITE_ZEROES");
        assertThat(Nbd.commandName(77)).isEqualTo("NBD_CMD_UNKNOWN(77)");
        assertThat(Nbd.errorName(Nbd.ESHUTDOWN)).isEqualTo("NBD_ESHUTDOWN");
        assertThat(Nbd.errorName(0)).isEqualTo("OK");
        assertThat(Nbd.errorName(2)).isEqualTo("NBD_E_UNKNOWN(2)");
        assertThat(Nbd.optionName(Nbd.OPT_EXTENDED_HEADERS)).isEqualTo("NBD_OPT_EXTENDED_HEADERS");
        assertThat(Nbd.optionName(-1)).isEqualTo("NBD_OPT_UNKNOWN(4294967295)");
        assertThat(Nbd.replyTypeName(Nbd.REP_ERR_UNKNOWN)).isEqualTo("NBD_REP_ERR_UNKNOWN");
    }
}
