/*
 * A transmission-phase reply as the test client received it: the simple reply
 * header, the command it answers (remembered from the request under its
 * handle), and for a successful NBD_CMD_READ the data.
 */
package io.zswapd.testkit.nbd;

import io.zswapd.protocol.nbd.Nbd;

/**
 * One reply.
 *
 * @param handle  the request's handle
 * @param command the request's {@code Nbd.CMD_*} type
 * @param error   0 or an {@code Nbd.E*} value
 * @param data    READ data when {@code error == 0}; otherwise empty
 */
public record Reply(long handle, int command, int error, byte[] data) {

    public boolean isOk() {
        return error == 0;
    }

    @Override
    public String toString() {
        return Nbd.commandName(command) + " handle " + handle + ": " + Nbd.errorName(error)
                + (data.length == 0 ? "" : " (" + data.length + " bytes)");
    }
}
