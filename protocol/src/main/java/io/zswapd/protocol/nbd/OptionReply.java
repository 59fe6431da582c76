/*
 * A fixed-newstyle option reply, server -> client, big-endian:
 *
 *   offset  size  field
 *   ------  ----  -----------------------------------------------
 *        0     8  magic 0x3e889045565a9 (option reply magic)
 *        8     4  option the client sent
 *       12     4  reply type (NBD_REP_*; bit 31 set = error)
 *       16     4  data length (unsigned)
 *       20     n  data
 *
 * Data by reply type:
 *   NBD_REP_ACK           none
 *   NBD_REP_SERVER        name length (4) | name | optional description (rest)
 *   NBD_REP_INFO          info type (2) | info payload (see ServerHandshake)
 *   NBD_REP_ERR_*         optional message for a human (UTF-8)
 *
 * ACK and every error end the replies to one option; SERVER, INFO and
 * META_CONTEXT are followed by more.
 */
package io.zswapd.protocol.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One option reply.
 *
 * <pre>{@code
 * // client: read HEADER_SIZE bytes, learn the data length, read that many more, decode
 * long n = OptionReply.peekDataLength(header);
 * OptionReply reply = OptionReply.decode(headerAndData);
 * }</pre>
 */
public record OptionReply(int option, int type, byte[] data) {
    public static final int HEADER_SIZE = 20;

    public OptionReply {
        data = data.clone();
    }

    public static OptionReply ack(int option) {
        return new OptionReply(option, Nbd.REP_ACK, new byte[0]);
    }

    /** An error reply whose data is {@code message}, cut to the spec's 4096-byte string limit. */
    public static OptionReply error(int option, int type, String message) {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        return new OptionReply(option, type, text.length <= Nbd.MAX_STRING_BYTES ? text
                : Arrays.copyOf(text, Nbd.MAX_STRING_BYTES));
    }

    /**
     * Checks the magic of the header at the buffer's position and returns its declared data length,
     * consuming nothing.
     *
     * @throws IllegalArgumentException if fewer than {@link #HEADER_SIZE} bytes remain
     * @throws NbdProtocolException     on a bad magic
     */
    public static long peekDataLength(ByteBuffer in) {
        if (in.remaining() < HEADER_SIZE) {
            throw new IllegalArgumentException("need " + HEADER_SIZE + " bytes for an option reply header, have " + in.remaining());
        }
        long magic = in.getLong(in.position());
        if (magic != Nbd.OPTION_REPLY_MAGIC) {
            throw new NbdProtocolException(String.format(
                    "bad option reply magic 0x%016x (expected 0x%016x)", magic, Nbd.OPTION_REPLY_MAGIC));
        }
        return Integer.toUnsignedLong(in.getInt(in.position() + 16));
    }

    /**
     * Reads one whole reply (header and data) and advances past it.
     *
     * @throws IllegalArgumentException if the whole reply is not in the buffer yet (nothing is consumed)
     * @throws NbdProtocolException     on a bad magic
     */
    public static OptionReply decode(ByteBuffer in) {
        long length = peekDataLength(in);
        if (in.remaining() - HEADER_SIZE < length) {
            throw new IllegalArgumentException("option reply declares " + length + " bytes of data, have "
                    + (in.remaining() - HEADER_SIZE));
        }
        int p = in.position();
        int option = in.getInt(p + 8);
        int type = in.getInt(p + 12);
        byte[] data = new byte[(int) length];
        in.position(p + HEADER_SIZE);
        in.get(data);
        return new OptionReply(option, type, data);
    }

    /** Header and data as one array. */
    public byte[] encode() {
        return ByteBuffer.allocate(HEADER_SIZE + data.length)
                .putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(data.length).put(data)
                .array();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    public boolean isError() {
        return Nbd.isErrorReply(type);
    }

    /** ACK or an error: no more replies follow for this option. */
    public boolean isFinal() {
        return type == Nbd.REP_ACK || isError();
    }

    /** The data as UTF-8 text (the message of an error reply). */
    public String message() {
        return new String(data, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OptionReply r && r.option == option && r.type == type && Arrays.equals(r.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * option + type) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        String body = isError() ? " \"" + message() + "\"" : (data.length == 0 ? "" : " " + data.length + " bytes");
        return Nbd.replyTypeName(type) + " to " + Nbd.optionName(option) + body;
    }
}
