package io.zswapd.testkit.bench;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.tree.TreeShard;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * How the engine scales with client threads: 1, 2, 4, ... up to twice the cores, single pages
 * and 32-page ranges, next to raw lz4-java compressing and decompressing the same pages on the
 * same number of threads in the same run. Every loaded page is compared with what was stored
 * (the raw decompressions too, so both sides pay for the check); the raw figure is the median
 * of three runs of a third of the time each. Besides pages per second, each
 * engine measurement gives the cores busy (process CPU time over wall time) and the thread
 * wake-ups per page (voluntary context switches of every thread of the process, from
 * {@code /proc}, divided by the pages moved): the cost of handing work between threads.
 *
 * <p>Pages are 50% compressible and spread over {@link #SHARDS} tree shards; each client thread
 * owns {@link #PAGES_PER_THREAD} of them and keeps {@link #IN_FLIGHT} single-page requests (or
 * {@link #RANGES_IN_FLIGHT} range requests) outstanding. The engine runs on a dispatcher of its
 * own with one thread per core.
 *
 * <p>Run: {@code testkit/bench/scaling.sh [seconds-per-measurement (default 3)] [max-threads
 * (default twice the cores)]}. Prints Markdown for docs/BENCHMARKS.md.
 *
 * <p>One cell, for a profiler: {@code scaling.sh SECONDS THREADS store} (or {@code load}) runs
 * only single-page stores (loads) on exactly {@code THREADS} client threads, once to warm up and
 * once measured, each {@code SECONDS} long, and prints one line with CPU us per page; attach the
 * profiler after the line {@code measuring}. The engine's executor can be swapped for a trial
 * with {@code -Dzswapd.bench.executor='affinity-pool-executor { ... }'} in {@code JAVA_OPTS}
 * (the executor line of an Akka dispatcher; the default is a fork-join pool of one thread per core).
 */
public final class ScalingBenchmark {
  static final int PAGES_PER_THREAD = 4096;
  static final int IN_FLIGHT = 128;
  static final int RANGE = 32;
  static final int RANGES_IN_FLIGHT = 4;
  static final int SHARDS = 16;
  private static final int PAGE = 4096;

  private final Zswapd z;
  private final byte[][] pages;
  /** The same pages end to end, for range stores: range {@code q} is pages {@code q * RANGE ...}. */
  private final byte[] contiguous;
  private final double seconds;

  private ScalingBenchmark(Zswapd z, byte[][] pages, double seconds) {
    this.z = z;
    this.pages = pages;
    this.contiguous = new byte[pages.length * PAGE];
    for (int p = 0; p < pages.length; p++) {
      System.arraycopy(pages[p], 0, contiguous, p * PAGE, PAGE);
    }
    this.seconds = seconds;
  }

  public static void main(String[] args) throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3;
    int maxThreads = args.length > 1 ? Integer.parseInt(args[1]) : 2 * cores;
    System.out.printf(Locale.ROOT, "# zswapd scaling benchmark: %d cores, %s, java %s, %.1f s per measurement%n",
        cores, System.getProperty("os.arch"), System.getProperty("java.version"), seconds);
    PageGenerator gen = new PageGenerator(16);
    byte[][] pages = new byte[maxThreads * PAGES_PER_THREAD][];
    for (int p = 0; p < pages.length; p++) {
      pages[p] = gen.page(p, PageGenerator.Kind.C50);
    }
    String hocon = "zswapd.pool.max-size = 1 GiB\n"
        + "zswapd.pool.migration.checked-memory = off\n"
        + "zswapd.exports = [ { name = bench, size = " + SHARDS * 64 + " MiB } ]\n"
        + "zswapd.metrics.prometheus = off\n"
        + "bench.zswapd-dispatcher { type = Dispatcher, throughput = 64, executor = "
        + System.getProperty("zswapd.bench.executor", "fork-join-executor, fork-join-executor { parallelism-min = "
            + cores + ", parallelism-factor = 1.0, parallelism-max = " + cores + " }") + " }\n"
        + "zswapd-engine-dispatcher = \"bench.zswapd-dispatcher\"\n";
    List<String> single = new ArrayList<>();
    List<String> ranges = new ArrayList<>();
    try (EngineFixture engine = EngineFixture.start(hocon)) {
      ScalingBenchmark b = new ScalingBenchmark(engine.zswapd(), pages, seconds);
      if (args.length > 2) {
        b.oneCell(args[2], maxThreads);
        return;
      }
      // warm-up of every path, not printed: raw lz4 first, while the compiler has nothing else
      // to do, so that the one-thread figures, measured first, never run in loops still waiting
      // to be compiled behind the engine's code (scaling.sh also pre-touches the heap: with both,
      // one raw thread gives 310-380k pages/s in most runs, where it gave 80-370k; BENCHMARKS)
      b.raw(1, 2, true);
      b.raw(1, 2, false);
      b.run(1, true);
      for (int threads = 1; threads <= maxThreads; threads *= 2) {
        Row r = b.run(threads, false);
        single.add(r.single());
        ranges.add(r.ranges());
        System.out.println("threads " + threads + " done; raw lz4 cores busy: " + r.rawCores());
      }
    }
    printTable("Single pages (`store`, `load`), " + IN_FLIGHT + " requests in flight per client thread:", "",
        single);
    printTable(RANGE + "-page ranges (`storePages`, `loadPages`), " + RANGES_IN_FLIGHT
        + " requests in flight per client thread:", "range ", ranges);
  }

  private static void printTable(String title, String kind, List<String> rows) {
    System.out.println();
    System.out.println(title);
    System.out.println();
    System.out.println("| client threads | raw lz4 compress (pages/s) | " + kind + "store (pages/s) | store / raw "
        + "| cores busy | wake-ups / page | raw lz4 decompress (pages/s) | " + kind + "load (pages/s) | load / raw "
        + "| cores busy | wake-ups / page |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
    rows.forEach(System.out::println);
  }

  /** One line of each table. */
  private record Row(String single, String ranges, String rawCores) {}

  /** What one measurement moved: pages per second, cores busy, wake-ups per page. */
  private record Figures(double pagesPerSecond, double coresBusy, double wakeupsPerPage) {}

  /** Single-page stores or loads on {@code threads} client threads: a warm-up, then one measurement. */
  private void oneCell(String what, int threads) throws Exception {
    boolean store = what.equals("store");
    if (!store && !what.equals("load")) {
      throw new IllegalArgumentException("the third argument is store or load, not " + what);
    }
    Op op = store ? this::storeOne : this::loadOne;
    Check check = store ? null : this::checkOne;
    drive(threads, IN_FLIGHT, 1, seconds, op, check);
    System.out.println("measuring");
    long cpu0 = processCpuNanos();
    Figures f = drive(threads, IN_FLIGHT, 1, seconds, op, check);
    double cpuPerPage = (processCpuNanos() - cpu0) / 1e3 / (f.pagesPerSecond() * seconds);
    System.out.printf(Locale.ROOT, "%s, %d client threads: %,.0f pages/s, %.2f cores busy, %.2f wake-ups / page, "
        + "%.1f us CPU / page%n", what, threads, f.pagesPerSecond(), f.coresBusy(), f.wakeupsPerPage(), cpuPerPage);
  }

  private Row run(int threads, boolean warmUp) throws Exception {
    double s = warmUp ? Math.max(1, seconds / 3) : seconds;
    // the peer: the median of three thirds, so one stall of the shared machine does not make it
    Figures compress = medianRaw(threads, s, true);
    Figures decompress = medianRaw(threads, s, false);
    Figures store = drive(threads, IN_FLIGHT, 1, s, this::storeOne, null);
    Figures load = drive(threads, IN_FLIGHT, 1, s, this::loadOne, this::checkOne);
    Figures rangeStore = drive(threads, RANGES_IN_FLIGHT, RANGE, s, this::storeRange, null);
    Figures rangeLoad = drive(threads, RANGES_IN_FLIGHT, RANGE, s, this::loadRange, this::checkRange);
    z.invalidateArea("bench").toCompletableFuture().join();
    return new Row(line(threads, compress, store, decompress, load), line(threads, compress, rangeStore, decompress,
        rangeLoad), String.format(Locale.ROOT, "%.1f compressing, %.1f decompressing", compress.coresBusy(),
        decompress.coresBusy()));
  }

  private static String line(int threads, Figures compress, Figures store, Figures decompress, Figures load) {
    return String.format(Locale.ROOT, "| %d | %,.0f | %,.0f | %.2f | %.1f | %.2f | %,.0f | %,.0f | %.2f | %.1f | %.2f |",
        threads, compress.pagesPerSecond(), store.pagesPerSecond(), store.pagesPerSecond() / compress.pagesPerSecond(),
        store.coresBusy(), store.wakeupsPerPage(), decompress.pagesPerSecond(), load.pagesPerSecond(),
        load.pagesPerSecond() / decompress.pagesPerSecond(), load.coresBusy(), load.wakeupsPerPage());
  }

  // ---- where a client thread's pages are -----------------------------------------------------

  /** The page of client {@code thread}'s slot {@code i}: consecutive slots in different shards. */
  private static int slot(int thread, int i) {
    return thread * PAGES_PER_THREAD + Math.floorMod(i, PAGES_PER_THREAD);
  }

  private static long pageIndex(int p) {
    return (long) (p % SHARDS) * TreeShard.PAGES + p / SHARDS;
  }

  /** Client {@code thread}'s range {@code i}: {@link #RANGE} pages inside one shard, ranges spread over the shards. */
  private static int range(int thread, int i) {
    return thread * (PAGES_PER_THREAD / RANGE) + Math.floorMod(i, PAGES_PER_THREAD / RANGE);
  }

  private static long rangeFirst(int q) {
    return (long) (q % SHARDS) * TreeShard.PAGES + (long) (q / SHARDS) * RANGE;
  }

  // ---- the engine's requests -----------------------------------------------------------------

  private CompletionStage<?> storeOne(int thread, int i) {
    int p = slot(thread, i);
    return z.store("bench", pageIndex(p), pages[p]);
  }

  private CompletionStage<?> loadOne(int thread, int i) {
    return z.load("bench", pageIndex(slot(thread, i)));
  }

  private boolean checkOne(int thread, int i, Object loaded) {
    return Arrays.equals((byte[]) loaded, pages[slot(thread, i)]);
  }

  private CompletionStage<?> storeRange(int thread, int i) {
    int q = range(thread, i);
    return z.storePages("bench", rangeFirst(q), ByteBuffer.wrap(contiguous, q * RANGE * PAGE, RANGE * PAGE));
  }

  private CompletionStage<?> loadRange(int thread, int i) {
    return z.loadPages("bench", rangeFirst(range(thread, i)), RANGE);
  }

  private boolean checkRange(int thread, int i, Object loaded) {
    int q = range(thread, i);
    byte[] bytes = (byte[]) loaded;
    for (int k = 0; k < RANGE; k++) {
      if (!Arrays.equals(bytes, k * PAGE, (k + 1) * PAGE, pages[q * RANGE + k], 0, PAGE)) {
        return false;
      }
    }
    return true;
  }

  private interface Op {
    CompletionStage<?> run(int thread, int i);
  }

  private interface Check {
    boolean matches(int thread, int i, Object loaded);
  }

  /**
   * {@code threads} client threads, each keeping {@code inFlight} requests outstanding for
   * {@code seconds} (an {@link EmbeddedBenchmark.Window}: it sleeps when all are out and wakes
   * when half are answered); a store pass over every slot first when {@code check} is set, so
   * every load has something to compare with.
   */
  private Figures drive(int threads, int inFlight, int pagesPerOp, double seconds, Op op, Check check)
      throws Exception {
    if (check != null) {
      fill(threads, pagesPerOp == 1 ? this::storeOne : this::storeRange, PAGES_PER_THREAD / pagesPerOp);
    }
    EmbeddedBenchmark.Deadline end = new EmbeddedBenchmark.Deadline(seconds);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    long[] counts = new long[threads];
    long[] clientSwitches = new long[threads];
    CountDownLatch drained = new CountDownLatch(threads);
    long switches0 = contextSwitches();
    long cpu0 = processCpuNanos();
    long start = System.nanoTime();
    Thread[] clients = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      int thread = t;
      clients[t] = new Thread(() -> {
        long before = threadSwitches();
        EmbeddedBenchmark.Window window = new EmbeddedBenchmark.Window(inFlight);
        int i = 0;
        while (!end.passed() && failure.get() == null) {
          window.acquire();
          int n = i++;
          op.run(thread, n).whenComplete((v, e) -> {
            if (e != null) {
              failure.compareAndSet(null, e);
            } else if (check != null && !check.matches(thread, n, v)) {
              failure.compareAndSet(null, new AssertionError("client " + thread + ", request " + n
                  + ": the loaded bytes differ from the stored ones"));
            }
            window.release();
          });
        }
        window.awaitAtMost(0);
        counts[thread] = i;
        clientSwitches[thread] = threadSwitches() - before;
        drained.countDown();
      }, "bench-client-" + t);
      clients[t].start();
    }
    drained.await();
    double wall = (System.nanoTime() - start) / 1e9;
    long cpu = processCpuNanos() - cpu0;
    long switches = contextSwitches() - switches0;
    for (Thread c : clients) {
      c.join();
    }
    if (failure.get() != null) {
      throw new IllegalStateException("engine request failed", failure.get());
    }
    long pagesMoved = Arrays.stream(counts).sum() * pagesPerOp;
    // the client threads count their own (they may end before the last reading)
    long allSwitches = switches + Arrays.stream(clientSwitches).sum();
    return new Figures(pagesMoved / wall, cpu / 1e9 / wall, (double) allSwitches / pagesMoved);
  }

  /** Stores every slot of every client once, all clients at once. */
  private void fill(int threads, Op store, int perThread) throws Exception {
    List<CompletionStage<?>> all = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      for (int i = 0; i < perThread; i++) {
        all.add(store.run(t, i));
        if (all.size() == IN_FLIGHT) {
          for (CompletionStage<?> s : all) {
            s.toCompletableFuture().get();
          }
          all.clear();
        }
      }
    }
    for (CompletionStage<?> s : all) {
      s.toCompletableFuture().get();
    }
  }

  private Figures medianRaw(int threads, double seconds, boolean compress) throws Exception {
    Figures[] f = new Figures[3];
    for (int i = 0; i < f.length; i++) {
      f[i] = raw(threads, seconds / 3, compress);
    }
    Arrays.sort(f, (a, b) -> Double.compare(a.pagesPerSecond(), b.pagesPerSecond()));
    return f[1];
  }

  /** Raw lz4 on {@code threads} threads over the same pages: compress (and copy out), or decompress and compare. */
  private Figures raw(int threads, double seconds, boolean compress) throws Exception {
    LZ4Factory f = LZ4Factory.fastestInstance();
    LZ4Compressor c = f.fastCompressor();
    LZ4SafeDecompressor d = f.safeDecompressor();
    byte[][] compressed = new byte[pages.length][];
    if (!compress) {
      byte[] out = new byte[c.maxCompressedLength(PAGE)];
      for (int p = 0; p < threads * PAGES_PER_THREAD; p++) {
        compressed[p] = Arrays.copyOf(out, c.compress(pages[p], 0, PAGE, out, 0, out.length));
      }
    }
    EmbeddedBenchmark.Deadline end = new EmbeddedBenchmark.Deadline(seconds);
    long[] counts = new long[threads];
    AtomicReference<Throwable> failure = new AtomicReference<>();
    long cpu0 = processCpuNanos();
    long start = System.nanoTime();
    Thread[] workers = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      int thread = t;
      workers[t] = new Thread(() -> {
        counts[thread] = compress ? compressLoop(c, thread, end) : decompressLoop(d, compressed, thread, end, failure);
      }, "bench-raw-" + t);
      workers[t].start();
    }
    for (Thread w : workers) {
      w.join();
    }
    double wall = (System.nanoTime() - start) / 1e9;
    if (failure.get() != null) {
      throw new IllegalStateException(failure.get());
    }
    return new Figures(Arrays.stream(counts).sum() / wall, (processCpuNanos() - cpu0) / 1e9 / wall, 0);
  }

  /** One raw thread compressing (and copying out, as the engine does) until the deadline; pages done. */
  private long compressLoop(LZ4Compressor c, int thread, EmbeddedBenchmark.Deadline end) {
    byte[] out = new byte[c.maxCompressedLength(PAGE)];
    long n = 0;
    long sink = 0;
    while ((n & 255) != 0 || !end.passed()) {
      sink += compressOne(c, pages[slot(thread, (int) n)], out);
      n++;
    }
    return sink > 0 ? n : 0;
  }

  /**
   * One page as the engine's caller compresses it: into a scratch buffer, then copied at its
   * length. A method of its own, so that the compiler compiles it by its calls rather than
   * waiting to replace the running loop.
   */
  private static int compressOne(LZ4Compressor c, byte[] page, byte[] out) {
    int len = c.compress(page, 0, PAGE, out, 0, out.length);
    return Arrays.copyOf(out, len).length;
  }

  /** One raw thread decompressing into a fresh page and comparing it, until the deadline; pages done. */
  private long decompressLoop(LZ4SafeDecompressor d, byte[][] compressed, int thread, EmbeddedBenchmark.Deadline end,
      AtomicReference<Throwable> failure) {
    long n = 0;
    while ((n & 255) != 0 || !end.passed()) {
      int p = slot(thread, (int) n);
      if (!decompressOne(d, compressed[p], pages[p])) {
        failure.set(new AssertionError("raw lz4 gave back other bytes for page " + p));
      }
      n++;
    }
    return n;
  }

  /** One page decompressed into a fresh array and compared, as a load's caller would (see compressOne). */
  private static boolean decompressOne(LZ4SafeDecompressor d, byte[] compressed, byte[] expected) {
    byte[] page = new byte[PAGE];
    d.decompress(compressed, 0, compressed.length, page, 0);
    return Arrays.equals(page, expected);
  }

  // ---- the process -----------------------------------------------------------------------------

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /**
   * Voluntary context switches of every live thread of this process but the benchmark's clients,
   * which count their own (0 where /proc has none).
   */
  private static long contextSwitches() {
    Path tasks = Path.of("/proc/self/task");
    if (!Files.isDirectory(tasks)) {
      return 0;
    }
    try (Stream<Path> all = Files.list(tasks)) {
      return all.filter(t -> !name(t).startsWith("bench-client"))
          .mapToLong(t -> voluntarySwitches(t.resolve("status"))).sum();
    } catch (IOException e) {
      return 0;
    }
  }

  private static String name(Path task) {
    try {
      return Files.readString(task.resolve("comm")).trim();
    } catch (IOException e) {
      return "";
    }
  }

  /** Voluntary context switches of the calling thread so far. */
  private static long threadSwitches() {
    return voluntarySwitches(Path.of("/proc/thread-self/status"));
  }

  private static long voluntarySwitches(Path status) {
    try {
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith("voluntary_ctxt_switches:")) {
          return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
        }
      }
    } catch (IOException | RuntimeException e) {
      // a thread that ended between the listing and the read
    }
    return 0;
  }
}
