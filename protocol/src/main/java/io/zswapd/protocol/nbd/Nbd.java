/*
 * NBD wire constants, exactly as numbered in the NBD specification
 * (NetworkBlockDevice/nbd, doc/proto.md). Everything on the wire is big-endian.
 *
 * Where each number is used:
 *
 *   server greeting      NBDMAGIC (8) | IHAVEOPT (8) | handshake flags (2)
 *   client flags         u32: C_FIXED_NEWSTYLE | C_NO_ZEROES
 *   client option        IHAVEOPT (8) | option (4) | data length (4) | data
 *   option reply         OPTION_REPLY_MAGIC (8) | option (4) | reply type (4) | length (4) | data
 *   request              REQUEST_MAGIC (4) | command flags (2) | type (2) | handle (8) | offset (8) | length (4)
 *   simple reply         SIMPLE_REPLY_MAGIC (4) | error (4) | handle (8) [| data for READ]
 *
 * Flags are bit masks (1 << bit number from the spec). Option reply types with
 * bit 31 set are errors. Structured and extended replies, meta contexts and
 * the extended-header magics are listed so that a reader of a packet dump can
 * name them; zswapd refuses to negotiate them (NBD_REP_ERR_UNSUP), so it never
 * sends or accepts them in transmission.
 */
package io.zswapd.protocol.nbd;

/** Numbers of the NBD protocol. Names drop the {@code NBD_} / {@code NBD_FLAG_} prefixes of the spec. */
public final class Nbd {
    private Nbd() {}

    // ---- magics -------------------------------------------------------------------------------
    /** ASCII "NBDMAGIC": first 8 bytes the server sends (also known as INIT_PASSWD). */
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    /** ASCII "IHAVEOPT": second 8 bytes of the newstyle greeting, and the prefix of every client option. */
    public static final long IHAVEOPT = 0x49484156454F5054L;
    /** Prefix of every fixed-newstyle option reply. */
    public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    /** Oldstyle second magic ({@code cliserv_magic}); never sent by zswapd, listed for recognition only. */
    public static final long CLISERV_MAGIC = 0x00420281861253L;
    public static final int REQUEST_MAGIC = 0x25609513;
    /** Request magic when extended headers are negotiated (not supported by zswapd). */
    public static final int EXTENDED_REQUEST_MAGIC = 0x21e41c71;
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
    /** Reply magic when extended headers are negotiated (not supported by zswapd). */
    public static final int EXTENDED_REPLY_MAGIC = 0x6e8a278c;

    // ---- handshake flags (16 bits, server -> client) -----------------------------------------
    public static final int FLAG_FIXED_NEWSTYLE = 1 << 0;
    public static final int FLAG_NO_ZEROES = 1 << 1;

    // ---- client flags (32 bits, client -> server) ----------------------------------------------
    public static final int FLAG_C_FIXED_NEWSTYLE = 1 << 0;
    public static final int FLAG_C_NO_ZEROES = 1 << 1;
    /** Every client flag the spec defines; any other bit set means the server must drop the connection. */
    public static final int KNOWN_CLIENT_FLAGS = FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES;

    // ---- options --------------------------------------------------------------------------------
    public static final int OPT_EXPORT_NAME = 1;
    public static final int OPT_ABORT = 2;
    public static final int OPT_LIST = 3;
    /** Withdrawn PEEK_EXPORT extension; not in use. */
    public static final int OPT_PEEK_EXPORT = 4;
    public static final int OPT_STARTTLS = 5;
    public static final int OPT_INFO = 6;
    public static final int OPT_GO = 7;
    public static final int OPT_STRUCTURED_REPLY = 8;
    public static final int OPT_LIST_META_CONTEXT = 9;
    public static final int OPT_SET_META_CONTEXT = 10;
    public static final int OPT_EXTENDED_HEADERS = 11;

