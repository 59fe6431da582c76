/*
 * Thrown by the NBD codecs when bytes cannot be what the spec says they must be
 * (bad magic, a reply for a handle nobody asked about). The spec's answer to
 * such input is a hard disconnect, so callers close the connection and log the
 * message; it always names the field and the value seen.
 */
package io.zswapd.protocol.nbd;

/** The peer broke the NBD protocol; the connection cannot continue. */
public final class NbdProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NbdProtocolException(String message) {
        super(message);
    }
}
