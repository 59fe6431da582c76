/*
 * The server's half of the fixed-newstyle handshake as a resumable state
 * machine over bytes: no sockets, no threads. The caller (the io-bridge's
 * connection stage) sends greeting(), then hands every chunk of client bytes
 * to onBytes() and writes out what each Step says.
 *
 *   AWAITING_CLIENT_FLAGS --4 bytes--> OPTIONS --EXPORT_NAME ok / GO ok--> TRANSMISSION
 *            |                          |  ^ | \
 *            |                          +--+ |  STARTTLS ok --> STARTING_TLS --tlsStarted()--> OPTIONS
 *            |                               +--ABORT, bad magic, unknown EXPORT_NAME,
 *            +--unknown client flag---------->  oversized option ----------------> CLOSED
 *
 * Resumability: onBytes() consumes whole messages only (4 bytes of client
 * flags; a 16-byte option header plus its whole data) and leaves a partial
 * message in the buffer for the caller to extend and offer again. It stops
 * consuming once the state is TRANSMISSION or CLOSED, so bytes a client sends
 * after GO (its first requests) stay in the buffer for the transmission phase.
 * Because an option header is checked before its data has arrived, a declared
 * length above MAX_OPTION_DATA closes the connection without waiting for (or
 * buffering) the data: the caller never holds more than
 * OPTION_HEADER_SIZE + MAX_OPTION_DATA bytes of handshake.
 *
 * Replies, per option (spec section "Option types"):
 *
 *   EXPORT_NAME   size (8) | flags (2) [| 124 zeroes unless C_NO_ZEROES]; unknown export: close, no reply
 *   INFO, GO      REP_INFO(EXPORT), REP_INFO(BLOCK_SIZE) always; REP_INFO(NAME) and REP_INFO(DESCRIPTION)
 *                 when requested; then ACK. GO then enters TRANSMISSION. Unknown export: ERR_UNKNOWN;
 *                 inconsistent lengths: ERR_INVALID (both stay in OPTIONS)
 *   LIST          REP_SERVER per export, then ACK; any data: ERR_INVALID
 *   ABORT         ACK, then CLOSED
 *   STARTTLS      when TLS is required: ACK, then STARTING_TLS (any data, or TLS already
 *                 started: ERR_INVALID); when it is not offered: ERR_UNSUP
 *   anything else ERR_UNSUP (STRUCTURED_REPLY, meta contexts, EXTENDED_HEADERS, unknown);
 *                 its data has been consumed, so the next option parses cleanly
 *
 * TLS required (the server was given credentials; qemu-nbd's and nbdkit's --tls=require):
 * until STARTTLS has been acknowledged every option but STARTTLS and ABORT is answered
 * ERR_TLS_REQD, and EXPORT_NAME, which cannot be answered with an error, closes the
 * connection, so a client that did not start TLS learns nothing, not even the export names.
 * After the ACK onBytes() consumes nothing more: the caller starts TLS on the bytes that
 * follow (the client's first TLS record may already be in the buffer), calls tlsStarted(),
 * and from then on offers the decrypted bytes; the option haggling starts again inside TLS.
 *
 * BLOCK_SIZE is sent even when not requested: the spec lets a server send
 * information the client did not ask for, and a client that can honour it
 * learns the constraints without a second round trip. The server never sends
 * ERR_BLOCK_SIZE_REQD: any alignment works, so nothing has to be negotiated.
 */
package io.zswapd.protocol.nbd;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;

/**
 * Server side of the NBD handshake for one connection. Not thread-safe: one connection stage owns it.
 *
 * <pre>{@code
 * ServerHandshake hs = new ServerHandshake(catalog);
 * write(hs.greeting());
 * // on every chunk from the client, appended to `pending`:
 * ServerHandshake.Step step = hs.onBytes(pending);   // consumes whole messages only
 * write(step.output());
 * switch (step.state()) {
 *     case TRANSMISSION -> serve(step.selected().orElseThrow(), pending);  // leftover bytes are requests
 *     case CLOSED -> close(step.closeReason().orElseThrow());
 *     default -> { }                                                       // wait for more bytes
 * }
 * }</pre>
 */
public final class ServerHandshake {

    public enum State { AWAITING_CLIENT_FLAGS, OPTIONS, STARTING_TLS, TRANSMISSION, CLOSED }

