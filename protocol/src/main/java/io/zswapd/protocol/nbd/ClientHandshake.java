/*
 * The client's half of the fixed-newstyle handshake as encoders and decoders
 * over bytes. The testkit's NbdClient sends what these produce, and the
 * ServerHandshake tests feed the same bytes to the server, so the client and
 * the server are tested against one encoding.
 *
 *   greeting (server)        NBDMAGIC (8) | IHAVEOPT (8) | handshake flags (2)        = 18 bytes
 *   client flags             u32
 *   option                   IHAVEOPT (8) | option (4) | data length (4) | data
 *   INFO / GO data           name length (4) | name | request count (2) | info type (2) x count
 *   EXPORT_NAME data         name (the whole data)
 *   EXPORT_NAME reply        size (8) | transmission flags (2) [| 124 zeroes unless NO_ZEROES]
 *   NBD_REP_INFO data        info type (2) | payload:
 *       INFO_EXPORT          size (8) | transmission flags (2)                      length 12
 *       INFO_NAME            name                                                   length 2 + n
 *       INFO_DESCRIPTION     description                                            length 2 + n
 *       INFO_BLOCK_SIZE      minimum (4) | preferred (4) | maximum (4)              length 14
 *   NBD_REP_SERVER data      name length (4) | name | description (rest, optional)
 */
package io.zswapd.protocol.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Client-side handshake codecs.
 *
 * <pre>{@code
 * int handshakeFlags = ClientHandshake.parseGreeting(greeting18Bytes);
 * channel.write(ByteBuffer.wrap(ClientHandshake.clientFlags(Nbd.FLAG_C_FIXED_NEWSTYLE)));
 * channel.write(ByteBuffer.wrap(ClientHandshake.go("swap0", Nbd.INFO_BLOCK_SIZE)));
 * // ... read option replies until one isFinal() ...
 * ExportDetails export = ClientHandshake.parseInfoReplies(replies);
 * }</pre>
 */
public final class ClientHandshake {
    private ClientHandshake() {}

    public static final int GREETING_SIZE = 18;
    public static final int OPTION_HEADER_SIZE = 16;
    /** EXPORT_NAME reply without the zeroes: size (8) + flags (2). */
    public static final int EXPORT_NAME_REPLY_SIZE = 10;

    /**
     * Checks both greeting magics and returns the 16-bit handshake flags; advances past the greeting.
     *
     * @throws NbdProtocolException on a bad magic (an oldstyle server shows up here)
     */
    public static int parseGreeting(ByteBuffer in) {
        long magic = in.getLong();
        if (magic != Nbd.NBDMAGIC) {
            throw new NbdProtocolException(String.format("bad greeting magic 0x%016x (expected NBDMAGIC)", magic));
        }
        long opt = in.getLong();
        if (opt != Nbd.IHAVEOPT) {
            String what = opt == Nbd.CLISERV_MAGIC ? " (an oldstyle server)" : "";
            throw new NbdProtocolException(String.format("bad greeting magic 0x%016x%s (expected IHAVEOPT)", opt, what));
        }
        return Short.toUnsignedInt(in.getShort());
    }

    /** The 4-byte client flags word. */
    public static byte[] clientFlags(int flags) {
        return ByteBuffer.allocate(4).putInt(flags).array();
    }

    /** Any option, exactly as given (header, then {@code data}). */
    public static byte[] option(int option, byte[] data) {
        return ByteBuffer.allocate(OPTION_HEADER_SIZE + data.length)
                .putLong(Nbd.IHAVEOPT).putInt(option).putInt(data.length).put(data).array();
    }

    /** An option header whose declared data length is {@code declaredLength}, without any data (for limit tests). */
    public static byte[] optionHeader(int option, long declaredLength) {
        return ByteBuffer.allocate(OPTION_HEADER_SIZE)
                .putLong(Nbd.IHAVEOPT).putInt(option).putInt((int) declaredLength).array();
    }

    public static byte[] exportName(String name) {
        return option(Nbd.OPT_EXPORT_NAME, utf8(name));
    }

    public static byte[] info(String name, int... infoRequests) {
        return option(Nbd.OPT_INFO, infoData(name, infoRequests));
    }

