package io.zswapd.testkit.bench;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Embedded store/load throughput next to raw lz4-java on the same pages, in the same run, and
 * the memory figures after a steady 1 GiB write. Prints a Markdown table for docs/BENCHMARKS.md.
 *
 * <p>Run: {@code testkit/bench/embedded.sh} (builds, then runs this class with a 4 GiB heap).
 * Arguments: {@code [seconds-per-measurement (default 5)] [gib-for-memory-run (default 1, 0 skips it)]};
 * {@code -Dzswapd.bench.rounds=N} (default 3) rounds of every measurement.
 */
public final class EmbeddedBenchmark {
  private static final int DISTINCT = 8192;          // pages cycled through (32 MiB of input)
  private static final int IN_FLIGHT = 256;          // outstanding engine requests
  /** What the daemon runs with; the test fixture would turn checked memory on. */
  private static final String PRODUCTION = "zswapd.pool.migration.checked-memory = off\n"
      + System.getProperty("zswapd.bench.extra", "") + "\n";

  /**
   * The engine on a dispatcher of its own, one thread per core and batches of 64, as the
   * reference.conf example shows for an application that embeds it (Akka's default
   * dispatcher has at least 8 threads, which on 2 cores cost single-page stores about half
   * their throughput). {@code -Dzswapd.bench.default-dispatcher=true} runs on Akka's default.
   */
  private static final String ENGINE_DISPATCHER = Boolean.getBoolean("zswapd.bench.default-dispatcher") ? ""
      : "bench.zswapd-dispatcher { type = Dispatcher, executor = \"fork-join-executor\",\n"
      + "  fork-join-executor { parallelism-min = 2, parallelism-factor = 1.0, parallelism-max = 2 },\n"
      + "  throughput = 64 }\n"
      + "zswapd-engine-dispatcher = \"bench.zswapd-dispatcher\"\n";
  private static final int RANGE = 32;               // pages per range request (128 KiB)
  private static final int RANGES_IN_FLIGHT = 8;     // outstanding range requests (256 pages)

