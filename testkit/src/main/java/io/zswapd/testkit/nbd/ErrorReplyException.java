/*
 * Thrown by NbdClient's blocking helpers (read, write, flush, ...) when the
 * server answers with a non-zero error. Tests that expect an error either
 * catch this and assert on error(), or use NbdClient.request(), which returns
 * the Reply whatever its error.
 */
package io.zswapd.testkit.nbd;

import io.zswapd.protocol.nbd.Nbd;
import java.io.IOException;

/** The server answered a request with an NBD error. */
public final class ErrorReplyException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Reply reply;

    public ErrorReplyException(Reply reply) {
        super(Nbd.commandName(reply.command()) + " (handle " + reply.handle() + ") failed with "
                + Nbd.errorName(reply.error()));
        this.reply = reply;
    }

    public Reply reply() {
        return reply;
    }

    /** The {@code Nbd.E*} value. */
    public int error() {
        return reply.error();
    }
}
