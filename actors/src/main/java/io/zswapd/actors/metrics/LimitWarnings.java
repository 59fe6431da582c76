package io.zswapd.actors.metrics;

import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns the growth of the engine's trouble counters between two stats ticks into at most one
 * warning line: limits hit (zswap pool_limit_hit, reject_alloc_fail, reject_reclaim_fail),
 * backing-file I/O errors and a full backing file. One line per tick at most, however many
 * pages were refused, so a full pool cannot flood the log; nothing is logged per page.
 */
final class LimitWarnings {
  private long poolLimitHit;
  private long rejectReclaimFail;
  private long rejectAllocFail;
  private long keptInFile;
  private long writeErrors;
  private long readErrors;
  private long backingFull;

  /** The warning for what grew since the last call (the first: since the engine started), if anything did. */
  Optional<String> check(EngineStats stats) {
    long alloc = 0;
    long kept = 0;
    long werr = 0;
    long rerr = 0;
    long full = 0;
    for (ExportStats e : stats.exports()) {
      if (!e.remoteShards().isEmpty() && e.backing().fileBytes() > 0) {
        kept += e.rejectAllocFail(); // on memory nodes, with the front's copies: kept in the file only
      } else {
        alloc += e.rejectAllocFail();
      }
      werr += e.backing().writeErrors();
      rerr += e.backing().readErrors();
      full += e.backing().backingFull();
    }
    long limit = stats.pool().poolLimitHit();
    long reclaim = stats.pool().rejectReclaimFail();
    List<String> grew = new ArrayList<>();
    note(grew, limit - poolLimitHit, "pool limit hit %d times (limit %d bytes, in use %d bytes)",
        stats.pool().memLimit(), stats.pool().memUsedTotal());
    note(grew, alloc - rejectAllocFail, "%d stores refused: pool full (reject_alloc_fail)");
    note(grew, kept - keptInFile, "%d stores refused by full memory nodes, kept in the backing file only "
        + "(reject_alloc_fail)");
    note(grew, reclaim - rejectReclaimFail, "%d stores the pool could not take: writeback made no room in "
        + "time, so they went straight to the backing file (reject_reclaim_fail)");
    note(grew, werr - writeErrors, "%d backing-file write errors (pages kept in memory)");
    note(grew, rerr - readErrors, "%d backing-file read errors (loads failed with EIO)");
    note(grew, full - backingFull, "%d writebacks refused: backing file full");
    poolLimitHit = limit;
    rejectAllocFail = alloc;
    keptInFile = kept;
    rejectReclaimFail = reclaim;
    writeErrors = werr;
    readErrors = rerr;
    backingFull = full;
    return grew.isEmpty() ? Optional.empty() : Optional.of("since the last stats tick: " + String.join("; ", grew));
  }

  private static void note(List<String> out, long grown, String format, Object... more) {
    if (grown > 0) {
      Object[] args = new Object[more.length + 1];
      args[0] = grown;
      System.arraycopy(more, 0, args, 1, more.length);
      out.add(String.format(format, args));
    }
  }
}