  public static void main(String[] args) throws Exception {
    double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
    int gib = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    System.out.printf(Locale.ROOT, "# zswapd embedded benchmark: %d cores, %s, java %s%n",
        Runtime.getRuntime().availableProcessors(), System.getProperty("os.arch"), System.getProperty("java.version"));
    PageGenerator.Kind[] kinds = {PageGenerator.Kind.C25, PageGenerator.Kind.C50, PageGenerator.Kind.C75,
        PageGenerator.Kind.ZERO};
    StringBuilder single = new StringBuilder();
    StringBuilder ranges = new StringBuilder();
    StringBuilder chained = new StringBuilder();
    // Production settings, not the test fixture's: unchecked memory, metrics served (on a free port).
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 2 GiB\n"
        + "zswapd.exports = [ { name = bench, size = 64 GiB } ]\n" + PRODUCTION + ENGINE_DISPATCHER
        + "zswapd.metrics.prometheus = \"127.0.0.1:0\"\n")) {
      Zswapd z = engine.zswapd();
      long base = 0;
      for (PageGenerator.Kind kind : kinds) {
        PageGenerator gen = new PageGenerator(kind.ordinal());
        byte[][] pages = new byte[DISTINCT][];
        for (int i = 0; i < DISTINCT; i++) {
          pages[i] = gen.page(i, kind);
        }
        byte[] contiguous = new byte[DISTINCT * 4096];
        for (int i = 0; i < DISTINCT; i++) {
          System.arraycopy(pages[i], 0, contiguous, i * 4096, 4096);
        }
        // Rounds of every measurement in turn, so a burst of noise on the shared machine hits
        // one round of each, not all of one; each figure is the median, each ratio the median
        // of the rounds' ratios (a ratio pairs measurements taken a few seconds apart).
        int rounds = Integer.getInteger("zswapd.bench.rounds", 3);
        double[][] f = new double[9][rounds];
        for (int r = 0; r < rounds; r++) {
          RawFigures raw = rawLz4(pages, seconds);
          f[0][r] = raw.compress;
          f[1][r] = raw.decompress;
          f[2][r] = engineStores(z, pages, base, seconds);
          f[3][r] = engineLoads(z, base, seconds);
          f[4][r] = rangeStores(z, contiguous, base, seconds);
          f[5][r] = rangeLoads(z, base, seconds);
          f[6][r] = raw.avgSize;
          f[7][r] = chainedStores(z, pages, base, seconds);
          f[8][r] = chainedLoads(z, base, seconds);
        }
        single.append(row(kind, f, 2, 3)).append(String.format(Locale.ROOT, " %.0f B |%n", median(f[6])));
        chained.append(row(kind, f, 7, 8)).append(System.lineSeparator());
        ranges.append(row(kind, f, 4, 5)).append(System.lineSeparator());
        base += DISTINCT;
        z.invalidateArea("bench").toCompletableFuture().join();
      }
    }
    System.out.println();
    System.out.println("Medians of " + Integer.getInteger("zswapd.bench.rounds", 3) + " rounds; engine dispatcher: "
        + (ENGINE_DISPATCHER.isEmpty() ? "Akka's default" : "its own, 2 threads, throughput 64") + ".");
    printTable("Single pages (`store`, `load`) from two client threads, " + IN_FLIGHT / 2
        + " requests in flight each (a client sleeps when all are out, wakes when half are answered):",
        "engine", true, single);
    printTable("Single pages issued from the callbacks of earlier ones (as actors and streams do), "
        + IN_FLIGHT + " in flight:", "engine", false, chained);
    printTable(RANGE + "-page ranges (`storePages`, `loadPages`; " + RANGES_IN_FLIGHT + " requests in flight):",
        "range", false, ranges);
    if (gib > 0) {
      memoryRun(gib, Boolean.getBoolean("zswapd.bench.histogram"));
    }
  }

  /**
   * A table row without its line end: the raw codec's figures (f[0] compress, f[1] decompress),
   * the engine's ({@code f[store]}, {@code f[load]}), and the median of each round's ratio.
   */
  private static String row(PageGenerator.Kind kind, double[][] f, int store, int load) {
    int rounds = f[0].length;
    double[] storeRatio = new double[rounds];
    double[] loadRatio = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      storeRatio[r] = f[store][r] / f[0][r];
      loadRatio[r] = f[load][r] / f[1][r];
    }
    return String.format(Locale.ROOT, "| %s | %,.0f | %,.0f | %.2f | %,.0f | %,.0f | %.2f |", label(kind),
        median(f[0]), median(f[store]), median(storeRatio), median(f[1]), median(f[load]), median(loadRatio));
  }

  private static void printTable(String title, String engine, boolean withSize, CharSequence rows) {
    System.out.println();
    System.out.println(title);
    System.out.println();
    System.out.println("| pages | raw lz4 compress (pages/s) | " + engine + " store (pages/s) | store / raw "
        + "| raw lz4 decompress (pages/s) | " + engine + " load (pages/s) | load / raw |"
        + (withSize ? " compressed size |" : ""));
    System.out.println("|---|---|---|---|---|---|---|" + (withSize ? "---|" : ""));
    System.out.print(rows);
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    java.util.Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static String label(PageGenerator.Kind kind) {
    return switch (kind) {
      case C25 -> "25% compressible";
      case C50 -> "50% compressible";
      case C75 -> "75% compressible";
      case ZERO -> "zero (same-filled)";
      default -> kind.name();
    };
  }

  private record RawFigures(double compress, double decompress, double avgSize) {}

  private static RawFigures rawLz4(byte[][] pages, double seconds) {
    LZ4Factory f = LZ4Factory.fastestInstance();
    LZ4Compressor c = f.fastCompressor();
    LZ4SafeDecompressor d = f.safeDecompressor();
    byte[][] compressed = new byte[pages.length][];
    byte[] out = new byte[c.maxCompressedLength(4096)];
    long total = 0;
    for (int i = 0; i < pages.length; i++) {
      int n = c.compress(pages[i], 0, 4096, out, 0, out.length);
      compressed[i] = java.util.Arrays.copyOf(out, n);
      total += n;
    }
    // warm-up, then timed: compress into a scratch array and copy out, as the engine does
    timed(seconds / 3, i -> c.compress(pages[i % pages.length], 0, 4096, out, 0, out.length));
    double comp = timed(seconds, i -> {
      int n = c.compress(pages[i % pages.length], 0, 4096, out, 0, out.length);
      return java.util.Arrays.copyOf(out, n).length;
    });
    byte[] page = new byte[4096];
    timed(seconds / 3, i -> d.decompress(compressed[i % pages.length], 0, compressed[i % pages.length].length, page, 0));
    double decomp = timed(seconds, i -> {
      byte[] p = new byte[4096]; // the engine hands out a fresh page per load
      return d.decompress(compressed[i % pages.length], 0, compressed[i % pages.length].length, p, 0);
    });
    return new RawFigures(comp, decomp, (double) total / pages.length);
  }

  private interface Op {
    int run(int i);
  }

  private static double timed(double seconds, Op op) {
    long end = System.nanoTime() + (long) (seconds * 1e9);
    long n = 0;
    long start = System.nanoTime();
    int sink = 0;
    while ((n & 255) != 0 || System.nanoTime() < end) {
      sink += op.run((int) n);
      n++;
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    if (sink == 42) {
      System.out.print("");
    }
    return n / elapsed;
  }

  /** Stores pages from two client threads, each keeping IN_FLIGHT/2 requests outstanding. */
  private static double engineStores(Zswapd z, byte[][] pages, long base, double seconds) throws Exception {
    return warmed(EmbeddedBenchmark::runClients, seconds,
        i -> z.store("bench", base + (i % DISTINCT), pages[i % DISTINCT]));
  }

  private static double engineLoads(Zswapd z, long base, double seconds) throws Exception {
    return warmed(EmbeddedBenchmark::runClients, seconds, i -> z.load("bench", base + (i % DISTINCT)));
  }

  private static double chainedStores(Zswapd z, byte[][] pages, long base, double seconds) throws Exception {
    return warmed(EmbeddedBenchmark::runChained, seconds,
        i -> z.store("bench", base + (i % DISTINCT), pages[i % DISTINCT]));
  }

  private static double chainedLoads(Zswapd z, long base, double seconds) throws Exception {
    return warmed(EmbeddedBenchmark::runChained, seconds, i -> z.load("bench", base + (i % DISTINCT)));
  }

  /** A way of driving the engine with {@code op} for {@code seconds}; requests per second. */
  private interface Driver {
    double run(double seconds, AsyncOp op) throws Exception;
  }

  /** A third of the time to warm up, then the measurement. */
  private static double warmed(Driver driver, double seconds, AsyncOp op) throws Exception {
    driver.run(seconds / 3, op);
    return driver.run(seconds, op);
  }

  /**
   * Requests per second when each of {@link #IN_FLIGHT} chains issues its next request from the
   * completion of the one before, on whatever thread completed it: how an actor (answering
   * itself through {@code pipeToSelf}) or a stream ({@code mapAsync}) drives the engine, with no
   * thread of its own to wake.
   */
  private static double runChained(double seconds, AsyncOp op) throws Exception {
    Deadline end = new Deadline(seconds);
    java.util.concurrent.atomic.LongAdder count = new java.util.concurrent.atomic.LongAdder();
    java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(IN_FLIGHT);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    long start = System.nanoTime();
    for (int c = 0; c < IN_FLIGHT; c++) {
      new Chain(c, op, end, count, finished, failure).next();
    }
    finished.await();
    if (failure.get() != null) {
      throw new IllegalStateException("engine request failed", failure.get());
    }
    return count.sum() / ((System.nanoTime() - start) / 1e9);
  }

  /** One chain of {@link #runChained}; a request that completes at once loops instead of recursing. */
  private record Chain(int first, AsyncOp op, Deadline end, java.util.concurrent.atomic.LongAdder count,
      java.util.concurrent.CountDownLatch finished, AtomicReference<Throwable> failure) {
    void next() {
      next(first);
    }

    private void next(int i) {
      while (!end.passed() && failure.get() == null) {
        java.util.concurrent.CompletableFuture<?> f = op.run(i).toCompletableFuture();
        int following = i + IN_FLIGHT;
        if (!f.isDone()) {
          f.whenComplete((v, e) -> {
            done(e);
            next(following);
          });
          return;
        }
        done(f.isCompletedExceptionally() ? f.handle((v, e) -> e).join() : null);
        i = following;
      }
      finished.countDown();
    }

    private void done(Throwable e) {
      if (e != null) {
        failure.compareAndSet(null, e);
      }
      count.increment();
    }
  }

  /** Pages per second through {@code storePages}, {@link #RANGE} pages a request. */
  private static double rangeStores(Zswapd z, byte[] contiguous, long base, double seconds) throws Exception {
    int perRound = DISTINCT / RANGE;
    AsyncOp op = i -> {
      int r = i % perRound;
      return z.storePages("bench", base + (long) r * RANGE,
          java.nio.ByteBuffer.wrap(contiguous, r * RANGE * 4096, RANGE * 4096));
    };
    return RANGE * warmed((t, o) -> runClients(t, RANGES_IN_FLIGHT, o), seconds, op);
  }

  private static double rangeLoads(Zswapd z, long base, double seconds) throws Exception {
    int perRound = DISTINCT / RANGE;
    AsyncOp op = i -> z.loadPages("bench", base + (long) (i % perRound) * RANGE, RANGE);
    return RANGE * warmed((t, o) -> runClients(t, RANGES_IN_FLIGHT, o), seconds, op);
  }

  /**
   * The end of a measurement, set by a timer thread: a request loop reads one field instead of
   * the clock (a clock read a request cost the engine's side several percent on this virtual
   * machine, where the raw codec's loop reads it once per 256 pages).
   */
  static final class Deadline {
    private volatile boolean passed;

    Deadline(double seconds) {
      Thread timer = new Thread(() -> {
        try {
          Thread.sleep((long) (seconds * 1000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        passed = true;
      }, "bench-deadline");
      timer.setDaemon(true);
      timer.start();
    }

    boolean passed() {
      return passed;
    }
  }

  private interface AsyncOp {
    java.util.concurrent.CompletionStage<?> run(int i);
  }

  /**
   * One client thread's requests in flight. The thread issues until its window is full, then
   * sleeps until half of it has been answered, as an I/O loop reaps completions in batches. A
   * semaphore permit per request would wake it at every answer (and so does
   * {@code Semaphore.acquire(n)}: each release wakes the waiter to try again); on this machine
   * that wake-up cost a same-filled load's client more CPU than the engine's work for it.
   */
  static final class Window {
    private final int size;
    private final Thread owner = Thread.currentThread();
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    private volatile int wakeAt;
    private volatile boolean sleeping;

    Window(int size) {
      this.size = size;
    }

    /** Owner only: room for one more request, sleeping first while the window is full. */
    void acquire() {
      if (inFlight.get() >= size) {
        awaitAtMost(size / 2);
      }
      inFlight.incrementAndGet();
    }

    /** Owner only: sleeps until at most {@code n} requests are in flight. */
    void awaitAtMost(int n) {
      wakeAt = n;
      sleeping = true;
      while (inFlight.get() > n) {
        java.util.concurrent.locks.LockSupport.park(this);
      }
      sleeping = false;
    }

    /**
     * Any thread: a request answered. The owner's writes (wake-at, then sleeping) and read (in
     * flight) and this decrement and reads (sleeping, then wake-at) are all volatile, so either
     * the owner sees the count low enough and does not sleep, or this sees it asleep and wakes it.
     */
    void release() {
      int left = inFlight.decrementAndGet();
      if (sleeping && left <= wakeAt) {
        java.util.concurrent.locks.LockSupport.unpark(owner);
      }
    }
  }

  private static double runClients(double seconds, AsyncOp op) throws Exception {
    return runClients(seconds, IN_FLIGHT, op);
  }

  private static double runClients(double seconds, int inFlight, AsyncOp op) throws Exception {
    int clients = 2;
    Deadline end = new Deadline(seconds);
    long[] counts = new long[clients];
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread[] threads = new Thread[clients];
    long start = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      int client = c;
      threads[c] = new Thread(() -> {
        Window window = new Window(inFlight / clients);
        int i = client;
        long n = 0;
        while (!end.passed() && failure.get() == null) {
          window.acquire();
          op.run(i).whenComplete((v, e) -> {
            if (e != null) {
              failure.compareAndSet(null, e);
            }
            window.release();
          });
          i += clients;
          n++;
        }
        window.awaitAtMost(0);
        counts[client] = n;
      });
      threads[c].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    if (failure.get() != null) {
      throw new IllegalStateException("engine request failed", failure.get());
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    return total / elapsed;
  }

  /** Steady write of {@code gib} GiB of mixed non-zero pages: pool overhead and heap metadata per page. */
  private static void memoryRun(int gib, boolean histogram) throws Exception {
    long pages = (long) gib << 18;
    MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
    // The engine's own metadata: the Prometheus reporter's per-tick snapshots are not per page.
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = " + (gib * 2 + 1) + " GiB\n"
        + "zswapd.exports = [ { name = bench, size = " + (gib * 2) + " GiB } ]\n" + PRODUCTION
        + "zswapd.metrics { prometheus = off, tick-interval = 100ms }\n")) {
      Zswapd z = engine.zswapd();
      z.stats().toCompletableFuture().join();
      PageGenerator gen = new PageGenerator(99);
      PageGenerator.Kind[] kinds = {PageGenerator.Kind.C25, PageGenerator.Kind.C50, PageGenerator.Kind.C75,
          PageGenerator.Kind.TEXT};
      byte[][] samples = new byte[4096][];
      for (int i = 0; i < samples.length; i++) {
        samples[i] = gen.page(i, kinds[i % kinds.length]);
        samples[i][0] = (byte) i; // distinct
      }
      // The metrics publisher registers its Kamon instruments (per export, per size class) at its
      // first tick: a fixed cost, not the pages', so it happens before the baseline.
      Thread.sleep(500);
      long heapBefore = settledHeap(mem); // after the input pages exist, so only the engine's growth counts
      java.util.Map<String, Long> histoBefore = histogram ? liveHistogram() : null;
      Semaphore window = new Semaphore(IN_FLIGHT);
      long t0 = System.nanoTime();
      // A second reading halfway, write paused: growth over the second half is the cost of more
      // pages alone, without one-time costs such as the first use of the store path's code.
      long half = pages / 2;
      long heapHalf = 0;
      long paused = 0;
      for (long p = 0; p < pages; p++) {
        if (p == half) {
          long pause = System.nanoTime();
          window.acquireUninterruptibly(IN_FLIGHT);
          heapHalf = settledHeap(mem);
          window.release(IN_FLIGHT);
          paused = System.nanoTime() - pause;
        }
        window.acquireUninterruptibly();
        z.store("bench", p, samples[(int) (p % samples.length)]).whenComplete((v, e) -> window.release());
      }
      window.acquireUninterruptibly(IN_FLIGHT);
      double secs = (System.nanoTime() - t0 - paused) / 1e9;
      EngineStats s = z.stats().toCompletableFuture().join();
      long heapAfter = settledHeap(mem);
      System.out.println();
      System.out.printf(Locale.ROOT, "Steady write of %d GiB (%,d pages, mixed 25/50/75%%/text) in %.1f s%n", gib,
          pages, secs);
      System.out.println();
      System.out.println("| figure | value |");
      System.out.println("|---|---|");
      System.out.printf(Locale.ROOT, "| orig_data_size | %,d B |%n", s.exports().get(0).origDataSize());
      System.out.printf(Locale.ROOT, "| compr_data_size | %,d B |%n", s.comprDataSize());
      System.out.printf(Locale.ROOT, "| mem_used_total | %,d B |%n", s.pool().memUsedTotal());
      System.out.printf(Locale.ROOT, "| mem_used_total / compr_data_size | %.4f |%n",
          (double) s.pool().memUsedTotal() / s.comprDataSize());
      System.out.printf(Locale.ROOT, "| off-heap bytes held (chunks) | %,d B |%n", s.pool().arenaBytesHeld());
      System.out.printf(Locale.ROOT, "| heap growth per stored page | %.1f B |%n",
          (double) (heapAfter - heapBefore) / pages);
      System.out.printf(Locale.ROOT, "| heap growth per stored page, second half of the write only | %.1f B |%n",
          (double) (heapAfter - heapHalf) / (pages - half));
      if (Boolean.getBoolean("zswapd.bench.classes")) {
        // Where the zspage metadata goes: 9.5 bytes per zspage (state, first page, group bits),
        // 4 + 4 * ppz more for one whose pages are listed rather than a run; shared by its objects.
        System.out.println();
        System.out.println("| class size | pages/zspage | objs/zspage | objects used | zspages | listed | "
            + "zspage heap B/object |");
        System.out.println("|---|---|---|---|---|---|---|");
        s.classes().stream().filter(c -> c.objsUsed() > 0).forEach(c -> System.out.printf(Locale.ROOT,
            "| %d | %d | %d | %,d | %,d | %,d | %.2f |%n", c.size(), c.pagesPerZspage(), c.objsPerZspage(),
            c.objsUsed(), c.zspages(), c.zspagesListed(),
            (9.5 * c.zspages() + (4.0 + 4 * c.pagesPerZspage()) * c.zspagesListed()) / c.objsUsed()));
      }
      if (histogram) {
        // What grew: the live heap by class, after minus before, largest first.
        java.util.Map<String, Long> after = liveHistogram();
        System.out.println();
        System.out.println("| class | bytes grown | per stored page |");
        System.out.println("|---|---|---|");
        after.entrySet().stream()
            .map(e -> java.util.Map.entry(e.getKey(), e.getValue() - histoBefore.getOrDefault(e.getKey(), 0L)))
            .filter(e -> e.getValue() > 4096)
            .sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(12)
            .forEach(e -> System.out.printf(Locale.ROOT, "| %s | %,d | %.2f |%n", e.getKey(), e.getValue(),
                (double) e.getValue() / pages));
      }
    }
  }

  /** Bytes of live objects by class name, from {@code jmap -histo:live} on this process. */
  private static java.util.Map<String, Long> liveHistogram() throws Exception {
    Process p = new ProcessBuilder("jmap", "-histo:live", String.valueOf(ProcessHandle.current().pid()))
        .redirectErrorStream(true).start();
    java.util.Map<String, Long> bytes = new java.util.HashMap<>();
    try (java.io.BufferedReader r = p.inputReader()) {
      String line;
      while ((line = r.readLine()) != null) {
        String[] f = line.trim().split("\\s+");
        if (f.length >= 4 && f[0].endsWith(":")) {
          bytes.merge(f[3], Long.parseLong(f[2]), Long::sum);
        }
      }
    }
    p.waitFor();
    return bytes;
  }

  /**
   * The live heap: what the heap pools held right after a full collection (their collection
   * usage), not whatever was allocated between the collection and the reading. The least of
   * five, as a late reference can survive one collection.
   */
  private static long settledHeap(MemoryMXBean mem) throws InterruptedException {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      long afterGc = 0;
      for (java.lang.management.MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
        if (pool.getType() == java.lang.management.MemoryType.HEAP && pool.getCollectionUsage() != null) {
          afterGc += pool.getCollectionUsage().getUsed();
        }
      }
      used = Math.min(used, afterGc);
      Thread.sleep(100);
    }
    return used;
  }
}
