/*
 * The transmission-phase request header, client -> server, 28 bytes, big-endian:
 *
 *   offset  size  field
 *   ------  ----  -----------------------------------------------
 *        0     4  magic 0x25609513 (NBD_REQUEST_MAGIC)
 *        4     2  command flags   (NBD_CMD_FLAG_*)
 *        6     2  type            (NBD_CMD_*)
 *        8     8  handle          (opaque cookie, echoed in the reply)
 *       16     8  offset          (unsigned, bytes from the start of the export)
 *       24     4  length          (unsigned)
 *       28     -  NBD_CMD_WRITE only: `length` bytes of payload follow
 *
 * flags and type are held as ints in 0..0xffff; length is held as an int whose
 * bits are the unsigned wire value (see lengthUnsigned()).
 */
package io.zswapd.protocol.nbd;

import java.nio.ByteBuffer;

/**
 * One NBD request header.
 *
 * <pre>{@code
 * if (buf.remaining() >= NbdRequest.HEADER_SIZE) {
 *     NbdRequest req = NbdRequest.decode(buf);        // advances buf by 28
 *     int payload = req.payloadLength();              // bytes of WRITE data that follow
 * }
 * }</pre>
 *
 * @param flags  command flags, 16 bits
 * @param type   command type, 16 bits
 * @param handle opaque cookie the reply echoes
 * @param offset byte offset in the export (unsigned on the wire)
 * @param length byte count; the 32 bits of the unsigned wire value
 */
public record NbdRequest(int flags, int type, long handle, long offset, int length) {
    public static final int HEADER_SIZE = 28;

    public NbdRequest {
        if ((flags & ~0xffff) != 0) throw new IllegalArgumentException("command flags must fit 16 bits: " + flags);
        if ((type & ~0xffff) != 0) throw new IllegalArgumentException("command type must fit 16 bits: " + type);
    }

    /**
     * Reads one header at the buffer's position and advances past it.
     *
     * @throws IllegalArgumentException if fewer than {@link #HEADER_SIZE} bytes remain (nothing is consumed)
     * @throws NbdProtocolException     on a bad magic (nothing is consumed); the spec's answer is to close
     */
    public static NbdRequest decode(ByteBuffer in) {
        if (in.remaining() < HEADER_SIZE) {
            throw new IllegalArgumentException("need " + HEADER_SIZE + " bytes for a request header, have " + in.remaining());
        }
        int p = in.position();
        int magic = in.getInt(p);
        if (magic != Nbd.REQUEST_MAGIC) {
            throw new NbdProtocolException(String.format(
                    "bad request magic 0x%08x (expected 0x%08x)", magic, Nbd.REQUEST_MAGIC));
        }
        NbdRequest r = new NbdRequest(
                Short.toUnsignedInt(in.getShort(p + 4)),
                Short.toUnsignedInt(in.getShort(p + 6)),
                in.getLong(p + 8),
                in.getLong(p + 16),
                in.getInt(p + 24));
        in.position(p + HEADER_SIZE);
        return r;
    }

    /** Writes the 28-byte header at the buffer's position (payload, if any, is the caller's). */
    public ByteBuffer encode(ByteBuffer out) {
        out.putInt(Nbd.REQUEST_MAGIC)
                .putShort((short) flags)
                .putShort((short) type)
                .putLong(handle)
                .putLong(offset)
                .putInt(length);
        return out;
    }

    /** The 28-byte header as a new array. */
    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE);
        encode(b);
        return b.array();
    }

    /** The wire length as an unsigned value. */
    public long lengthUnsigned() {
        return Integer.toUnsignedLong(length);
    }

    /** Bytes of payload that follow this header on the wire: the length for WRITE, otherwise 0. */
    public long payloadLength() {
        return type == Nbd.CMD_WRITE ? lengthUnsigned() : 0;
    }

    public boolean hasFlag(int flag) {
        return (flags & flag) != 0;
    }

    @Override
    public String toString() {
        return Nbd.commandName(type) + "{handle=" + handle + ", offset=" + Long.toUnsignedString(offset)
                + ", length=" + lengthUnsigned() + ", flags=0x" + Integer.toHexString(flags) + "}";
    }
}
