package io.zswapd.testkit.bench;

import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.NbdFixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * fio over NBD with a working set 4x the pool limit (cold pages written back to a real backing
 * file) next to the same workload all in memory, in one run; and the backing bytes per
 * written-back page next to zram's 4096. Prints Markdown for docs/BENCHMARKS.md.
 *
 * <p>Run: {@code testkit/bench/writeback.sh [seconds] [working-set-MiB]} (fio must be installed).
 */
public final class WritebackBenchmark {
  private static final Pattern IOPS = Pattern.compile("\"iops\"\\s*:\\s*([0-9.]+)");

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int workingSetMib = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
    int poolMib = workingSetMib / 4;
    Path dir = Files.createTempDirectory("zswapd-wb-bench");
    System.out.printf(Locale.ROOT, "# writeback benchmark: working set %d MiB, pool %d MiB, fio randrw 4 KiB "
        + "iodepth 32, %d s, %d cores%n%n", workingSetMib, poolMib, seconds, Runtime.getRuntime().availableProcessors());
    System.out.println("| case | read IOPS | write IOPS | vs in-memory | written-back pages | backing bytes/page "
        + "(zram: 4096) | loads from backing |");
    System.out.println("|---|---|---|---|---|---|---|");
    double[] inMemory = run("in memory (pool " + (workingSetMib * 2) + " MiB)", "zswapd.pool.max-size = "
        + (workingSetMib * 2) + " MiB\nzswapd.exports = [ { name = swap0, size = " + workingSetMib + " MiB } ]",
        seconds, workingSetMib, null);
    run("pool " + poolMib + " MiB + backing file", "zswapd.pool.max-size = " + poolMib + " MiB\n"
        + "zswapd.exports = [ { name = swap0, size = " + workingSetMib + " MiB, backing-file = \""
        + dir.resolve("swap0.backing") + "\" } ]", seconds, workingSetMib, inMemory);
  }

  private static double[] run(String label, String hocon, int seconds, int workingSetMib, double[] baseline)
      throws Exception {
    try (NbdFixture nbd = NbdFixture.start(hocon)) {
      String uri = nbd.unixUri("swap0");
      fio(uri, List.of("--rw=write", "--bs=1m", "--iodepth=4", "--size=" + workingSetMib + "m"));
      String out = fio(uri, List.of("--rw=randrw", "--bs=4k", "--iodepth=32", "--size=" + workingSetMib + "m",
          "--time_based", "--runtime=" + seconds, "--ramp_time=2"));
      Matcher m = IOPS.matcher(out);
      List<Double> iops = new ArrayList<>();
      while (m.find()) {
        iops.add(Double.parseDouble(m.group(1)));
      }
      double read = iops.get(0);
      double write = iops.get(1);
      EngineStats s = EngineFixture.await(nbd.zswapd().stats());
      ExportStats e = s.export("swap0").orElseThrow();
      String ratio = baseline == null ? "1.00" : String.format(Locale.ROOT, "%.2f / %.2f", read / baseline[0],
          write / baseline[1]);
      System.out.printf(Locale.ROOT, "| %s | %,.0f | %,.0f | %s | %,d | %.0f | %,d |%n", label, read, write, ratio,
          e.backing().writtenBackPages(), e.backing().bytesPerPage(), e.backing().loadsFromBacking());
      return new double[] {read, write};
    }
  }

  private static String fio(String uri, List<String> extra) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("fio", "--name=wb", "--ioengine=nbd", "--uri=" + uri,
        "--buffer_compress_percentage=50", "--refill_buffers", "--group_reporting", "--output-format=json"));
    cmd.addAll(extra);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException("fio failed: " + out);
    }
    return out;
  }
}
