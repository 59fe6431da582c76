package io.zswapd.testkit.fuzz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Watches the daemon's process while the run lasts: alive (a death fails the run at once), its
 * resident memory from {@code /proc/PID/status} (VmRSS) every 200 ms, with the maximum kept and
 * a configured bound enforced, and, if asked, its Java heap from {@code jcmd PID GC.heap_info}.
 * Logs the figures every ten seconds so a soak's log shows how memory moved.
 */
final class DaemonWatch implements Runnable {
  private static final Pattern RSS = Pattern.compile("VmRSS:\\s+(\\d+) kB");
  /**
   * The heap's lines of {@code GC.heap_info} ("garbage-first heap   total 262144K, used 10240K
   * [..."), not metaspace's: G1's "garbage-first heap", the serial collector's "def new
   * generation" and "tenured generation" (JDK 17) or "DefNew" and "Tenured" (JDK 25).
   */
  private static final Pattern HEAP = Pattern.compile("(?m)^\\s*(?:(?!Metaspace|class space)[a-z -]*(?:heap|generation)"
      + "|DefNew|Tenured)\\s+total (\\d+)K, used (\\d+)K");
  private static final long LOG_EVERY_NANOS = Duration.ofSeconds(10).toNanos();

  private final long pid;
  private final FuzzSettings settings;
  private final FuzzTally tally;
  private final AtomicLong maxRss = new AtomicLong();
  private final AtomicLong lastRss = new AtomicLong();
  private final AtomicLong maxHeapUsed = new AtomicLong(-1);
  private final AtomicLong heapCommitted = new AtomicLong(-1);
  private volatile boolean done;
  private boolean overLimit;

  DaemonWatch(long pid, FuzzSettings settings, FuzzTally tally) {
    this.pid = pid;
    this.settings = settings;
    this.tally = tally;
  }

  @Override
  public void run() {
    long nextHeap = settings.heapEvery().isZero() ? Long.MAX_VALUE : System.nanoTime();
    long nextLog = System.nanoTime() + LOG_EVERY_NANOS;
    while (!done) {
      if (!alive()) {
        tally.fail("the daemon (pid " + pid + ") died during the run; last RSS " + mib(lastRss.get()) + ", max "
            + mib(maxRss.get()));
        return;
      }
      rss().ifPresent(this::recordRss);
      if (System.nanoTime() - nextHeap >= 0) {
        sampleHeap();
        nextHeap = System.nanoTime() + settings.heapEvery().toNanos();
      }
      if (System.nanoTime() - nextLog >= 0) {
        tally.log("daemon: RSS " + mib(lastRss.get()) + " (max " + mib(maxRss.get()) + ")"
            + (maxHeapUsed.get() < 0 ? "" : ", heap used max " + mib(maxHeapUsed.get())) + ", "
            + tally.operations() + " operations");
        nextLog = System.nanoTime() + LOG_EVERY_NANOS;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  void stop() {
    done = true;
  }

  boolean alive() {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  long maxRss() {
    return maxRss.get();
  }

  /** Most heap in use seen by jcmd, or -1 if never sampled. */
  long maxHeapUsed() {
    return maxHeapUsed.get();
  }

  /** The heap's committed size at the last sample, or -1. */
  long heapCommitted() {
    return heapCommitted.get();
  }

  /** One heap sample now (also at the end of a run, when sampling is off). */
  void sampleHeap() {
    Path jcmd = jcmd();
    if (jcmd == null) {
      return;
    }
    try {
      Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "GC.heap_info").redirectErrorStream(true)
          .start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return;
      }
      Matcher m = HEAP.matcher(new String(out, StandardCharsets.UTF_8));
      long used = 0;
      long total = 0;
      while (m.find()) {
        total += Long.parseLong(m.group(1)) << 10;
        used += Long.parseLong(m.group(2)) << 10;
      }
      if (total > 0) {
        heapCommitted.set(total);
        maxHeapUsed.accumulateAndGet(used, Math::max);
      }
    } catch (IOException e) {
      // jcmd could not attach (the daemon is busy or gone): no sample
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The jcmd of the daemon's own JDK (beside its java), which can attach to it whatever JDK runs
   * the fuzzer; else this JDK's.
   */
  private Path jcmd() {
    try {
      Path own = Path.of("/proc", Long.toString(pid), "exe").toRealPath().resolveSibling("jcmd");
      if (Files.isExecutable(own)) {
        return own;
      }
    } catch (IOException e) {
      // the daemon is gone, or its executable cannot be read
    }
    Path here = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    return Files.isExecutable(here) ? here : null;
  }

  private void recordRss(long rss) {
    lastRss.set(rss);
    long max = maxRss.accumulateAndGet(rss, Math::max);
    if (settings.rssLimit() > 0 && max > settings.rssLimit() && !overLimit) {
      overLimit = true;
      tally.fail("the daemon's RSS reached " + mib(max) + ", over the --rss-limit of " + mib(settings.rssLimit()));
    }
  }

  private Optional<Long> rss() {
    try {
      Matcher m = RSS.matcher(Files.readString(Path.of("/proc", Long.toString(pid), "status")));
      return m.find() ? Optional.of(Long.parseLong(m.group(1)) << 10) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  static String mib(long bytes) {
    return bytes < 0 ? "n/a" : String.format("%.1f MiB", bytes / 1048576.0);
  }
}
