/*
 * What the server tells a client about one export, in every way it can be told:
 *
 *   NBD_OPT_EXPORT_NAME reply   size (8) | transmission flags (2) [| 124 zeroes]
 *   NBD_INFO_EXPORT             size (8) | transmission flags (2)
 *   NBD_INFO_BLOCK_SIZE         minimum (4) | preferred (4) | maximum (4)
 *   NBD_INFO_NAME / _DESCRIPTION, NBD_REP_SERVER   name and description strings
 *
 * One record feeds all of them, so EXPORT_NAME, INFO and GO cannot disagree.
 * The constructor enforces the spec's rules on strings and block sizes, so a
 * misconfigured export fails at startup with a message naming the rule, not at
 * a client's handshake.
 */
package io.zswapd.protocol.nbd;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;

/**
 * One export as the handshake advertises it.
 *
 * <pre>{@code
 * ExportInfo swap = ExportInfo.of("swap0", 8L << 30,
 *         Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_TRIM
 *         | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_CAN_MULTI_CONN);
 * }</pre>
 *
 * @param name              export name, at most 4096 bytes of UTF-8, no NUL
 * @param sizeBytes         export size in bytes, not negative
 * @param transmissionFlags 16-bit {@code Nbd.FLAG_*} set; {@code FLAG_HAS_FLAGS} is always added (the spec says it MUST be 1)
 * @param minBlock          power of two, 1..65536
 * @param preferredBlock    power of two, at least max(minBlock, 512)
 * @param maxBlock          positive multiple of minBlock, at least min(preferredBlock, sizeBytes)
 * @param description       optional text for humans (NBD_INFO_DESCRIPTION, NBD_REP_SERVER), at most 4096 bytes
 */
public record ExportInfo(String name, long sizeBytes, int transmissionFlags,
                         int minBlock, int preferredBlock, int maxBlock, Optional<String> description) {

    /** Any alignment works: unaligned pieces are read-modify-write in the owning shard. */
    public static final int DEFAULT_MIN_BLOCK = 1;
    /** One page: the unit zswapd compresses and stores. */
    public static final int DEFAULT_PREFERRED_BLOCK = 4096;
    /** 32 MiB: the spec's interoperable maximum for READ and WRITE. */
    public static final int DEFAULT_MAX_BLOCK = 32 << 20;
    private static final int MAX_MIN_BLOCK = 1 << 16;

    public ExportInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        checkString("export name", name);
        description.ifPresent(d -> checkString("description of export '" + name + "'", d));
        if (sizeBytes < 0) throw new IllegalArgumentException("export '" + name + "': size must not be negative, got " + sizeBytes);
        if ((transmissionFlags & ~0xffff) != 0) {
            throw new IllegalArgumentException("export '" + name + "': transmission flags must fit 16 bits, got 0x"
                    + Integer.toHexString(transmissionFlags));
        }
        transmissionFlags |= Nbd.FLAG_HAS_FLAGS;
        if (minBlock < 1 || minBlock > MAX_MIN_BLOCK || Integer.bitCount(minBlock) != 1) {
            throw new IllegalArgumentException("export '" + name + "': minimum block size must be a power of two in 1.."
                    + MAX_MIN_BLOCK + ", got " + minBlock);
        }
        int preferredFloor = Math.max(minBlock, 512);
        if (preferredBlock < preferredFloor || Integer.bitCount(preferredBlock) != 1) {
            throw new IllegalArgumentException("export '" + name + "': preferred block size must be a power of two >= "
                    + preferredFloor + ", got " + preferredBlock);
        }
        if (maxBlock < 1 || maxBlock % minBlock != 0 || maxBlock < Math.min(preferredBlock, sizeBytes)) {
            throw new IllegalArgumentException("export '" + name + "': maximum block size must be a positive multiple of "
                    + minBlock + " and >= " + Math.min(preferredBlock, sizeBytes) + ", got " + maxBlock);
        }
    }

    /** An export with the default block sizes (1 / 4096 / 32 MiB) and no description. */
    public static ExportInfo of(String name, long sizeBytes, int transmissionFlags) {
        return new ExportInfo(name, sizeBytes, transmissionFlags,
                DEFAULT_MIN_BLOCK, DEFAULT_PREFERRED_BLOCK, DEFAULT_MAX_BLOCK, Optional.empty());
    }

    public ExportInfo withDescription(String text) {
        return new ExportInfo(name, sizeBytes, transmissionFlags, minBlock, preferredBlock, maxBlock, Optional.of(text));
    }

    public ExportInfo withBlockSizes(int min, int preferred, int max) {
        return new ExportInfo(name, sizeBytes, transmissionFlags, min, preferred, max, description);
    }

    public boolean hasFlag(int flag) {
        return (transmissionFlags & flag) != 0;
    }

    private static void checkString(String what, String s) {
        if (s.indexOf('\0') >= 0) throw new IllegalArgumentException(what + " must not contain NUL");
        int bytes = s.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > Nbd.MAX_STRING_BYTES) {
            throw new IllegalArgumentException(what + " is " + bytes + " bytes of UTF-8, more than the NBD limit of "
                    + Nbd.MAX_STRING_BYTES);
        }
    }
}
