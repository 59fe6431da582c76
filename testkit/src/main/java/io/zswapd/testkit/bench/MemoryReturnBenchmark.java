package io.zswapd.testkit.bench;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.PoolStats;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.NbdFixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Memory given back to the OS, over NBD: fio writes {@code GiB} of mixed data (four regions,
 * 25/50/75/50% compressible), {@code nbd_trim.py} (libnbd) trims a random 80% of the pages
 * plus four whole ranges, and the migration worker runs on its own (period 10 s, the
 * defaults). This process is the server; every 500 ms it samples its RSS ({@code VmRSS}) and
 * the engine's figures into a CSV. The aim: RSS minus the idle server's RSS at most 1.25 x the
 * compressed bytes left ({@code compr_data_size}).
 *
 * <p>Run: {@code testkit/bench/memory_return.sh [GiB] [settle-seconds] [cycles]}; it also draws the
 * chart. With more than one cycle, write-trim-settle repeats and the figures are the last
 * cycle's: chunks are then allocated after others were freed.
 */
public final class MemoryReturnBenchmark {
  private static final double MIB = 1 << 20;

  private record Sample(double seconds, String phase, long rssKib, PoolStats pool, long comprDataSize) {}

  private static volatile String phase = "idle";

  public static void main(String[] args) throws Exception {
    int gib = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    int settleSeconds = args.length > 1 ? Integer.parseInt(args[1]) : 40;
    Path csv = Path.of(args.length > 2 ? args[2] : "memory-return.csv");
    int cycles = args.length > 3 ? Integer.parseInt(args[3]) : 1;
    String python = System.getProperty("bench.python", "python3");
    long size = (long) gib << 30;
    String hocon = "zswapd.pool { max-size = " + (gib + 1) + " GiB,"
        + " migration { checked-memory = off, period = 10s } }\n"
        + "zswapd.exports = [ { name = swap0, size = " + gib + " GiB } ]";
    try (NbdFixture nbd = NbdFixture.start(hocon)) {
      Zswapd z = nbd.zswapd();
      String uri = nbd.unixUri("swap0");
      List<Sample> samples = new ArrayList<>();
      long t0 = System.nanoTime();
      ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
      sampler.scheduleAtFixedRate(() -> {
        EngineStats s = EngineFixture.await(z.stats());
        synchronized (samples) {
          samples.add(new Sample((System.nanoTime() - t0) / 1e9, phase, rssKib(), s.pool(), s.comprDataSize()));
        }
      }, 0, 500, TimeUnit.MILLISECONDS);

      Thread.sleep(4000);
      long idleKib = medianRss(samples, "idle");
      double writeSeconds = 0;
      EngineStats written = null;
      long peakKib = 0;
      String trimOut = "";
      for (int cycle = 0; cycle < cycles; cycle++) { // later cycles: chunks allocated after frees
        phase = "write";
        long w0 = System.nanoTime();
        run(fioWrite(uri, size));
        writeSeconds = (System.nanoTime() - w0) / 1e9;
        written = EngineFixture.await(z.stats());
        peakKib = rssKib();
        phase = "trim";
        trimOut = run(List.of(python, "testkit/bench/nbd_trim.py", uri, Long.toString(size),
            Integer.toString(20261121 + cycle), "0.8"));
        phase = "settle";
        Thread.sleep(settleSeconds * 1000L);
      }
      sampler.shutdown();
      sampler.awaitTermination(10, TimeUnit.SECONDS);
      EngineStats end = EngineFixture.await(z.stats());
      long endKib = medianRss(samples, "settle-last");
      writeCsv(csv, samples, idleKib);

      PoolStats p = end.pool();
      long compr = end.comprDataSize();
      double net = (endKib - idleKib) * 1024.0;
      String[] trimmed = trimOut.trim().split("\\s+");
      System.out.printf(Locale.ROOT, "# memory return over NBD: %d GiB written in %.1f s, %s pages trimmed in %s "
          + "requests, %d s to settle%s%n%n", gib, writeSeconds, trimmed[0], trimmed[1], settleSeconds,
          cycles == 1 ? "" : " (the last of " + cycles + " cycles)");
      System.out.println("| figure | after writing | after trim + worker |");
      System.out.println("|---|---|---|");
      row("process RSS minus idle RSS (idle " + fmt(idleKib * 1024.0) + ")", (peakKib - idleKib) * 1024.0, net);
      row("compr_data_size", written.comprDataSize(), compr);
      row("mem_used_total", written.pool().memUsedTotal(), p.memUsedTotal());
      row("off-heap chunks held", written.pool().arenaBytesHeld(), p.arenaBytesHeld());
      System.out.printf(Locale.ROOT, "| pages_compacted / pages migrated / chunks released | | %,d / %,d / %,d |%n",
          p.pagesCompacted(), p.pagesMigrated(), p.chunksReleased());
      System.out.printf(Locale.ROOT, "%n(RSS - idle RSS) / compr_data_size = %.3f (aim: at most 1.25)%n", net / compr);
      System.out.printf(Locale.ROOT, "mem_used_total / compr_data_size = %.3f, chunks held / compr_data_size = %.3f%n",
          p.memUsedTotal() / (double) compr, p.arenaBytesHeld() / (double) compr);
    }
  }

