package io.zswapd.testkit.fuzz;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a fuzz run found: the figures of its summary, and its failures (empty when it passed).
 *
 * @param maxRss        the daemon's largest RSS seen, or -1 without {@code --pid}
 * @param maxHeapUsed   the most heap in use jcmd reported, or -1
 * @param heapCommitted the heap's committed size at the last jcmd sample, or -1
 */
public record FuzzReport(long seed, String commandLine, Duration took, long operations, Map<String, Long> opsByKind,
    Map<String, Long> errorsByCode, Map<String, Long> events, long mismatches, List<String> failures, long probes,
    double slowestProbeSeconds, long maxRss, long maxHeapUsed, long heapCommitted) {

  private static final int FAILURES_SHOWN = 5;

  public boolean passed() {
    return failures.isEmpty();
  }

  /** Operations of one kind (as the summary names them), 0 if none. */
  public long ops(String kind) {
    return opsByKind.getOrDefault(kind, 0L);
  }

  /** The summary the fuzzer prints at the end. */
  public String summary() {
    StringBuilder b = new StringBuilder();
    b.append("== NBD fuzz summary ==\n");
    b.append("seed ").append(seed).append("   replay: NbdFuzzer ").append(commandLine).append('\n');
    b.append("result: ").append(passed() ? "PASSED" : "FAILED (" + failures.size() + " failures)").append('\n');
    double seconds = Math.max(0.001, took.toMillis() / 1000.0);
    b.append(String.format(Locale.ROOT, "operations: %,d in %.1f s (%,.0f/s)%n", operations, seconds,
        operations / seconds));
    opsByKind.forEach((k, v) -> b.append(String.format(Locale.ROOT, "  %-40s %,14d%n", k, v)));
    b.append("errors answered (expected ones included):\n");
    if (errorsByCode.isEmpty()) {
      b.append("  none\n");
    }
    errorsByCode.forEach((k, v) -> b.append(String.format(Locale.ROOT, "  %-40s %,14d%n", k, v)));
    b.append("events:\n");
    events.forEach((k, v) -> b.append(String.format(Locale.ROOT, "  %-60s %,10d%n", k, v)));
    b.append("mismatches: ").append(mismatches).append('\n');
    b.append(String.format(Locale.ROOT, "probes: %d, slowest %.2f s%n", probes, slowestProbeSeconds));
    b.append("daemon: max RSS ").append(DaemonWatch.mib(maxRss)).append(", heap used max ")
        .append(DaemonWatch.mib(maxHeapUsed)).append(" (committed ").append(DaemonWatch.mib(heapCommitted))
        .append(")\n");
    if (!failures.isEmpty()) {
      b.append("failures (the first ").append(Math.min(FAILURES_SHOWN, failures.size())).append("):\n");
      failures.stream().limit(FAILURES_SHOWN).forEach(f -> b.append("- ").append(f).append('\n'));
    }
    return b.toString();
  }
}
