/*
 * The compression algorithms a page codec can use. This mirrors config's Compressor setting but
 * lives here so the codec package has no dependency on config parsing; config maps its value
 * onto this enum once at startup.
 *
 * LZ4 is the default (as in the kernel's zswap and zram): a swap engine sits on the page-fault
 * path, so decompression latency (a few hundred ns per 4 KiB page) matters more than the last
 * 10-15% of ratio. LZ4HC spends much more time compressing for a slightly better ratio while
 * decompressing as fast as LZ4, which suits pages written once and read often. ZSTD gives the best
 * ratio at several times LZ4's cost in both directions.
 */
package io.zswapd.actors.codec;

/** Compression algorithm of a {@link PageCodec}; see {@link PageCodecs#create}. */
public enum CodecKind {
  /** LZ4 block format, fast compressor; no levels ({@link PageCodec#level()} is 0). */
  LZ4,
  /** LZ4 block format, high-compression compressor; levels 1..17, default 9. Decompresses like LZ4. */
  LZ4HC,
  /** Zstandard frames without checksum; levels from zstd's minimum (negative = faster) to 22, default 3. */
  ZSTD
}
