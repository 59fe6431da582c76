package io.zswapd.testkit.vm;

import static io.zswapd.testkit.admin.StatsLines.number;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.admin.StatsLines;
import io.zswapd.testkit.daemon.Daemon;
import io.zswapd.testkit.daemon.DaemonJar;
import io.zswapd.testkit.interop.ExternalTool;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Linux kernel swaps to zswapd over NBD: a Debian kernel under QEMU with 160 MiB of RAM
 * attaches the daemon's export with nbd-client (TCP, 4 KiB blocks, -swap), runs mkswap and
 * swapon with discards, and swaptest fills a 240 MiB working set of zero, text-like and random
 * pages, checks every page in random order, rewrites a quarter and checks them all again.
 *
 * <p>The pool (32 MiB) is smaller than what the kernel swaps out compressed (about 70 MiB), and
 * the export has a backing file, as an operator sets it up: stores past the pool limit wait for
 * writeback to the file, and swap-ins read pages back from it. Every page must come back as
 * written, the kernel must have swapped out and in without an I/O error on the console, and the
 * daemon's figures must show the kernel's discards ({@code invalidated_pages}), compressed
 * pages, pages written back and read from the file, and no store refused. The guest and its
 * inputs are described in {@code docs/VM-TEST.md}; without QEMU, busybox-static, nbd-client, a static libc or the kernel
 * .deb the test is skipped (failed under {@code CI=true}) with the command that gets them.
 */
class KernelSwapTest {
  static final String GUEST_RAM = "160M";
  static final int WORKING_SET_MIB = 240; // 1.5 x the guest's RAM
  static final int PAGES = WORKING_SET_MIB * 256;
  /** Console lines that mean a swap request failed or the NBD connection broke. */
  static final List<String> IO_ERRORS = List.of("Write-error on swap-device", "Read-error on swap-device",
      "Other side returned error", "I/O error", "blk_update_request", "Receive control failed",
      "Dead connection", "Connection timed out");
  /** Under TCG every line of swaptest's progress comes within a minute or so; boot within seconds. */
  static final Duration STALL = Duration.ofMinutes(3);
  static final Duration LIMIT = Duration.ofMinutes(14);

  @TempDir
  Path dir;

  @Test
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  void aLinuxKernelSwapsToZswapdOverNbdAndGetsEveryPageBack() {
    Path image = Guest.build();
    int port = Daemon.freePort();
    Path admin = dir.resolve("admin.sock");
    Path config = Daemon.config(dir, port, dir.resolve("zswapd.sock"), """
        zswapd.pool.max-size = 32 MiB
        zswapd.exports = [ { name = "swap0", size = 512 MiB, backing-file = "%s", backing-size = 512 MiB } ]
        zswapd.admin.unix-socket = "%s"
        """.formatted(dir.resolve("swap0.backing"), admin));
    // As an operator runs it: the launcher, which picks JDK 22+ (mmap chunks, mlockall) and sizes the heap.
    Path launcher = Guest.module().resolve("../bin/zswapd").normalize();
    try (Daemon daemon = Daemon.launch(List.of(launcher.toString(), "serve", "--config", config.toString()),
        Map.of("ZSWAPD_JAR", DaemonJar.path().toString()), dir)) {
      daemon.awaitReady();
      Path log = Guest.module().resolve("target/vm/console-nbd.log");
      try (Guest guest = Guest.boot(image, "nbd", WORKING_SET_MIB, port, GUEST_RAM, log, IO_ERRORS)) {
        String status = guest.awaitEnd(STALL, LIMIT, daemon::isAlive, daemon::output);
        System.out.println(String.join("\n", guest.lines()));

        Map<String, String> result = guest.fields("SWAPTEST ");
        assertThat(result.get("pages")).as("pages swaptest wrote\n%s", guest.tail()).isEqualTo(Integer.toString(PAGES));
        assertThat(result.get("mismatches")).as("pages that came back different\n%s", guest.tail()).isEqualTo("0");
        assertThat(result.get("verified")).as("pages checked, two passes over every page\n%s", guest.tail())
            .isEqualTo(Integer.toString(2 * PAGES));
        assertThat(status).as("swaptest's exit status\n%s", guest.tail()).isEqualTo("0");
        assertThat(guest.lines()).as("I/O errors on the guest's console\n%s", guest.tail())
            .noneMatch(l -> IO_ERRORS.stream().anyMatch(l::contains));

        long pswpout = vmstat(guest, "pswpout");
        long pswpin = vmstat(guest, "pswpin");
        assertThat(pswpout).as("pages the kernel swapped out\n%s", guest.tail()).isPositive();
        assertThat(pswpin).as("pages the kernel swapped in\n%s", guest.tail()).isPositive();

        ExternalTool.Result r = DaemonJar.run("stats", "--admin", admin.toString());
        assertThat(r.exitCode()).as(r.describe()).isZero();
        Map<String, String> stats = StatsLines.parse(r.stdout().lines().toList());
        System.out.println(r.stdout());
        assertThat(number(stats, "swap0.stores")).as("pages the daemon stored\n%s", r.stdout()).isPositive();
        assertThat(number(stats, "swap0.loads")).as("pages the daemon loaded\n%s", r.stdout()).isPositive();
        assertThat(number(stats, "swap0.invalidated_pages"))
            .as("pages the kernel's discards freed (swapon -d pages)\n%s", r.stdout()).isPositive();
        String ratio = stats.get("swap0.compression_ratio");
        assertThat(ratio).as("the compression ratio (\"-\" when nothing is stored)\n%s", r.stdout())
            .matches("[0-9]+\\.[0-9]+");
        assertThat(Double.parseDouble(ratio)).as("orig_data_size / compr_data_size\n%s", r.stdout()).isGreaterThan(1.0);
        assertThat(number(stats, "pool.mem_used_max")).as(r.stdout()).isPositive();
        // Past the pool limit: no store refused (writeback made room, or the file took it), and
        // swap-ins read the file.
        assertThat(number(stats, "pool.pool_limit_hit")).as("stores that met the pool limit\n%s", r.stdout())
            .isPositive();
        assertThat(number(stats, "swap0.reject_alloc_fail")).as("stores refused\n%s", r.stdout()).isZero();
        assertThat(number(stats, "swap0.written_back_pages")).as("pages written to the backing file\n%s", r.stdout())
            .isPositive();
        assertThat(number(stats, "swap0.loads_from_backing")).as("pages loaded from the backing file\n%s", r.stdout())
            .isPositive();
        for (String failure : List.of("write_errors", "read_errors", "corrupt_reads", "backing_full")) {
          assertThat(number(stats, "swap0." + failure)).as("%s\n%s", failure, r.stdout()).isZero();
        }
      }
    }
  }

  private static long vmstat(Guest guest, String name) {
    return Long.parseLong(guest.find(Pattern.compile("ZSWAPD-VM: vmstat " + name + " (\\d+)"))
        .orElseThrow(() -> new AssertionError("no " + name + " on the guest's console\n" + guest.tail())));
  }
}
