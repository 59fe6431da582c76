package io.zswapd.bridge;

import io.zswapd.bridge.admin.StatsReport;
import io.zswapd.config.ExportSettings;
import io.zswapd.config.ZswapdSettings;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The start's one warning about sizes that fail a swap device later: exports in this process's
 * pool, writable and without a backing file, that together hold more than twice the pool limit
 * (the 2:1 ratio zram's documentation expects of compressed swap). Once the pool is full their
 * writes are refused with ENOSPC, and a kernel swapping to them logs {@code Write-error on
 * swap-device} and keeps retrying: the trap of issue 17, reached by configuration instead of a
 * JVM flag. zram has the same limit (a {@code disksize} past what {@code mem_limit} holds); zswap
 * has none, because its full pool sends pages on to the swap device, as a backing file does here.
 */
final class PoolSizeWarning {
  /** Uncompressed bytes per byte of pool expected of swap (zram's documentation: 2:1). */
  static final int EXPECTED_RATIO = 2;

  private PoolSizeWarning() {}

  static Optional<String> text(ZswapdSettings s) {
    List<ExportSettings> unbacked = s.exports().stream()
        .filter(e -> e.placement() == ExportSettings.Placement.LOCAL && !e.readOnly() && e.backingFile().isEmpty())
        .toList();
    long total = unbacked.stream().mapToLong(ExportSettings::sizeBytes).sum();
    long pool = s.pool().maxSizeBytes();
    if (total <= EXPECTED_RATIO * pool) {
      return Optional.empty();
    }
    String names = unbacked.stream().map(e -> e.name() + " " + StatsReport.human(e.sizeBytes()))
        .collect(Collectors.joining(", "));
    return Optional.of("exports without a backing-file hold more than " + EXPECTED_RATIO + " times the pool limit ("
        + names + "; pool.max-size " + StatsReport.human(pool) + "): once the pool is full, their writes are "
        + "refused with ENOSPC, which a kernel swapping to them logs as 'Write-error on swap-device' while it "
        + "retries. Give them a backing-file (docs/OPERATIONS.md), or make pool.max-size at least "
        + StatsReport.human((total + EXPECTED_RATIO - 1) / EXPECTED_RATIO));
  }
}
