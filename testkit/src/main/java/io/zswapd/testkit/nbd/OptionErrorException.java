/*
 * Thrown by Negotiation's helpers (list, info, go) when the final option
 * reply is an error (bit 31 set). Use Negotiation.optionRaw() to get the
 * replies as values instead.
 */
package io.zswapd.testkit.nbd;

import io.zswapd.protocol.nbd.OptionReply;
import java.io.IOException;

/** The server refused an option. */
public final class OptionErrorException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient OptionReply reply;

    public OptionErrorException(OptionReply reply) {
        super(reply.toString());
        this.reply = reply;
    }

    public OptionReply reply() {
        return reply;
    }

    /** The {@code Nbd.REP_ERR_*} value. */
    public int type() {
        return reply.type();
    }
}