    public static byte[] go(String name, int... infoRequests) {
        return option(Nbd.OPT_GO, infoData(name, infoRequests));
    }

    public static byte[] list() {
        return option(Nbd.OPT_LIST, new byte[0]);
    }

    public static byte[] abort() {
        return option(Nbd.OPT_ABORT, new byte[0]);
    }

    /** The data of NBD_OPT_INFO / NBD_OPT_GO: name length, name, request count, requests. */
    public static byte[] infoData(String name, int... infoRequests) {
        byte[] n = utf8(name);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infoRequests.length)
                .putInt(n.length).put(n).putShort((short) infoRequests.length);
        for (int r : infoRequests) b.putShort((short) r);
        return b.array();
    }

    /** Size and flags from the reply to NBD_OPT_EXPORT_NAME (the caller skips the zeroes, if any). */
    public static ExportDetails parseExportNameReply(ByteBuffer in) {
        long size = in.getLong();
        int flags = Short.toUnsignedInt(in.getShort());
        return new ExportDetails(size, flags, Optional.empty(), Optional.empty(), Optional.empty());
    }

    /**
     * Folds the NBD_REP_INFO replies to an INFO or GO into what they say; unknown info types are ignored
     * as the spec requires.
     *
     * @throws NbdProtocolException if the final reply is an error, if INFO_EXPORT is missing, or if a
     *                              known info type has the wrong length
     */
    public static ExportDetails parseInfoReplies(List<OptionReply> replies) {
        OptionReply last = replies.isEmpty() ? null : replies.get(replies.size() - 1);
        if (last == null || last.type() != Nbd.REP_ACK) {
            throw new NbdProtocolException("INFO/GO did not end in NBD_REP_ACK: " + replies);
        }
        Long size = null;
        int flags = 0;
        Optional<String> name = Optional.empty();
        Optional<String> description = Optional.empty();
        Optional<ExportDetails.BlockSize> blockSize = Optional.empty();
        for (OptionReply r : replies) {
            if (r.type() != Nbd.REP_INFO) continue;
            ByteBuffer d = ByteBuffer.wrap(r.data());
            if (d.remaining() < 2) throw new NbdProtocolException("NBD_REP_INFO shorter than its 2-byte type: " + r);
            int infoType = Short.toUnsignedInt(d.getShort());
            switch (infoType) {
                case Nbd.INFO_EXPORT -> {
                    expectLength(r, 12);
                    size = d.getLong();
                    flags = Short.toUnsignedInt(d.getShort());
                }
                case Nbd.INFO_NAME -> name = Optional.of(rest(d));
                case Nbd.INFO_DESCRIPTION -> description = Optional.of(rest(d));
                case Nbd.INFO_BLOCK_SIZE -> {
                    expectLength(r, 14);
                    blockSize = Optional.of(new ExportDetails.BlockSize(d.getInt(), d.getInt(), d.getInt()));
                }
                default -> { } // the client MUST ignore information replies it does not understand
            }
        }
        if (size == null) throw new NbdProtocolException("NBD_REP_ACK without NBD_INFO_EXPORT: " + replies);
        return new ExportDetails(size, flags, name, description, blockSize);
    }

    /** The export names in NBD_REP_SERVER replies, in order. */
    public static List<String> parseListReplies(List<OptionReply> replies) {
        List<String> names = new ArrayList<>();
        for (OptionReply r : replies) {
            if (r.type() != Nbd.REP_SERVER) continue;
            ByteBuffer d = ByteBuffer.wrap(r.data());
            long len = Integer.toUnsignedLong(d.getInt());
            if (len > d.remaining()) throw new NbdProtocolException("NBD_REP_SERVER name length " + len + " exceeds its data: " + r);
            byte[] n = new byte[(int) len];
            d.get(n);
            names.add(new String(n, StandardCharsets.UTF_8));
        }
        return names;
    }

    private static void expectLength(OptionReply r, int length) {
        if (r.data().length != length) {
            throw new NbdProtocolException("NBD_REP_INFO of this type must be " + length + " bytes: " + r);
        }
    }

    private static String rest(ByteBuffer d) {
        byte[] b = new byte[d.remaining()];
        d.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
