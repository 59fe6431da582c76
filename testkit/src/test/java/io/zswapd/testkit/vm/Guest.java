package io.zswapd.testkit.vm;

import static org.junit.jupiter.api.Assertions.fail;

import io.zswapd.testkit.interop.ExternalTool;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Linux guest of the VM tests: built by {@code testkit/vm/build-initramfs.sh} (cached under
 * {@code testkit/target/vm/guest}), booted by {@code testkit/vm/run-guest.sh} under QEMU with its
 * serial console read line by line.
 *
 * <p>An input that is missing (QEMU, busybox-static, nbd-client, a static libc, the kernel
 * .deb in {@code ZSWAPD_VM_CACHE}) skips the test with the package and the command that gets it,
 * and fails it under {@code CI=true}, as {@link ExternalTool} does for the interop tools.
 */
final class Guest implements AutoCloseable {
  /** The line init prints last, before it powers the guest off. */
  static final Pattern END = Pattern.compile("ZSWAPD-VM: END status=(\\S+)");
  /** Lines after which the guest cannot go on. */
  static final List<String> FATAL = List.of("Kernel panic", "kernel BUG at", "BUG: unable to handle", "Oops: ",
      "ZSWAPD-VM: FAILED");
  private static final Pattern MISSING = Pattern.compile("zswapd-vm: missing: .*");
  /** The scripts' "missing" exit status, as automake's skip. */
  private static final int MISSING_STATUS = 77;
  private static final int TAIL = 80;
  /** Lines kept in memory; the log file gets them all (a flood of kernel errors can be millions). */
  private static final int KEPT = 100_000;

  private final Process process;
  private final java.util.ArrayDeque<String> lines = new java.util.ArrayDeque<>();
  private final Thread reader;
  private final Path log;
  private final List<String> fatal;
  private volatile long lastLineNanos = System.nanoTime();
  private volatile String firstFatal;

  private Guest(Process process, Path log, List<String> fatal) {
    this.process = process;
    this.log = log;
    this.fatal = fatal;
    this.reader = new Thread(this::read, "guest-console");
    reader.setDaemon(true);
    reader.start();
  }

  /** {@code testkit/}, where surefire runs. */
  static Path module() {
    return Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
  }

  /** Builds the guest (or finds it up to date) and returns its folder; skips or fails when an input is missing. */
  static Path build() {
    ExternalTool.require("qemu-system-x86_64");
    Path out = module().resolve("target/vm/guest");
    ExternalTool.Result r = ExternalTool.run(Duration.ofMinutes(5),
        "bash", module().resolve("vm/build-initramfs.sh").toString(), out.toString());
    if (r.exitCode() == MISSING_STATUS) {
      List<String> missing = r.stderr().lines().filter(l -> MISSING.matcher(l).matches()).toList();
      ExternalTool.skipOrFail("the VM test's guest cannot be built:\n" + String.join("\n", missing));
    }
    if (r.exitCode() != 0) {
      fail("building the guest failed\n" + r.describe());
    }
    System.out.println(r.stdout().strip());
    return out;
  }

