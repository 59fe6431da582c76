/*
 * The transmission phase of the test client: a blocking NBD client that can
 * also pipeline, for protocol and system tests against the real server.
 *
 *   send(...)     write one request (header, then WRITE payload) and return its handle at once
 *   receive()     the next reply, in whatever order the server sends them
 *   await(h)      the reply for handle h; replies for other handles that arrive first are kept
 *                 and handed out later by receive()/await(), in arrival order
 *   read/write/flush/trim/writeZeroes    send + await, throwing ErrorReplyException on an error
 *   request(...)  send + await, returning the Reply whatever its error (for bad-input tests)
 *
 * A simple reply does not say whether data follows; the client knows because it
 * remembers, per outstanding handle, the command and length it sent:
 *
 *   outstanding: handle -> (command, length)    added by send(), removed when the reply is read
 *
 * A reply whose handle is not outstanding is a protocol error
 * (NbdProtocolException): the stream cannot be parsed past it.
 * Handles count up from 1, so they are distinct for the life of the connection.
 *
 * Threads: one thread may send (send, sendRaw, disconnect) while another
 * receives (receive only), as a real client pipelines; `outstanding` is the
 * one structure both touch, and the sender adds a handle before its request
 * goes out, so the receiver always finds it. Everything else is one thread's.
 */
package io.zswapd.testkit.nbd;

import io.zswapd.protocol.nbd.ExportDetails;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdProtocolException;
import io.zswapd.protocol.nbd.NbdReply;
import io.zswapd.protocol.nbd.NbdRequest;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A connection in the NBD transmission phase.
 *
 * <pre>{@code
 * try (NbdClient nbd = NbdClient.connectGo(new InetSocketAddress("127.0.0.1", 10809), "swap0", true)) {
 *     nbd.write(0, page);
 *     assertThat(nbd.read(0, 4096)).isEqualTo(page);
 *     long a = nbd.send(Nbd.CMD_READ, 0, 0, 4096, null);      // pipelined
 *     long b = nbd.send(Nbd.CMD_TRIM, 0, 8192, 4096, null);
 *     assertThat(nbd.await(b).isOk()).isTrue();
 *     assertThat(nbd.await(a).data()).isEqualTo(page);
 *     nbd.disconnect();
 * }
 * }</pre>
 */
public final class NbdClient implements AutoCloseable {
    private record Pending(int command, int length) {}

    private final NbdConnection connection;
    private final ExportDetails export;
    private final Map<Long, Pending> outstanding = new ConcurrentHashMap<>();
    private final LinkedHashMap<Long, Reply> arrived = new LinkedHashMap<>();
    private long nextHandle = 1;
    private boolean disconnected;

    NbdClient(NbdConnection connection, ExportDetails export) {
        this.connection = connection;
        this.export = export;
    }

    /** Connects and negotiates with NBD_OPT_GO (requesting block sizes), as modern nbd-client does. */
    public static NbdClient connectGo(SocketAddress address, String exportName, boolean noZeroes) throws IOException {
        Negotiation n = Negotiation.open(address, noZeroes);
        try {
            return n.go(exportName, Nbd.INFO_BLOCK_SIZE);
        } catch (IOException | RuntimeException e) {
            n.close();
            throw e;
        }
    }

    /** Connects and negotiates with the old NBD_OPT_EXPORT_NAME. */
    public static NbdClient connectExportName(SocketAddress address, String exportName, boolean noZeroes)
            throws IOException {
        Negotiation n = Negotiation.open(address, noZeroes);
        try {
            return n.exportName(exportName);
        } catch (IOException | RuntimeException e) {
            n.close();
            throw e;
        }
    }

    /** What the handshake said about the export. */
    public ExportDetails export() {
        return export;
    }

    public long size() {
        return export.sizeBytes();
    }

    public int transmissionFlags() {
        return export.transmissionFlags();
    }

    /** The handle the next {@link #send} will use (for a caller that must file it before the reply can arrive). */
    public long nextHandle() {
        return nextHandle;
    }

    /** Requests sent whose replies have not been read off the socket yet. */
    public int outstanding() {
        return outstanding.size();
    }

    /**
     * Writes one request and returns its handle without waiting for the reply. {@code payload}
     * (may be null) is sent after the header as given, even if its length is not {@code length}, so
     * tests can send malformed writes. DISC is sent like any other command but expects no reply.
     */
    public long send(int type, int flags, long offset, int length, byte[] payload) throws IOException {
        long handle = file(type, length);
        byte[] header = new NbdRequest(flags, type, handle, offset, length).encode();
        if (payload == null) {
            connection.writeAll(ByteBuffer.wrap(header));
        } else {
            connection.writeAll(ByteBuffer.wrap(header), ByteBuffer.wrap(payload));
        }
        return handle;
    }

