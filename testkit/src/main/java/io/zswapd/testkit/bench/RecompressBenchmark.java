package io.zswapd.testkit.bench;

import com.sun.management.OperatingSystemMXBean;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.RecompressMode;
import io.zswapd.protocol.engine.RecompressResult;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Recompression on real memory contents (issue 18): for each corpus file (cut in 4 KiB pages,
 * as a swap device would get them), the bytes the pool holds after lz4 alone, after
 * recompressing every page (all of them idle: nothing touched them since they were stored)
 * with zstd at two levels, and with zstd as the only codec (zram with one algorithm); the CPU
 * seconds recompression cost per GiB of pages; load throughput of recompressed pages against
 * lz4 pages. Then the foreground's store and load throughput while a background pass runs,
 * against the same workload without one. Prints Markdown for docs/BENCHMARKS.md.
 *
 * <p>Run: {@code testkit/bench/recompress.sh} (makes the corpus with gcore, builds, runs this).
 * Arguments: corpus files; the last table is run on the first one given.
 */
public final class RecompressBenchmark {
  private static final int PAGE = 4096;
  private static final int IN_FLIGHT = 256;
  private static final String PRODUCTION = "zswapd.pool.migration.checked-memory = off\n"
      + "zswapd.pool.migration.period = off\n" + "zswapd.metrics.prometheus = off\n";
  private static final OperatingSystemMXBean OS =
      (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  /** What one configuration made of one corpus. */
  private record Outcome(long comprBytes, long memUsed, long memUsedCompacted, RecompressResult recompressed,
      double cpuSeconds, double loadPagesPerSecond, long pages, long samePages) {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      throw new IllegalArgumentException("usage: RecompressBenchmark CORPUS_FILE...");
    }
    System.out.printf(Locale.ROOT, "# zswapd recompression benchmark: %d cores, java %s%n%n",
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
    StringBuilder memory = new StringBuilder();
    StringBuilder speed = new StringBuilder();
    List<byte[][]> corpora = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (String file : args) {
      corpora.add(pages(Files.readAllBytes(Path.of(file))));
      names.add(Path.of(file).getFileName().toString());
    }
    byte[][] mixed = concat(corpora);
    corpora.add(mixed);
    // JIT warm-up: the first corpus through every path once, not measured
    run(corpora.get(0), "lz4", "zstd", 3, true);
    names.add("mixed (all of the above)");
    for (int c = 0; c < corpora.size(); c++) {
      byte[][] corpus = corpora.get(c);
      Outcome lz4 = run(corpus, "lz4", null, 0, false);
      Outcome z3 = run(corpus, "lz4", "zstd", 3, true);
      Outcome z9 = run(corpus, "lz4", "zstd", 9, true);
      Outcome zstdOnly = run(corpus, "zstd", null, 3, false);
      double mib = corpus.length * (double) PAGE / (1 << 20);
      memory.append(String.format(Locale.ROOT,
          "| %s | %.0f MiB (%d same-filled) | %s | %s (%s) | %s (%s) | %s (%s) |%n", names.get(c), mib,
          lz4.samePages(), mib(lz4.memUsedCompacted()), mib(z3.memUsedCompacted()),
          less(lz4.memUsedCompacted(), z3.memUsedCompacted()), mib(z9.memUsedCompacted()),
          less(lz4.memUsedCompacted(), z9.memUsedCompacted()), mib(zstdOnly.memUsedCompacted()),
          less(lz4.memUsedCompacted(), zstdOnly.memUsedCompacted())));
      double gib = mib / 1024;
      speed.append(String.format(Locale.ROOT, "| %s | %d / %d | %.1f | %d / %d | %.1f | %.0f | %.0f (%.2fx) | %.0f (%.2fx) |%n",
          names.get(c), z3.recompressed().recompressed(), z3.recompressed().kept(), z3.cpuSeconds() / gib,
          z9.recompressed().recompressed(), z9.recompressed().kept(), z9.cpuSeconds() / gib,
          lz4.loadPagesPerSecond(), z3.loadPagesPerSecond(), z3.loadPagesPerSecond() / lz4.loadPagesPerSecond(),
          z9.loadPagesPerSecond(), z9.loadPagesPerSecond() / lz4.loadPagesPerSecond()));
    }
    System.out.println("Pool memory (`mem_used_total` after a compaction) per corpus; in brackets, how much less"
        + " than lz4 alone:\n");
    System.out.println("| corpus | pages | lz4 only | lz4, idle pages recompressed with zstd 3 |"
        + " ... with zstd 9 | zstd 3 only (zram, one codec) |");
    System.out.println("|---|---|---|---|---|---|");
    System.out.print(memory);
    System.out.println("\nRecompression cost and load speed (pages recompressed / kept; CPU seconds of the whole"
        + " process per GiB of pages; loads of every page, 256 in flight, pages/s, best of 3):\n");
    System.out.println("| corpus | zstd 3: recompressed / kept | CPU s/GiB | zstd 9: recompressed / kept | CPU s/GiB |"
        + " loads, lz4 pages | loads, zstd 3 pages | loads, zstd 9 pages |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    System.out.print(speed);
    foreground(mixed);
  }

  /** Stores {@code corpus}, optionally recompresses it all, compacts, and loads it all back. */
  private static Outcome run(byte[][] corpus, String compressor, String recompressor, int level, boolean recompress)
      throws Exception {
    String export = "{ name = bench, size = 64 GiB"
        + (recompressor == null ? "" : ", recompressor = " + recompressor + ", recompression-level = " + level) + " }";
    String pool = "zswapd.pool { max-size = 4 GiB, compressor = " + compressor
        + (compressor.equals("zstd") ? ", compression-level = " + level : "") + " }\n";
    try (EngineFixture engine = EngineFixture.start(pool + "zswapd.exports = [ " + export + " ]\n" + PRODUCTION)) {
      Zswapd z = engine.zswapd();
      storeAll(z, corpus);
      RecompressResult r = RecompressResult.NONE;
      double cpu = 0;
      if (recompress) {
        long before = OS.getProcessCpuTime();
        r = EngineFixture.await(z.recompress(RecompressMode.ALL, 0).toCompletableFuture(), "recompress");
        cpu = (OS.getProcessCpuTime() - before) / 1e9;
      }
      EngineStats s = EngineFixture.await(z.stats());
      ExportStats e = s.export("bench").orElseThrow();
      long used = s.pool().memUsedTotal();
      EngineFixture.await(z.compact());
      long compacted = EngineFixture.await(z.stats()).pool().memUsedTotal();
      loadAll(z, corpus); // warm-up, and a check that every page comes back
      double loads = 0;
      for (int round = 0; round < 3; round++) { // the best of three: a GC pause is not the codec
        long t0 = System.nanoTime();
        loadAll(z, corpus);
        loads = Math.max(loads, corpus.length / ((System.nanoTime() - t0) / 1e9));
      }
      return new Outcome(e.comprDataSize(), used, compacted, r, cpu, loads, corpus.length, e.samePages());
    }
  }

  /**
   * The foreground (stores and loads of a hot set of 8,192 generated pages, 256 in flight) for
   * three rounds of 5 s without recompression, then three while a background pass recompresses
   * the corpus at {@code max-rate}, in one engine.
   */
  private static void foreground(byte[][] corpus) throws Exception {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool { max-size = 4 GiB, compressor = lz4 }\n"
        + "zswapd.exports = [ { name = bench, size = 64 GiB, recompressor = zstd, recompression-level = 3 } ]\n"
        + PRODUCTION)) {
      Zswapd z = engine.zswapd();
      PageGenerator gen = new PageGenerator(18);
      byte[][] hot = new byte[8192][];
      for (int i = 0; i < hot.length; i++) {
        hot[i] = gen.page(i, PageGenerator.Kind.C50);
      }
      long hotBase = 4L << 20; // 16 GiB in: shards of their own, far above the corpus
      storeAll(z, corpus);
      double[] without = new double[3];
      double[] with = new double[3];
      for (int round = 0; round < 3; round++) {
        without[round] = mix(z, hot, hotBase, 5);
      }
      // A pass cannot be stopped half way, so the rounds with it come after those without:
      // the first pass marks the corpus idle, the next one (a second later) recompresses it.
      EngineFixture.await(z.set("pool.recompress.idle-after", "1s"));
      long start = recompressions(z);
      while (recompressions(z) == start) {
        Thread.sleep(20);
      }
      long from = recompressions(z);
      long last = from;
      boolean stillRunning = true;
      for (int round = 0; round < 3; round++) {
        with[round] = mix(z, hot, hotBase, 5);
        long now = recompressions(z);
        stillRunning &= now > last;
        last = now;
      }
      long recompressedDuring = last - from;
      if (!stillRunning) {
        System.out.println("\n(the pass ended before the last round: that round ran partly without it)");
      }
      double w = median(without);
      double b = median(with);
      System.out.printf(Locale.ROOT, "%nForeground during a background pass (the mixed corpus in the pool, a pass"
          + " at max-rate 4096 pages/s recompressing it with zstd 3; the foreground stores and loads 8,192 hot"
          + " pages, half each, 256 in flight; median of 3 rounds of 5 s each way, those without first):%n%n");
      System.out.println("| | foreground ops/s | pages recompressed meanwhile |");
      System.out.println("|---|---|---|");
      System.out.printf(Locale.ROOT, "| no recompression | %.0f | 0 |%n", w);
      System.out.printf(Locale.ROOT, "| background pass running | %.0f (%.2fx) | %d in 15 s |%n", b, b / w,
          recompressedDuring);
    }
  }