    /**
     * The result of one {@link #onBytes} call.
     *
     * @param output      bytes to send to the client, in order (may be empty)
     * @param state       state after the call
     * @param selected    the export, once the state is TRANSMISSION
     * @param closeReason why, once the state is CLOSED: for a log line, never sent to the client
     */
    public record Step(byte[] output, State state, Optional<ExportInfo> selected, Optional<String> closeReason) {}

    /** What this server advertises: fixed newstyle, and it can omit the 124 zeroes. */
    public static final int HANDSHAKE_FLAGS = Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES;
    public static final int OPTION_HEADER_SIZE = ClientHandshake.OPTION_HEADER_SIZE;
    /**
     * Largest option data accepted: 64 KiB of headroom for info requests plus one maximal (4096-byte)
     * name. No option zswapd understands needs more; a larger declared length is treated as a denial
     * of service (the spec allows a hard disconnect) rather than drained.
     */
    public static final int MAX_OPTION_DATA = (64 << 10) + Nbd.MAX_STRING_BYTES;

    private final ExportCatalog catalog;
    private final boolean tlsRequired;
    private boolean tlsStarted;
    private State state = State.AWAITING_CLIENT_FLAGS;
    private boolean noZeroes;
    private boolean clientFixedNewstyle;
    private ExportInfo selected;
    private String closeReason;

    /** A handshake without TLS: STARTTLS is answered ERR_UNSUP. */
    public ServerHandshake(ExportCatalog catalog) {
        this(catalog, false);
    }

    /**
     * @param tlsRequired whether the client must start TLS (NBD_OPT_STARTTLS) before anything
     *                    else: the server holds credentials and this is a TCP connection
     */
    public ServerHandshake(ExportCatalog catalog, boolean tlsRequired) {
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.tlsRequired = tlsRequired;
    }

    /**
     * The caller has put TLS under the connection after the STARTTLS acknowledgement: option
     * haggling resumes, on decrypted bytes. Only in state STARTING_TLS.
     */
    public void tlsStarted() {
        if (state != State.STARTING_TLS) {
            throw new IllegalStateException("tlsStarted() in state " + state + "; only after STARTTLS was acknowledged");
        }
        tlsStarted = true;
        state = State.OPTIONS;
    }

    /** Whether TLS has been started on this connection. */
    public boolean tlsActive() {
        return tlsStarted;
    }