    /**
     * Writes requests without payloads (READ, TRIM, ...) of one type and length, one per offset, in
     * a single system call, so the server reads them together; returns their handles in order.
     */
    public long[] sendTogether(int type, long[] offsets, int length) throws IOException {
        if (type == Nbd.CMD_WRITE || type == Nbd.CMD_DISC) throw new IllegalArgumentException("no WRITE or DISC here");
        ByteBuffer all = ByteBuffer.allocate(offsets.length * NbdRequest.HEADER_SIZE);
        long[] handles = new long[offsets.length];
        for (int i = 0; i < offsets.length; i++) {
            handles[i] = file(type, length);
            all.put(new NbdRequest(0, type, handles[i], offsets[i], length).encode());
        }
        connection.writeAll(all.flip());
        return handles;
    }

    /** A new handle for a request about to go out, filed as outstanding before it can be answered (DISC: none). */
    private long file(int type, int length) {
        if (disconnected) throw new IllegalStateException("NBD_CMD_DISC was sent; the client must send nothing more");
        long handle = nextHandle++;
        if (type == Nbd.CMD_DISC) {
            disconnected = true;
        } else {
            outstanding.put(handle, new Pending(type, length));
        }
        return handle;
    }

    /** The next reply: one already read while awaiting another handle, else the next off the socket. */
    public Reply receive() throws IOException {
        Iterator<Reply> it = arrived.values().iterator();
        if (it.hasNext()) {
            Reply r = it.next();
            it.remove();
            return r;
        }
        return readReply();
    }

    /** The reply for {@code handle}, keeping any other replies that arrive first. */
    public Reply await(long handle) throws IOException {
        Reply kept = arrived.remove(handle);
        if (kept != null) return kept;
        if (!outstanding.containsKey(handle)) throw new IllegalArgumentException("handle " + handle + " is not outstanding");
        while (true) {
            Reply r = readReply();
            if (r.handle() == handle) return r;
            arrived.put(r.handle(), r);
        }
    }

    /** Sends one request and waits for its reply, whatever its error. */
    public Reply request(int type, int flags, long offset, int length, byte[] payload) throws IOException {
        return await(send(type, flags, offset, length, payload));
    }

    public byte[] read(long offset, int length) throws IOException {
        return succeed(request(Nbd.CMD_READ, 0, offset, length, null)).data();
    }

    public void write(long offset, byte[] data) throws IOException {
        write(offset, data, 0);
    }

    /** WRITE with command flags, e.g. {@code Nbd.CMD_FLAG_FUA}. */
    public void write(long offset, byte[] data, int flags) throws IOException {
        succeed(request(Nbd.CMD_WRITE, flags, offset, data.length, data));
    }

    public void flush() throws IOException {
        succeed(request(Nbd.CMD_FLUSH, 0, 0, 0, null));
    }

    public void trim(long offset, int length) throws IOException {
        succeed(request(Nbd.CMD_TRIM, 0, offset, length, null));
    }

    /** WRITE_ZEROES with command flags, e.g. {@code Nbd.CMD_FLAG_NO_HOLE}. */
    public void writeZeroes(long offset, int length, int flags) throws IOException {
        succeed(request(Nbd.CMD_WRITE_ZEROES, flags, offset, length, null));
    }

    /** Sends NBD_CMD_DISC (there is no reply); the server should then finish in-flight work and close. */
    public void disconnect() throws IOException {
        send(Nbd.CMD_DISC, 0, 0, 0, null);
    }

    /** Writes bytes as they are (bad magic, truncated headers); they are not tracked as requests. */
    public void sendRaw(byte[] bytes) throws IOException {
        connection.writeAll(ByteBuffer.wrap(bytes));
    }

    /**
     * True once the server has closed the connection; false if it sends data instead. Only meaningful
     * when no replies are still expected.
     */
    public boolean awaitServerClose() throws IOException {
        return connection.awaitEof();
    }

    /**
     * Bounds every later wait (a reply, room to write) by {@code timeout}: a load test that must not
     * block on a server applying backpressure sets a short one after the handshake.
     */
    public void timeout(Duration timeout) {
        connection.timeout(timeout);
    }

    /** Drops the connection abruptly (TCP reset), as a crashed client would, leaving requests in flight. */
    public void vanish() throws IOException {
        connection.vanish();
    }

    @Override
    public void close() throws IOException {
        connection.close();
    }

    private Reply readReply() throws IOException {
        if (outstanding.isEmpty()) throw new IllegalStateException("no requests are outstanding");
        NbdReply header = NbdReply.decode(ByteBuffer.wrap(connection.readFully(NbdReply.HEADER_SIZE, "reply header")));
        Pending p = outstanding.remove(header.handle());
        if (p == null) {
            throw new NbdProtocolException("reply for handle " + header.handle() + ", which is not outstanding");
        }
        byte[] data = new byte[0];
        if (p.command() == Nbd.CMD_READ && header.isOk()) {
            data = connection.readFully(p.length(), "NBD_CMD_READ data for handle " + header.handle());
        }
        return new Reply(header.handle(), p.command(), header.error(), data);
    }

    private static Reply succeed(Reply r) throws ErrorReplyException {
        if (!r.isOk()) throw new ErrorReplyException(r);
        return r;
    }
}
