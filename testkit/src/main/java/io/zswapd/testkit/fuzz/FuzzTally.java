package io.zswapd.testkit.fuzz;

import io.zswapd.protocol.nbd.Nbd;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a fuzz run counted, shared by its threads: operations by kind, error answers by code,
 * events (how sessions ended, floods that met backpressure), mismatches, and failures. The
 * first failure stops the run: every thread polls {@link #stopped()}.
 *
 * <p>Test code: counters are concurrent maps of adders, not actor state.
 */
final class FuzzTally {
  private final long seed;
  private final PrintStream log;
  private final long startNanos = System.nanoTime();
  private final AtomicLong operations = new AtomicLong();
  private final Map<String, LongAdder> ops = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> events = new ConcurrentHashMap<>();
  private final LongAdder mismatches = new LongAdder();
  private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
  private volatile boolean stopped;

  FuzzTally(long seed, PrintStream log) {
    this.seed = seed;
    this.log = log;
  }

  /** A line of the run's log, stamped with the seconds since the start. */
  void log(String line) {
    synchronized (log) {
      log.printf(Locale.ROOT, "[%7.1fs] %s%n", (System.nanoTime() - startNanos) / 1e9, line);
      log.flush();
    }
  }

  /** One operation sent: a request, an option, a connection of a flood. */
  void op(String kind) {
    ops.computeIfAbsent(kind, k -> new LongAdder()).increment();
    operations.incrementAndGet();
  }

  /**
   * {@code n} requests or connections of a flood: listed by kind, but not counted in
   * {@link #operations()}, so a flood cannot use up the budget of checked operations.
   */
  void floodOps(String kind, long n) {
    ops.computeIfAbsent(kind, k -> new LongAdder()).add(n);
  }

  /** An error answer the server gave (expected or not; a wrong one is also a failure). */
  void error(int code) {
    errors.computeIfAbsent(Nbd.errorName(code), k -> new LongAdder()).increment();
  }

  void event(String what) {
    events.computeIfAbsent(what, k -> new LongAdder()).increment();
  }

  /** A READ that returned bytes the model says were never written there. Also a failure. */
  void mismatch(String what) {
    mismatches.increment();
    fail("MISMATCH " + what);
  }

  /** Records a failure and stops the run. */
  void fail(String what) {
    failures.add("[seed " + seed + "] " + what);
    if (!stopped) {
      log("FAILURE, stopping: " + what);
    }
    stopped = true;
  }

  /** Ends the run without a failure (time or operation budget reached). */
  void stop() {
    stopped = true;
  }

  boolean stopped() {
    return stopped;
  }

  long operations() {
    return operations.get();
  }

  long mismatches() {
    return mismatches.sum();
  }

  List<String> failures() {
    return List.copyOf(failures);
  }

  Map<String, Long> opsByKind() {
    return sorted(ops);
  }

  Map<String, Long> errorsByCode() {
    return sorted(errors);
  }

  Map<String, Long> events() {
    return sorted(events);
  }

  private static Map<String, Long> sorted(Map<String, LongAdder> m) {
    Map<String, Long> s = new TreeMap<>();
    m.forEach((k, v) -> s.put(k, v.sum()));
    return s;
  }
}