    // ---- option reply types ----------------------------------------------------------------------
    public static final int REP_ACK = 1;
    public static final int REP_SERVER = 2;
    public static final int REP_INFO = 3;
    public static final int REP_META_CONTEXT = 4;
    /** Bit 31 marks an error reply; its data, if any, is a message for a human. */
    public static final int REP_FLAG_ERROR = 1 << 31;
    public static final int REP_ERR_UNSUP = REP_FLAG_ERROR + 1;
    public static final int REP_ERR_POLICY = REP_FLAG_ERROR + 2;
    public static final int REP_ERR_INVALID = REP_FLAG_ERROR + 3;
    public static final int REP_ERR_PLATFORM = REP_FLAG_ERROR + 4;
    public static final int REP_ERR_TLS_REQD = REP_FLAG_ERROR + 5;
    public static final int REP_ERR_UNKNOWN = REP_FLAG_ERROR + 6;
    public static final int REP_ERR_SHUTDOWN = REP_FLAG_ERROR + 7;
    public static final int REP_ERR_BLOCK_SIZE_REQD = REP_FLAG_ERROR + 8;
    public static final int REP_ERR_TOO_BIG = REP_FLAG_ERROR + 9;
    public static final int REP_ERR_EXT_HEADER_REQD = REP_FLAG_ERROR + 10;

    // ---- information types (NBD_REP_INFO payloads, NBD_OPT_INFO/GO requests) ----------------------
    public static final int INFO_EXPORT = 0;
    public static final int INFO_NAME = 1;
    public static final int INFO_DESCRIPTION = 2;
    public static final int INFO_BLOCK_SIZE = 3;

    // ---- transmission flags (16 bits) ---------------------------------------------------------
    public static final int FLAG_HAS_FLAGS = 1 << 0;
    public static final int FLAG_READ_ONLY = 1 << 1;
    public static final int FLAG_SEND_FLUSH = 1 << 2;
    public static final int FLAG_SEND_FUA = 1 << 3;
    public static final int FLAG_ROTATIONAL = 1 << 4;
    public static final int FLAG_SEND_TRIM = 1 << 5;
    public static final int FLAG_SEND_WRITE_ZEROES = 1 << 6;
    public static final int FLAG_SEND_DF = 1 << 7;
    public static final int FLAG_CAN_MULTI_CONN = 1 << 8;
    public static final int FLAG_SEND_RESIZE = 1 << 9;
    public static final int FLAG_SEND_CACHE = 1 << 10;
    public static final int FLAG_SEND_FAST_ZERO = 1 << 11;
    public static final int FLAG_BLOCK_STATUS_PAYLOAD = 1 << 12;

    // ---- commands ---------------------------------------------------------------------------------
    public static final int CMD_READ = 0;
    public static final int CMD_WRITE = 1;
    public static final int CMD_DISC = 2;
    public static final int CMD_FLUSH = 3;
    public static final int CMD_TRIM = 4;
    public static final int CMD_CACHE = 5;
    public static final int CMD_WRITE_ZEROES = 6;
    public static final int CMD_BLOCK_STATUS = 7;
    public static final int CMD_RESIZE = 8;

    // ---- command flags (16 bits) ------------------------------------------------------------------
    public static final int CMD_FLAG_FUA = 1 << 0;
    public static final int CMD_FLAG_NO_HOLE = 1 << 1;
    public static final int CMD_FLAG_DF = 1 << 2;
    public static final int CMD_FLAG_REQ_ONE = 1 << 3;
    public static final int CMD_FLAG_FAST_ZERO = 1 << 4;
    public static final int CMD_FLAG_PAYLOAD_LEN = 1 << 5;

    // ---- structured reply (listed for recognition; never negotiated) --------------------------------
    public static final int REPLY_FLAG_DONE = 1 << 0;
    public static final int REPLY_TYPE_NONE = 0;
    public static final int REPLY_TYPE_OFFSET_DATA = 1;
    public static final int REPLY_TYPE_OFFSET_HOLE = 2;
    public static final int REPLY_TYPE_BLOCK_STATUS = 5;
    public static final int REPLY_TYPE_BLOCK_STATUS_EXT = 6;
    public static final int REPLY_TYPE_ERROR = (1 << 15) + 1;
    public static final int REPLY_TYPE_ERROR_OFFSET = (1 << 15) + 2;

    // ---- error values (simple reply error field) ---------------------------------------------------
    public static final int EPERM = 1;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EOVERFLOW = 75;
    public static final int ENOTSUP = 95;
    public static final int ESHUTDOWN = 108;

    // ---- limits --------------------------------------------------------------------------------------
    /** The spec's hard limit for any string (export names, messages): 4096 bytes of UTF-8. */
    public static final int MAX_STRING_BYTES = 4096;
    /** Bytes of zeroes after the NBD_OPT_EXPORT_NAME reply unless NO_ZEROES was negotiated. */
    public static final int EXPORT_NAME_ZEROES = 124;

