/*
 * The simple reply header, server -> client, 16 bytes, big-endian:
 *
 *   offset  size  field
 *   ------  ----  -----------------------------------------------
 *        0     4  magic 0x67446698 (NBD_SIMPLE_REPLY_MAGIC)
 *        4     4  error (0 = success, else an NBD_E* value)
 *        8     8  handle (copied from the request)
 *       16     -  NBD_CMD_READ with error 0 only: the request's `length` bytes of data
 *
 * The header does not say whether data follows: only the client, which remembers
 * what it asked for under each handle, can tell. zswapd never negotiates
 * structured replies, so this is the only reply format it sends.
 */
package io.zswapd.protocol.nbd;

import java.nio.ByteBuffer;

/**
 * One simple reply header.
 *
 * <pre>{@code
 * ByteBuffer out = ByteBuffer.allocate(NbdReply.HEADER_SIZE + data.length);
 * new NbdReply(0, request.handle()).encode(out).put(data);
 * }</pre>
 *
 * @param error  0 or one of the {@code Nbd.E*} values
 * @param handle the request's handle
 */
public record NbdReply(int error, long handle) {
    public static final int HEADER_SIZE = 16;

    public static NbdReply ok(long handle) {
        return new NbdReply(0, handle);
    }

    /**
     * Reads one header at the buffer's position and advances past it (client side).
     *
     * @throws IllegalArgumentException if fewer than {@link #HEADER_SIZE} bytes remain (nothing is consumed)
     * @throws NbdProtocolException     on any magic but the simple reply magic (nothing is consumed)
     */
    public static NbdReply decode(ByteBuffer in) {
        if (in.remaining() < HEADER_SIZE) {
            throw new IllegalArgumentException("need " + HEADER_SIZE + " bytes for a reply header, have " + in.remaining());
        }
        int p = in.position();
        int magic = in.getInt(p);
        if (magic != Nbd.SIMPLE_REPLY_MAGIC) {
            String what = magic == Nbd.STRUCTURED_REPLY_MAGIC ? " (a structured reply, which was never negotiated)" : "";
            throw new NbdProtocolException(String.format(
                    "bad reply magic 0x%08x%s (expected 0x%08x)", magic, what, Nbd.SIMPLE_REPLY_MAGIC));
        }
        NbdReply r = new NbdReply(in.getInt(p + 4), in.getLong(p + 8));
        in.position(p + HEADER_SIZE);
        return r;
    }

    /** Writes the 16-byte header at the buffer's position and returns the buffer for chaining. */
    public ByteBuffer encode(ByteBuffer out) {
        return out.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(handle);
    }

    /** The 16-byte header as a new array. */
    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE);
        encode(b);
        return b.array();
    }

    public boolean isOk() {
        return error == 0;
    }

    @Override
    public String toString() {
        return "NbdReply{handle=" + handle + ", " + Nbd.errorName(error) + "}";
    }
}
