package io.zswapd.protocol.engine;

/** Which pages a recompression takes, after zram's {@code recompress type=}. */
public enum RecompressMode {
  /** Pages not touched since the last idle mark (zram {@code type=idle}). */
  IDLE,
  /** Pages stored raw because the pool's compressor could not shrink them (zram {@code type=huge}). */
  HUGE,
  /** Every page in memory that the export's second codec has not already written (zram with no type). */
  ALL
}