    /** {@code "NBD_CMD_READ"} for 0 and so on; {@code "NBD_CMD_UNKNOWN(42)"} for numbers the spec does not define. */
    public static String commandName(int type) {
        return switch (type) {
            case CMD_READ -> "NBD_CMD_READ";
            case CMD_WRITE -> "NBD_CMD_WRITE";
            case CMD_DISC -> "NBD_CMD_DISC";
            case CMD_FLUSH -> "NBD_CMD_FLUSH";
            case CMD_TRIM -> "NBD_CMD_TRIM";
            case CMD_CACHE -> "NBD_CMD_CACHE";
            case CMD_WRITE_ZEROES -> "NBD_CMD_WRITE_ZEROES";
            case CMD_BLOCK_STATUS -> "NBD_CMD_BLOCK_STATUS";
            case CMD_RESIZE -> "NBD_CMD_RESIZE";
            default -> "NBD_CMD_UNKNOWN(" + type + ")";
        };
    }

    /** {@code "NBD_EINVAL"} for 22 and so on; 0 is {@code "OK"}. */
    public static String errorName(int error) {
        return switch (error) {
            case 0 -> "OK";
            case EPERM -> "NBD_EPERM";
            case EIO -> "NBD_EIO";
            case ENOMEM -> "NBD_ENOMEM";
            case EINVAL -> "NBD_EINVAL";
            case ENOSPC -> "NBD_ENOSPC";
            case EOVERFLOW -> "NBD_EOVERFLOW";
            case ENOTSUP -> "NBD_ENOTSUP";
            case ESHUTDOWN -> "NBD_ESHUTDOWN";
            default -> "NBD_E_UNKNOWN(" + error + ")";
        };
    }

    /** {@code "NBD_OPT_GO"} for 7 and so on. */
    public static String optionName(int option) {
        return switch (option) {
            case OPT_EXPORT_NAME -> "NBD_OPT_EXPORT_NAME";
            case OPT_ABORT -> "NBD_OPT_ABORT";
            case OPT_LIST -> "NBD_OPT_LIST";
            case OPT_PEEK_EXPORT -> "NBD_OPT_PEEK_EXPORT";
            case OPT_STARTTLS -> "NBD_OPT_STARTTLS";
            case OPT_INFO -> "NBD_OPT_INFO";
            case OPT_GO -> "NBD_OPT_GO";
            case OPT_STRUCTURED_REPLY -> "NBD_OPT_STRUCTURED_REPLY";
            case OPT_LIST_META_CONTEXT -> "NBD_OPT_LIST_META_CONTEXT";
            case OPT_SET_META_CONTEXT -> "NBD_OPT_SET_META_CONTEXT";
            case OPT_EXTENDED_HEADERS -> "NBD_OPT_EXTENDED_HEADERS";
            default -> "NBD_OPT_UNKNOWN(" + Integer.toUnsignedString(option) + ")";
        };
    }

    /** {@code "NBD_REP_ERR_UNSUP"} for 2^31 + 1 and so on. */
    public static String replyTypeName(int type) {
        return switch (type) {
            case REP_ACK -> "NBD_REP_ACK";
            case REP_SERVER -> "NBD_REP_SERVER";
            case REP_INFO -> "NBD_REP_INFO";
            case REP_META_CONTEXT -> "NBD_REP_META_CONTEXT";
            case REP_ERR_UNSUP -> "NBD_REP_ERR_UNSUP";
            case REP_ERR_POLICY -> "NBD_REP_ERR_POLICY";
            case REP_ERR_INVALID -> "NBD_REP_ERR_INVALID";
            case REP_ERR_PLATFORM -> "NBD_REP_ERR_PLATFORM";
            case REP_ERR_TLS_REQD -> "NBD_REP_ERR_TLS_REQD";
            case REP_ERR_UNKNOWN -> "NBD_REP_ERR_UNKNOWN";
            case REP_ERR_SHUTDOWN -> "NBD_REP_ERR_SHUTDOWN";
            case REP_ERR_BLOCK_SIZE_REQD -> "NBD_REP_ERR_BLOCK_SIZE_REQD";
            case REP_ERR_TOO_BIG -> "NBD_REP_ERR_TOO_BIG";
            case REP_ERR_EXT_HEADER_REQD -> "NBD_REP_ERR_EXT_HEADER_REQD";
            default -> "NBD_REP_UNKNOWN(" + Integer.toUnsignedString(type) + ")";
        };
    }

    /** True for option reply types with bit 31 set. */
    public static boolean isErrorReply(int replyType) {
        return (replyType & REP_FLAG_ERROR) != 0;
    }
}