  private static long recompressions(Zswapd z) {
    return EngineFixture.await(z.stats()).export("bench").orElseThrow().recompress().recompressions();
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    java.util.Arrays.sort(s);
    return s[s.length / 2];
  }

  /** Alternating stores and loads of the hot pages for {@code seconds}; operations per second. */
  private static double mix(Zswapd z, byte[][] hot, long base, double seconds) throws Exception {
    Semaphore slots = new Semaphore(IN_FLIGHT);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    long end = System.nanoTime() + (long) (seconds * 1e9);
    long ops = 0;
    long t0 = System.nanoTime();
    for (int i = 0; i < hot.length; i++) { // every hot page exists before loads start
      slots.acquire();
      z.store("bench", base + i, hot[i]).whenComplete((v, t) -> done(slots, failure, t));
    }
    slots.acquire(IN_FLIGHT);
    slots.release(IN_FLIGHT);
    t0 = System.nanoTime();
    while (System.nanoTime() < end) {
      int i = (int) (ops % hot.length);
      slots.acquire();
      if ((ops & 1) == 0) {
        z.store("bench", base + i, hot[i]).whenComplete((v, t) -> done(slots, failure, t));
      } else {
        z.load("bench", base + i).whenComplete((v, t) -> done(slots, failure, t));
      }
      ops++;
    }
    slots.acquire(IN_FLIGHT);
    slots.release(IN_FLIGHT);
    if (failure.get() != null) {
      throw new IllegalStateException("a foreground request failed", failure.get());
    }
    return ops / ((System.nanoTime() - t0) / 1e9);
  }

