package io.zswapd.protocol.engine;

/** Which stored pages a writeback takes, after zram's {@code writeback} file. */
public enum WritebackMode {
  /** Cold pages first: the LRU with a second chance (referenced pages are spared once). Used at the pool limit. */
  LRU,
  /** Pages not touched since the last idle mark (zram {@code idle}). */
  IDLE,
  /** Pages stored raw because they did not compress (zram {@code huge}). */
  HUGE,
  /** Every page held in memory (zram {@code all}). */
  ALL
}