  private static void row(String name, double before, double after) {
    System.out.printf(Locale.ROOT, "| %s | %s | %s |%n", name, fmt(before), fmt(after));
  }

  private static String fmt(double bytes) {
    return String.format(Locale.ROOT, "%,.1f MiB", bytes / MIB);
  }

  /** fio over NBD: four regions written once, each with its own compressibility. */
  private static List<String> fioWrite(String uri, long size) {
    List<String> cmd = new ArrayList<>(List.of("fio", "--ioengine=nbd", "--uri=" + uri, "--rw=write", "--bs=1m",
        "--iodepth=8", "--refill_buffers", "--buffer_compress_chunk=4k", "--output-format=json"));
    int[] compress = {25, 50, 75, 50};
    long region = size / compress.length;
    for (int i = 0; i < compress.length; i++) {
      cmd.addAll(List.of("--name=region" + i, "--offset=" + i * region, "--size=" + region,
          "--buffer_compress_percentage=" + compress[i]));
    }
    return cmd;
  }

  private static String run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException(cmd.get(0) + " failed: " + out);
    }
    return out;
  }

  private static long rssKib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }

  /** Median RSS of a phase's samples; "settle-last" takes the last five samples. */
  private static long medianRss(List<Sample> samples, String which) {
    List<Long> rss = new ArrayList<>();
    synchronized (samples) {
      if (which.equals("settle-last")) {
        for (int i = Math.max(0, samples.size() - 5); i < samples.size(); i++) {
          rss.add(samples.get(i).rssKib());
        }
      } else {
        samples.stream().filter(s -> s.phase().equals(which)).skip(2).forEach(s -> rss.add(s.rssKib()));
      }
    }
    rss.sort(Long::compare);
    return rss.get(rss.size() / 2);
  }

  private static void writeCsv(Path csv, List<Sample> samples, long idleKib) throws IOException {
    StringBuilder b = new StringBuilder("seconds,phase,rss_minus_idle_mib,compr_data_size_mib,mem_used_total_mib,"
        + "chunks_held_mib,pages_migrated,pages_compacted\n");
    synchronized (samples) {
      for (Sample s : samples) {
        b.append(String.format(Locale.ROOT, "%.1f,%s,%.1f,%.1f,%.1f,%.1f,%d,%d%n", s.seconds(), s.phase(),
            (s.rssKib() - idleKib) / 1024.0, s.comprDataSize() / MIB, s.pool().memUsedTotal() / MIB,
            s.pool().arenaBytesHeld() / MIB, s.pool().pagesMigrated(), s.pool().pagesCompacted()));
      }
    }
    Files.writeString(csv, b.toString());
  }
}
