/*
 * The socket under NbdClient and Negotiation: a TCP or Unix-domain
 * SocketChannel with a blocking API in which every wait has a deadline.
 *
 * The channel runs in non-blocking mode behind one Selector, because that is
 * the only way NIO bounds a read on both socket families (a blocking
 * SocketChannel ignores SO_TIMEOUT, and a Unix channel has no socket adaptor).
 * A test against a server that wrongly stays silent then fails with a
 * SocketTimeoutException that says what it was waiting for, instead of
 * hanging the build.
 *
 * Full duplex: reads wait on one Selector and writes on another, so one thread
 * may write requests while another reads replies, as a real NBD client does
 * (the kernel has a sender and a receiver). A server that stops reading until
 * its replies are read would otherwise deadlock a client blocked in a write.
 */
package io.zswapd.testkit.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;

final class NbdConnection implements AutoCloseable {
    private final SocketChannel channel;
    private final Selector readSelector;
    private final Selector writeSelector;
    private final boolean tcp;
    private volatile Duration timeout;

    private NbdConnection(SocketChannel channel, boolean tcp, Duration timeout) throws IOException {
        this.channel = channel;
        this.tcp = tcp;
        this.timeout = timeout;
        channel.configureBlocking(false);
        this.readSelector = Selector.open();
        channel.register(readSelector, SelectionKey.OP_READ);
        this.writeSelector = Selector.open();
        channel.register(writeSelector, SelectionKey.OP_WRITE);
    }

    /** Connects (blocking) to a TCP ({@code InetSocketAddress}) or Unix ({@code UnixDomainSocketAddress}) address. */
    static NbdConnection open(SocketAddress address, Duration timeout) throws IOException {
        boolean unix = address instanceof UnixDomainSocketAddress;
        SocketChannel ch = unix ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        try {
            ch.connect(address);
            if (!unix) ch.setOption(StandardSocketOptions.TCP_NODELAY, true); // the spec says both ends SHOULD
            return new NbdConnection(ch, !unix, timeout);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    Duration timeout() {
        return timeout;
    }

    /** Bounds every later wait by {@code timeout} instead. */
    void timeout(Duration timeout) {
        this.timeout = timeout;
    }

    /** Fills {@code dst} or fails: EOFException if the server closes first, SocketTimeoutException past the deadline. */
    void readFully(ByteBuffer dst, String what) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int wanted = dst.remaining();
        while (dst.hasRemaining()) {
            int n = channel.read(dst);
            if (n < 0) {
                throw new EOFException("server closed the connection after " + (wanted - dst.remaining())
                        + " of " + wanted + " bytes of " + what);
            }
            if (n == 0) await(readSelector, deadline, what);
        }
    }

    byte[] readFully(int length, String what) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        readFully(b, what);
        return b.array();
    }

    /** Writes every byte of every buffer, in order. */
    void writeAll(ByteBuffer... srcs) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (remaining(srcs) > 0) {
            if (channel.write(srcs) == 0) await(writeSelector, deadline, "room to write");
        }
    }

    /**
     * Waits for the server to close the connection: true on end of stream or a reset, false if data
     * arrives instead (that byte is consumed, so call this only when nothing more is expected).
     */
    boolean awaitEof() throws IOException {
        ByteBuffer one = ByteBuffer.allocate(1);
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                int n = channel.read(one);
                if (n < 0) return true;
                if (n > 0) return false;
                await(readSelector, deadline, "the server to close the connection");
            }
        } catch (SocketTimeoutException e) {
            throw e;
        } catch (IOException reset) {
            return true;
        }
    }

    /** Drops the connection without a goodbye; over TCP with SO_LINGER 0, so the server sees a reset. */
    void vanish() throws IOException {
        // closing the selectors deregisters the channel so it may go back to blocking mode, where SO_LINGER is defined
        readSelector.close();
        writeSelector.close();
        if (tcp && channel.isOpen()) {
            channel.configureBlocking(true);
            channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        }
        channel.close();
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
        try {
            readSelector.close();
            writeSelector.close();
        } finally {
            channel.close();
        }
    }

    private void await(Selector selector, long deadline, String what) throws IOException {
        long left = deadline - System.nanoTime();
        if (left <= 0) throw new SocketTimeoutException("no " + what + " within " + timeout);
        selector.select(Math.max(1, left / 1_000_000));
        selector.selectedKeys().clear();
    }

    private static long remaining(ByteBuffer[] bufs) {
        long n = 0;
        for (ByteBuffer b : bufs) n += b.remaining();
        return n;
    }
}