  private static void storeAll(Zswapd z, byte[][] corpus) throws Exception {
    Semaphore slots = new Semaphore(IN_FLIGHT);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int i = 0; i < corpus.length; i++) {
      slots.acquire();
      z.store("bench", i, corpus[i]).whenComplete((v, t) -> done(slots, failure, t));
    }
    if (!slots.tryAcquire(IN_FLIGHT, 5, TimeUnit.MINUTES)) {
      throw new IllegalStateException("stores did not finish in 5 minutes");
    }
    if (failure.get() != null) {
      throw new IllegalStateException("a store failed", failure.get());
    }
  }

  private static void loadAll(Zswapd z, byte[][] corpus) throws Exception {
    Semaphore slots = new Semaphore(IN_FLIGHT);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int i = 0; i < corpus.length; i++) {
      slots.acquire();
      byte[] expected = corpus[i];
      int page = i;
      CompletableFuture<byte[]> f = z.load("bench", i).toCompletableFuture();
      f.whenComplete((v, t) -> {
        if (t == null && !java.util.Arrays.equals(v, expected)) {
          t = new IllegalStateException("page " + page + " came back different");
        }
        done(slots, failure, t);
      });
    }
    if (!slots.tryAcquire(IN_FLIGHT, 5, TimeUnit.MINUTES)) {
      throw new IllegalStateException("loads did not finish in 5 minutes");
    }
    if (failure.get() != null) {
      throw new IllegalStateException("a load failed", failure.get());
    }
  }

  private static void done(Semaphore slots, AtomicReference<Throwable> failure, Throwable t) {
    if (t != null) {
      failure.compareAndSet(null, t);
    }
    slots.release();
  }

  private static byte[][] pages(byte[] file) {
    int n = file.length / PAGE;
    byte[][] p = new byte[n][];
    for (int i = 0; i < n; i++) {
      p[i] = java.util.Arrays.copyOfRange(file, i * PAGE, (i + 1) * PAGE);
    }
    return p;
  }

  private static byte[][] concat(List<byte[][]> all) {
    return all.stream().flatMap(java.util.Arrays::stream).toArray(byte[][]::new);
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
  }

  private static String less(long base, long other) {
    return String.format(Locale.ROOT, "%+.1f%%", 100.0 * (other - base) / base);
  }
}
