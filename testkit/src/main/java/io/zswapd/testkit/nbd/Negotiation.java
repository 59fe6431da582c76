/*
 * The handshake phase of the test client, one step at a time. Encoding and
 * decoding are protocol's ClientHandshake and OptionReply, the same code the
 * ServerHandshake tests feed to the server.
 *
 *   open()           read the 18-byte greeting, send the 4-byte client flags
 *   optionRaw()      send any option, read replies up to the final one (ACK or error)
 *   list/info        the usual options, errors thrown as OptionErrorException
 *   go/exportName    end the handshake: the connection moves into an NbdClient
 *   abort            NBD_OPT_ABORT, then close
 *   sendRaw, vanish  malformed input and vanished clients, for bad-input tests
 */
package io.zswapd.testkit.nbd;

import io.zswapd.protocol.nbd.ClientHandshake;
import io.zswapd.protocol.nbd.ExportDetails;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdProtocolException;
import io.zswapd.protocol.nbd.OptionReply;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A connection in the NBD handshake phase.
 *
 * <pre>{@code
 * try (Negotiation n = Negotiation.open(address, true)) {
 *     assertThat(n.list()).contains("swap0");
 *     List<OptionReply> r = n.optionRaw(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
 *     assertThat(r.get(0).type()).isEqualTo(Nbd.REP_ERR_UNSUP);
 *     try (NbdClient client = n.go("swap0")) { ... }
 * }
 * }</pre>
 */
public final class Negotiation implements AutoCloseable {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    /** Replies larger than this are treated as a broken server rather than buffered. */
    static final int MAX_OPTION_REPLY_DATA = 1 << 20;

    private final NbdConnection connection;
    private final int handshakeFlags;
    private final int clientFlags;
    private boolean handedOff;

    private Negotiation(NbdConnection connection, int handshakeFlags, int clientFlags) {
        this.connection = connection;
        this.handshakeFlags = handshakeFlags;
        this.clientFlags = clientFlags;
    }

    /** Connects, reads the greeting and sends FIXED_NEWSTYLE (and NO_ZEROES if asked and advertised). */
    public static Negotiation open(SocketAddress address, boolean noZeroes) throws IOException {
        return open(address, noZeroes, DEFAULT_TIMEOUT);
    }

    public static Negotiation open(SocketAddress address, boolean noZeroes, Duration timeout) throws IOException {
        return open(address, timeout, serverFlags -> Nbd.FLAG_C_FIXED_NEWSTYLE
                | (noZeroes && (serverFlags & Nbd.FLAG_NO_ZEROES) != 0 ? Nbd.FLAG_C_NO_ZEROES : 0));
    }

    /** Connects, reads the greeting and sends exactly {@code clientFlags}, known bits or not. */
    public static Negotiation openWithClientFlags(SocketAddress address, int clientFlags) throws IOException {
        return openWithClientFlags(address, clientFlags, DEFAULT_TIMEOUT);
    }

    /** As {@link #openWithClientFlags(SocketAddress, int)}, every wait bounded by {@code timeout}. */
    public static Negotiation openWithClientFlags(SocketAddress address, int clientFlags, Duration timeout)
            throws IOException {
        return open(address, timeout, serverFlags -> clientFlags);
    }

    private interface FlagChoice {
        int choose(int handshakeFlags);
    }

    private static Negotiation open(SocketAddress address, Duration timeout, FlagChoice choice) throws IOException {
        NbdConnection c = NbdConnection.open(address, timeout);
        try {
            int serverFlags = ClientHandshake.parseGreeting(
                    ByteBuffer.wrap(c.readFully(ClientHandshake.GREETING_SIZE, "greeting")));
            int flags = choice.choose(serverFlags);
            c.writeAll(ByteBuffer.wrap(ClientHandshake.clientFlags(flags)));
            return new Negotiation(c, serverFlags, flags);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The 16-bit handshake flags from the server's greeting. */
    public int handshakeFlags() {
        return handshakeFlags;
    }

    /** The client flags that were sent. */
    public int clientFlags() {
        return clientFlags;
    }

    /** Sends one option and reads its replies up to and including the final one (ACK or an error). */
    public List<OptionReply> optionRaw(int option, byte[] data) throws IOException {
        sendOptionRaw(option, data);
        return readOptionReplies();
    }

    /** Sends one option without reading anything. */
    public void sendOptionRaw(int option, byte[] data) throws IOException {
        sendRaw(ClientHandshake.option(option, data));
    }

    /** Reads option replies up to and including the final one. */
    public List<OptionReply> readOptionReplies() throws IOException {
        List<OptionReply> replies = new ArrayList<>();
        OptionReply r;
        do {
            r = readOptionReply();
            replies.add(r);
        } while (!r.isFinal());
        return replies;
    }

    /** Reads exactly one option reply. */
    public OptionReply readOptionReply() throws IOException {
        ByteBuffer header = ByteBuffer.wrap(connection.readFully(OptionReply.HEADER_SIZE, "option reply header"));
        long length = OptionReply.peekDataLength(header);
        if (length > MAX_OPTION_REPLY_DATA) {
            throw new NbdProtocolException("option reply declares " + length + " bytes of data, more than "
                    + MAX_OPTION_REPLY_DATA);
        }
        ByteBuffer whole = ByteBuffer.allocate(OptionReply.HEADER_SIZE + (int) length).put(header.rewind());
        connection.readFully(whole, "option reply data");
        return OptionReply.decode(whole.flip());
    }

    /** NBD_OPT_LIST: the export names, in the server's order. */
    public List<String> list() throws IOException {
        return ClientHandshake.parseListReplies(succeed(optionRaw(Nbd.OPT_LIST, new byte[0])));
    }

    /** NBD_OPT_INFO: what the server says about {@code name}; negotiation continues. */
    public ExportDetails info(String name, int... infoRequests) throws IOException {
        return ClientHandshake.parseInfoReplies(
                succeed(optionRaw(Nbd.OPT_INFO, ClientHandshake.infoData(name, infoRequests))));
    }

    /** NBD_OPT_GO: ends the handshake; this Negotiation must not be used afterwards (closing it is harmless). */
    public NbdClient go(String name, int... infoRequests) throws IOException {
        ExportDetails export = ClientHandshake.parseInfoReplies(
                succeed(optionRaw(Nbd.OPT_GO, ClientHandshake.infoData(name, infoRequests))));
        return handOff(export);
    }

    /**
     * NBD_OPT_EXPORT_NAME: ends the handshake. The server cannot refuse this option with an error, so an
     * unknown export shows up as an EOFException (the server closed the connection).
     */
    public NbdClient exportName(String name) throws IOException {
        sendRaw(ClientHandshake.exportName(name));
        byte[] reply = connection.readFully(ClientHandshake.EXPORT_NAME_REPLY_SIZE, "NBD_OPT_EXPORT_NAME reply for '" + name + "'");
        if ((clientFlags & Nbd.FLAG_C_NO_ZEROES) == 0) {
            byte[] zeroes = connection.readFully(Nbd.EXPORT_NAME_ZEROES, "NBD_OPT_EXPORT_NAME zero padding");
            for (byte z : zeroes) {
                if (z != 0) throw new NbdProtocolException("NBD_OPT_EXPORT_NAME padding is not all zeroes");
            }
        }
        return handOff(ClientHandshake.parseExportNameReply(ByteBuffer.wrap(reply)));
    }

    /**
     * NBD_OPT_ABORT, then close. Returns the server's reply, or null if the server closed without one
     * (which the spec asks clients to tolerate).
     */
    public OptionReply abort() throws IOException {
        try {
            sendRaw(ClientHandshake.abort());
            return readOptionReply();
        } catch (EOFException closedWithoutReply) {
            return null;
        } finally {
            close();
        }
    }

    /** Writes bytes as they are (bad magic, truncated options, garbage). */
    public void sendRaw(byte[] bytes) throws IOException {
        checkUsable();
        connection.writeAll(ByteBuffer.wrap(bytes));
    }

    /** True once the server has closed the connection; false if it sends data instead. */
    public boolean awaitServerClose() throws IOException {
        return connection.awaitEof();
    }

    /** Bounds every later wait (a reply, room to write) by {@code timeout}; see {@link NbdClient#timeout}. */
    public void timeout(Duration timeout) {
        connection.timeout(timeout);
    }

    /** Drops the connection abruptly, as a crashed client would. */
    public void vanish() throws IOException {
        handedOff = true;
        connection.vanish();
    }

    @Override
    public void close() throws IOException {
        if (!handedOff) connection.close();
    }

    private NbdClient handOff(ExportDetails export) {
        handedOff = true;
        return new NbdClient(connection, export);
    }

    private void checkUsable() {
        if (handedOff) throw new IllegalStateException("the handshake is over; use the NbdClient");
    }

    private static List<OptionReply> succeed(List<OptionReply> replies) throws OptionErrorException {
        OptionReply last = replies.get(replies.size() - 1);
        if (last.isError()) throw new OptionErrorException(last);
        return replies;
    }
}
