package io.zswapd.actors.tree;

import io.zswapd.protocol.engine.RecompressMode;

/**
 * Which pages a recompression takes. A page qualifies when it is in the pool, not kept (tried
 * before without gain), not already the second codec's (a raw page always is a candidate),
 * stored in at least {@code threshold} bytes, and: {@code all}; or {@code huge} and it is raw;
 * or {@code idle} and nothing touched it since the last idle mark (nor since it was selected).
 *
 * @param minSaving the share of its stored bytes a page must save, besides moving to a smaller class
 * @param markIdle  after selecting, start a new idle period: a background pass
 */
public record RecompressSelection(boolean idle, boolean huge, boolean all, int threshold, double minSaving,
    boolean markIdle) {

  /** What {@code zswapd recompress MODE} takes (no idle mark: zram's recompress does not mark either). */
  public static RecompressSelection onDemand(RecompressMode mode, int threshold, double minSaving) {
    return new RecompressSelection(mode == RecompressMode.IDLE, mode == RecompressMode.HUGE,
        mode == RecompressMode.ALL, threshold, minSaving, false);
  }

  /** A background pass: idle pages (and raw ones with {@code huge}), then a new idle period. */
  public static RecompressSelection pass(boolean huge, int threshold, double minSaving) {
    return new RecompressSelection(true, huge, false, threshold, minSaving, true);
  }
}
