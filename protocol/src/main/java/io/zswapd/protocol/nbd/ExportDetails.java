/*
 * What a client learnt about an export, decoded from the server's answer
 * (NBD_OPT_EXPORT_NAME reply or NBD_REP_INFO replies). Unlike ExportInfo it
 * does not validate: a test client must be able to hold whatever a server
 * sent, right or wrong, so the test can assert on it.
 */
package io.zswapd.protocol.nbd;

import java.util.Optional;

/**
 * The client's view of an export.
 *
 * @param sizeBytes         export size (unsigned on the wire)
 * @param transmissionFlags 16-bit {@code Nbd.FLAG_*} set
 * @param name              NBD_INFO_NAME, if the server sent it
 * @param description       NBD_INFO_DESCRIPTION, if the server sent it
 * @param blockSize         NBD_INFO_BLOCK_SIZE, if the server sent it
 */
public record ExportDetails(long sizeBytes, int transmissionFlags, Optional<String> name,
                            Optional<String> description, Optional<BlockSize> blockSize) {

    /** Block size constraints as sent (unsigned 32-bit values held in ints). */
    public record BlockSize(int minimum, int preferred, int maximum) {}

    public boolean hasFlag(int flag) {
        return (transmissionFlags & flag) != 0;
    }
}
