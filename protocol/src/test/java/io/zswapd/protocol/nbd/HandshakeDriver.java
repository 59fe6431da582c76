/*
 * Test driver for ServerHandshake: plays the connection stage's part. It keeps
 * a pending buffer, appends each chunk the "client" sends, offers the buffer to
 * onBytes() and collects everything the server wrote, so tests can feed a
 * conversation at once or byte by byte and compare.
 */
package io.zswapd.protocol.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

final class HandshakeDriver {
    final ServerHandshake server;
    final ByteBuffer pending = ByteBuffer.allocate(1 << 20).flip();
    private final ByteArrayOutputStream written = new ByteArrayOutputStream();
    ServerHandshake.Step last;

    HandshakeDriver(ExportCatalog catalog) {
        this(new ServerHandshake(catalog));
    }

    HandshakeDriver(ServerHandshake server) {
        this.server = server;
    }

    /** Appends {@code bytes} to the pending buffer and lets the server consume what it can. */
    ServerHandshake.Step send(byte[] bytes) {
        pending.compact().put(bytes).flip();
        last = server.onBytes(pending);
        written.writeBytes(last.output());
        return last;
    }

    /** Sends every byte of {@code bytes} in its own call. */
    ServerHandshake.Step sendByteByByte(byte[] bytes) {
        for (byte b : bytes) send(new byte[] {b});
        return last;
    }

    /** Everything the server has written since the last call, cleared. */
    byte[] takeOutput() {
        byte[] b = written.toByteArray();
        written.reset();
        return b;
    }

    /** Everything the server wrote since the last take, as option replies; fails if any byte is left over. */
    List<OptionReply> takeReplies() {
        ByteBuffer b = ByteBuffer.wrap(takeOutput());
        List<OptionReply> replies = new ArrayList<>();
        while (b.hasRemaining()) replies.add(OptionReply.decode(b));
        return replies;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }

    static void assertReplyTypes(List<OptionReply> replies, int option, int... types) {
        assertThat(replies).extracting(OptionReply::type).containsExactly(box(types));
        assertThat(replies).allSatisfy(r -> assertThat(r.option()).isEqualTo(option));
    }

    private static Integer[] box(int[] a) {
        Integer[] r = new Integer[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[i];
        return r;
    }
}