    /** The 18 bytes the server sends first: NBDMAGIC, IHAVEOPT, handshake flags. */
    public byte[] greeting() {
        return ByteBuffer.allocate(ClientHandshake.GREETING_SIZE)
                .putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT).putShort((short) HANDSHAKE_FLAGS).array();
    }

    public State state() {
        return state;
    }

    /** Whether the client set NBD_FLAG_C_NO_ZEROES. */
    public boolean noZeroes() {
        return noZeroes;
    }

    /** Whether the client set NBD_FLAG_C_FIXED_NEWSTYLE (the server answers in fixed newstyle either way). */
    public boolean clientFixedNewstyle() {
        return clientFixedNewstyle;
    }

    /**
     * Consumes as many whole messages from {@code in} as are there and answers them. The buffer's
     * position is advanced over consumed bytes only; the rest stays for the next call.
     */
    public Step onBytes(ByteBuffer in) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean progress = true;
        while (progress) {
            progress = switch (state) {
                case AWAITING_CLIENT_FLAGS -> onClientFlags(in);
                case OPTIONS -> onOption(in, out);
                case STARTING_TLS, TRANSMISSION, CLOSED -> false;
            };
        }
        return new Step(out.toByteArray(), state, Optional.ofNullable(selected), Optional.ofNullable(closeReason));
    }

    private boolean onClientFlags(ByteBuffer in) {
        if (in.remaining() < 4) return false;
        int flags = in.getInt();
        if ((flags & ~Nbd.KNOWN_CLIENT_FLAGS) != 0) {
            // "the server MUST drop the TCP connection if the client sets an unknown flag"
            return close(String.format("client flags 0x%08x set bits other than FIXED_NEWSTYLE and NO_ZEROES", flags));
        }
        // NO_ZEROES is advertised in HANDSHAKE_FLAGS, so the client may set it; the spec lets a server
        // honour fixed newstyle from a client that did not set C_FIXED_NEWSTYLE, and zswapd does.
        clientFixedNewstyle = (flags & Nbd.FLAG_C_FIXED_NEWSTYLE) != 0;
        noZeroes = (flags & Nbd.FLAG_C_NO_ZEROES) != 0;
        state = State.OPTIONS;
        return true;
    }

    private boolean onOption(ByteBuffer in, ByteArrayOutputStream out) {
        int p = in.position();
        if (in.remaining() < 8) return false;
        long magic = in.getLong(p);
        if (magic != Nbd.IHAVEOPT) {
            return close(String.format("bad option magic 0x%016x (expected IHAVEOPT)", magic));
        }
        if (in.remaining() < OPTION_HEADER_SIZE) return false;
        int option = in.getInt(p + 8);
        long length = Integer.toUnsignedLong(in.getInt(p + 12));
        if (length > MAX_OPTION_DATA) {
            return close(Nbd.optionName(option) + " declares " + length + " bytes of data, more than the limit of "
                    + MAX_OPTION_DATA);
        }
        if (in.remaining() < OPTION_HEADER_SIZE + length) return false;
        byte[] data = new byte[(int) length];
        in.position(p + OPTION_HEADER_SIZE);
        in.get(data);
        if (tlsRequired && !tlsStarted && option != Nbd.OPT_STARTTLS && option != Nbd.OPT_ABORT) {
            if (option == Nbd.OPT_EXPORT_NAME) {
                return close("NBD_OPT_EXPORT_NAME before STARTTLS; this server requires TLS");
            }
            reply(out, OptionReply.error(option, Nbd.REP_ERR_TLS_REQD,
                    "this server requires TLS: send NBD_OPT_STARTTLS first"));
            return true;
        }
        switch (option) {
            case Nbd.OPT_EXPORT_NAME -> exportName(data, out);
            case Nbd.OPT_INFO, Nbd.OPT_GO -> infoOrGo(option, data, out);
            case Nbd.OPT_LIST -> list(data, out);
            case Nbd.OPT_ABORT -> {
                // the spec says to ignore any data sent with ABORT rather than reject it
                reply(out, OptionReply.ack(option));
                close("client sent NBD_OPT_ABORT");
            }
            case Nbd.OPT_STARTTLS -> {
                return startTls(data, out);
            }
            default -> reply(out, OptionReply.error(option, Nbd.REP_ERR_UNSUP,
                    "zswapd does not support " + Nbd.optionName(option)));
        }
        return true;
    }

    /** STARTTLS: acknowledged when TLS is required and not yet started; then nothing more is read. */
    private boolean startTls(byte[] data, ByteArrayOutputStream out) {
        if (!tlsRequired) {
            reply(out, OptionReply.error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_UNSUP,
                    "zswapd does not support NBD_OPT_STARTTLS on this connection (TLS is for TCP, with zswapd.nbd.tls)"));
        } else if (tlsStarted) {
            reply(out, OptionReply.error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "TLS has already been started"));
        } else if (data.length != 0) {
            reply(out, OptionReply.error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID,
                    "NBD_OPT_STARTTLS takes no data, got " + data.length + " bytes"));
        } else {
            reply(out, OptionReply.ack(Nbd.OPT_STARTTLS));
            state = State.STARTING_TLS;
        }
        return true;
    }

    private void exportName(byte[] data, ByteArrayOutputStream out) {
        // EXPORT_NAME cannot be answered with an error: every failure is a hard disconnect
        if (data.length > Nbd.MAX_STRING_BYTES) {
            close("NBD_OPT_EXPORT_NAME name is " + data.length + " bytes, more than " + Nbd.MAX_STRING_BYTES);
            return;
        }
        Optional<String> name = decodeName(ByteBuffer.wrap(data));
        if (name.isEmpty()) {
            close("NBD_OPT_EXPORT_NAME name is not valid UTF-8 without NUL");
            return;
        }
        Optional<ExportInfo> export = catalog.resolve(name.get());
        if (export.isEmpty()) {
            close("NBD_OPT_EXPORT_NAME for unknown export '" + name.get() + "'");
            return;
        }
        ExportInfo e = export.get();
        ByteBuffer b = ByteBuffer.allocate(ClientHandshake.EXPORT_NAME_REPLY_SIZE + (noZeroes ? 0 : Nbd.EXPORT_NAME_ZEROES));
        b.putLong(e.sizeBytes()).putShort((short) e.transmissionFlags()); // the rest is already zero
        out.writeBytes(b.array());
        enterTransmission(e);
    }

    private void infoOrGo(int option, byte[] data, ByteArrayOutputStream out) {
        ByteBuffer d = ByteBuffer.wrap(data);
        String opt = Nbd.optionName(option);
        if (d.remaining() < 6) {
            reply(out, OptionReply.error(option, Nbd.REP_ERR_INVALID,
                    opt + " data is " + data.length + " bytes, less than the 6 of an empty request"));
            return;
        }
        long nameLength = Integer.toUnsignedLong(d.getInt());
        if (nameLength > d.remaining() - 2) {
            reply(out, OptionReply.error(option, Nbd.REP_ERR_INVALID,
                    opt + " name length " + nameLength + " is more than the option data length - 6"));
            return;
        }
        if (nameLength > Nbd.MAX_STRING_BYTES) {
            reply(out, OptionReply.error(option, Nbd.REP_ERR_INVALID,
                    opt + " name is " + nameLength + " bytes, more than " + Nbd.MAX_STRING_BYTES));
            return;
        }
        ByteBuffer nameBytes = d.slice(d.position(), (int) nameLength);
        d.position(d.position() + (int) nameLength);
        int requests = Short.toUnsignedInt(d.getShort());
        if (d.remaining() != 2L * requests) {
            reply(out, OptionReply.error(option, Nbd.REP_ERR_INVALID, opt + " declares " + requests
                    + " information requests (" + 2L * requests + " bytes) but " + d.remaining() + " bytes follow"));
            return;
        }
        boolean wantName = false;
        boolean wantDescription = false;
        for (int i = 0; i < requests; i++) {
            int info = Short.toUnsignedInt(d.getShort());
            wantName |= info == Nbd.INFO_NAME;
            wantDescription |= info == Nbd.INFO_DESCRIPTION;
            // EXPORT and BLOCK_SIZE are always sent; unknown requests MUST be ignored
        }
        Optional<String> name = decodeName(nameBytes);
        if (name.isEmpty()) {
            reply(out, OptionReply.error(option, Nbd.REP_ERR_INVALID, opt + " name is not valid UTF-8 without NUL"));
            return;
        }
        Optional<ExportInfo> export = catalog.resolve(name.get());
        if (export.isEmpty()) {
            reply(out, OptionReply.error(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + name.get() + "'"));
            return;
        }
        ExportInfo e = export.get();
        reply(out, info(option, Nbd.INFO_EXPORT, ByteBuffer.allocate(10)
                .putLong(e.sizeBytes()).putShort((short) e.transmissionFlags()).array()));
        if (wantName) reply(out, info(option, Nbd.INFO_NAME, e.name().getBytes(StandardCharsets.UTF_8)));
        if (wantDescription && e.description().isPresent()) {
            reply(out, info(option, Nbd.INFO_DESCRIPTION, e.description().get().getBytes(StandardCharsets.UTF_8)));
        }
        reply(out, info(option, Nbd.INFO_BLOCK_SIZE, ByteBuffer.allocate(12)
                .putInt(e.minBlock()).putInt(e.preferredBlock()).putInt(e.maxBlock()).array()));
        reply(out, OptionReply.ack(option));
        if (option == Nbd.OPT_GO) enterTransmission(e);
    }

    private void list(byte[] data, ByteArrayOutputStream out) {
        if (data.length != 0) {
            reply(out, OptionReply.error(Nbd.OPT_LIST, Nbd.REP_ERR_INVALID,
                    "NBD_OPT_LIST takes no data, got " + data.length + " bytes"));
            return;
        }
        for (ExportInfo e : catalog.list()) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            byte[] description = e.description().orElse("").getBytes(StandardCharsets.UTF_8);
            reply(out, new OptionReply(Nbd.OPT_LIST, Nbd.REP_SERVER,
                    ByteBuffer.allocate(4 + name.length + description.length)
                            .putInt(name.length).put(name).put(description).array()));
        }
        reply(out, OptionReply.ack(Nbd.OPT_LIST));
    }

    private static OptionReply info(int option, int infoType, byte[] payload) {
        return new OptionReply(option, Nbd.REP_INFO,
                ByteBuffer.allocate(2 + payload.length).putShort((short) infoType).put(payload).array());
    }

    private static void reply(ByteArrayOutputStream out, OptionReply r) {
        out.writeBytes(r.encode());
    }

    private void enterTransmission(ExportInfo e) {
        selected = e;
        state = State.TRANSMISSION;
    }

    /** Always returns true: closing is progress (the loop then stops on the CLOSED state). */
    private boolean close(String reason) {
        closeReason = reason;
        state = State.CLOSED;
        return true;
    }

    /** Strict UTF-8 without NUL, as the spec defines a string; empty if the bytes are not one. */
    private static Optional<String> decodeName(ByteBuffer bytes) {
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes);
            String s = chars.toString();
            return s.indexOf('\0') >= 0 ? Optional.empty() : Optional.of(s);
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }
}
