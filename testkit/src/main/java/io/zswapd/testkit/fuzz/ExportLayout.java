package io.zswapd.testkit.fuzz;

/**
 * How the fuzzer divides the writable export:
 *
 * <pre>
 *   [0, n*R)                        client i checks [i*R, (i+1)*R), which only it writes
 *   [probe, probe + 64 pages)       the probe's pages
 *   [scratch, size)                 sessions that drop requests, and floods; never checked
 * </pre>
 *
 * <p>R is {@code --region} less 2,560 bytes, so it is not a multiple of the page: the page at
 * each boundary holds bytes of two clients, and their unaligned writes there are concurrent
 * read-modify-writes of one page, which must not lose each other's bytes. The concurrent
 * writes of different clients never touch the same bytes, so each client's model is exact.
 * Writes whose outcome a client cannot know (it drops the connection with them in flight)
 * go to the scratch area: they could land after a later write of the same bytes.
 */
record ExportLayout(long regionSize, int clients, long probeBase, long scratchBase, long size) {
  static final int PAGE = 4096;
  static final int PROBE_PAGES = 64;
  /** Scratch bytes the layout needs at least (floods and dropped sessions write there). */
  static final long MIN_SCRATCH = 64L << 20;
  /** The huge-range flood's length: the largest page multiple below 2^32 (the 0xFFFFF000). */
  static final long HUGE_RANGE = 0xFFFFF000L;

  static ExportLayout of(FuzzSettings s, long exportSize) {
    long regionSize = s.region() - 2560;
    long probe = alignUp(regionSize * s.clients());
    long scratch = probe + (long) PROBE_PAGES * PAGE;
    ExportLayout layout = new ExportLayout(regionSize, s.clients(), probe, scratch, exportSize);
    if (exportSize < minimumExportSize(s)) {
      throw new IllegalArgumentException("export '" + s.export() + "' has " + exportSize + " bytes; "
          + s.clients() + " clients of --region " + s.region() + " need at least " + minimumExportSize(s));
    }
    return layout;
  }

  static long minimumExportSize(FuzzSettings s) {
    return alignUp((s.region() - 2560) * s.clients()) + (long) PROBE_PAGES * PAGE + MIN_SCRATCH;
  }

  long regionBase(int client) {
    return client * regionSize;
  }

  long scratchSize() {
    return size - scratchBase;
  }

  /** The length of one huge WRITE_ZEROES or TRIM of the scratch area. */
  long hugeRange() {
    return Math.min(HUGE_RANGE, scratchSize() / PAGE * PAGE);
  }

  static long alignUp(long n) {
    return (n + PAGE - 1) / PAGE * PAGE;
  }
}