  /**
   * Boots the guest in {@code mode} (nbd, zram or probe) with swaptest's working set of
   * {@code mib} MiB, against the NBD server on 127.0.0.1:{@code port}; the console goes to
   * {@code log} too. A console line containing one of {@code fatal} (or of {@link #FATAL})
   * ends {@link #awaitEnd} with a failure at once.
   */
  static Guest boot(Path image, String mode, int mib, int port, String guestRam, Path log, List<String> fatal) {
    ProcessBuilder pb = new ProcessBuilder("bash", module().resolve("vm/run-guest.sh").toString(),
        image.toString(), mode, Integer.toString(mib), Integer.toString(port))
        .redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().put("ZSWAPD_VM_MEM", guestRam);
    try {
      Files.createDirectories(log.getParent());
      Files.deleteIfExists(log);
      List<String> all = new ArrayList<>(FATAL);
      all.addAll(fatal);
      return new Guest(pb.start(), log, List.copyOf(all));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + pb.command(), e);
    }
  }

  /**
   * Waits for init's END line, then for QEMU to exit. Fails at once, with the console's tail,
   * on a fatal line (the kernel panics, init reports a failure, an I/O error), if QEMU exits first, {@code serverAlive} turns
   * false (with {@code serverOutput}), the console prints nothing for {@code stall}, or the
   * whole boot outlasts {@code limit}.
   */
  String awaitEnd(Duration stall, Duration limit, BooleanSupplier serverAlive, Supplier<String> serverOutput) {
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      if (firstFatal != null) {
        sleep(2_000); // the rest of the oops or of init's message
        fail("the guest's console says it cannot go on: \"" + firstFatal.strip() + "\"\n" + tail());
      }
      Optional<String> end = find(END);
      if (end.isPresent()) {
        try {
          if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
            fail("the guest printed its END line but QEMU did not exit within 30 s\n" + tail());
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
        awaitReader();
        return end.get();
      }
      if (!process.isAlive()) {
        awaitReader();
        if (process.exitValue() == MISSING_STATUS) {
          ExternalTool.skipOrFail(lines().stream().filter(l -> MISSING.matcher(l).matches()).findFirst()
              .orElse("run-guest.sh: an input is missing"));
        }
        fail("QEMU exited with status " + process.exitValue() + " before the guest's END line\n" + tail());
      }
      if (!serverAlive.getAsBoolean()) {
        fail("the NBD server exited while the guest ran\n" + serverOutput.get() + "\n" + tail());
      }
      if (System.nanoTime() - lastLineNanos > stall.toNanos()) {
        fail("the guest's console printed nothing for " + stall + ": the guest hangs\n" + tail());
      }
      if (System.nanoTime() > deadline) {
        fail("the guest did not finish within " + limit + "\n" + tail());
      }
      sleep(200);
    }
  }

  /** The console so far. */
  List<String> lines() {
    synchronized (lines) {
      return List.copyOf(lines);
    }
  }

  /** Group 1 of the first console line {@code pattern} finds. */
  Optional<String> find(Pattern pattern) {
    return lines().stream().map(pattern::matcher).filter(Matcher::find).map(m -> m.group(1)).findFirst();
  }

  /** Fields "key=value" of the first console line starting with {@code prefix}. */
  Map<String, String> fields(String prefix) {
    return lines().stream().filter(l -> l.startsWith(prefix)).findFirst()
        .map(l -> {
          Map<String, String> m = new java.util.LinkedHashMap<>();
          for (String w : l.substring(prefix.length()).trim().split("\\s+")) {
            int eq = w.indexOf('=');
            if (eq > 0) {
              m.put(w.substring(0, eq), w.substring(eq + 1));
            }
          }
          return m;
        })
        .orElseGet(() -> fail("no console line starts with \"" + prefix + "\"\n" + tail()));
  }

  /** The last lines of the console, and where the whole of it is, for failure messages. */
  String tail() {
    List<String> now = lines();
    return "--- guest console (last " + Math.min(TAIL, now.size()) + " of " + now.size() + " lines; all of it in "
        + log + ")\n" + String.join("\n", now.subList(Math.max(0, now.size() - TAIL), now.size()));
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      ExternalTool.kill(process);
    }
    awaitReader();
  }

  private void read() {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
         var out = Files.newBufferedWriter(log)) {
      String line;
      while ((line = r.readLine()) != null) {
        // the serial console ends lines with \r\n
        String clean = line.replace("\r", "");
        if (firstFatal == null && fatal.stream().anyMatch(clean::contains)) {
          firstFatal = clean;
        }
        synchronized (lines) {
          if (lines.size() == KEPT) {
            lines.removeFirst(); // the tail matters for the message; the head is in the log
          }
          lines.add(clean);
        }
        lastLineNanos = System.nanoTime();
        out.write(clean);
        out.newLine();
        out.flush();
      }
    } catch (IOException e) {
      // QEMU is gone; keep what arrived
    }
  }

  private void awaitReader() {
    try {
      reader.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
