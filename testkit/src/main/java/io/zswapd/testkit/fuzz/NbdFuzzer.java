package io.zswapd.testkit.fuzz;

import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.testkit.nbd.Negotiation;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A seeded NBD fuzzer for a running zswapd daemon: several concurrent clients over TCP and the
 * Unix socket mix valid and invalid handshakes and requests, pipelined, and (when asked) the
 * floods of issue 15, while a probe checks that a well-behaved client is still served, the
 * daemon's memory is sampled and, through the admin socket, its limits change and writeback and
 * compaction run. Every answer is checked: error codes, handles, the bytes each client reads in
 * its own part of the export, and connections closed where the spec says.
 *
 * <pre>{@code
 * FuzzReport r = NbdFuzzer.run(FuzzSettings.parse(List.of("--seed", "42", "--duration", "40s",
 *     "--unix", "/tmp/zswapd.sock", "--pid", Long.toString(pid))), System.out);
 * assertThat(r.failures()).isEmpty();
 * }</pre>
 *
 * <p>From a shell: {@code testkit/bench/nbd-fuzz.sh} starts a daemon and runs this class against
 * it ({@link FuzzSettings#USAGE} lists the options). The seed is printed first and in every
 * failure; each client's choices depend only on it and the client's index, so a failure's
 * episode comes back with the same seed (timing between clients still varies).
 */
public final class NbdFuzzer {
  private NbdFuzzer() {}

  public static void main(String[] args) {
    if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
      System.out.print(FuzzSettings.USAGE);
      return;
    }
    FuzzSettings settings;
    try {
      settings = FuzzSettings.parse(List.of(args));
    } catch (IllegalArgumentException e) {
      System.err.println("nbd-fuzz: " + e.getMessage());
      System.exit(2);
      return;
    }
    FuzzReport report = run(settings, System.out);
    System.out.print(report.summary());
    System.exit(report.passed() ? 0 : 1);
  }

  /** Runs the fuzzer as {@code settings} say, logging to {@code log}; the report says what it found. */
  public static FuzzReport run(FuzzSettings settings, PrintStream log) {
    long start = System.nanoTime();
    FuzzTally tally = new FuzzTally(settings.seed(), log);
    tally.log("NBD fuzz, seed " + settings.seed() + ": " + settings.commandLine());
    Optional<DaemonWatch> watch = Optional.empty();
    Probe probe = null;
    AdminChaos admin = null;
    List<Thread> threads = new ArrayList<>();
    try {
      ExportFacts main = discover(settings, settings.export());
      if (main.readOnly()) {
        throw new IllegalArgumentException("--export " + main.name() + " is read-only");
      }
      Optional<ExportFacts> readOnly = Optional.empty();
      if (settings.readOnlyExport().isPresent()) {
        readOnly = Optional.of(discover(settings, settings.readOnlyExport().get()));
        if (!readOnly.get().readOnly()) {
          throw new IllegalArgumentException("--ro-export " + readOnly.get().name() + " is not read-only");
        }
      }
      ExportLayout layout = ExportLayout.of(settings, main.size());
      tally.log(String.format("export %s: %d bytes, max payload %d; %d clients of %d bytes each, scratch from %d",
          main.name(), main.size(), main.maxPayload(), settings.clients(), layout.regionSize(),
          layout.scratchBase()));
      if (settings.pid().isPresent()) {
        watch = Optional.of(new DaemonWatch(settings.pid().getAsLong(), settings, tally));
        threads.add(start("fuzz-daemon-watch", watch.get()));
      }
      probe = new Probe(settings, layout, tally);
      if (!probe.probe()) {
        return report(settings, tally, start, probe, watch);
      }
      threads.add(start("fuzz-probe", probe));
      if (settings.admin().isPresent()) {
        admin = new AdminChaos(settings, tally);
        threads.add(start("fuzz-admin-chaos", admin));
      }
      long end = start + settings.duration().toNanos();
      List<FuzzClient> clients = new ArrayList<>();
      List<Thread> clientThreads = new ArrayList<>();
      for (int i = 0; i < settings.clients(); i++) {
        FuzzClient c = new FuzzClient(i, settings, layout, main, readOnly, tally, end);
        clients.add(c);
        clientThreads.add(start("fuzz-client-" + i, c));
      }
      awaitClients(settings, tally, clientThreads, end);
      tally.stop();
      probe.stop();
      if (admin != null) {
        admin.stop(tally.failures().isEmpty());
      }
      if (tally.failures().isEmpty()) {
        tally.log("clients done; final probe and read-back of every client's region");
        if (probe.probe()) {
          clients.forEach(FuzzClient::verifyRegion);
        }
      }
      if (watch.isPresent() && tally.failures().isEmpty()) {
        if (!watch.get().alive()) {
          tally.fail("the daemon (pid " + settings.pid().getAsLong() + ") is not alive at the end");
        }
        watch.get().sampleHeap();
      }
    } catch (IOException | RuntimeException e) {
      tally.fail("the run could not start: " + e);
    } finally {
      if (admin != null) {
        admin.stop(false);
      }
      if (probe != null) {
        probe.stop();
      }
      watch.ifPresent(DaemonWatch::stop);
      for (Thread t : threads) {
        t.interrupt();
      }
    }
    return report(settings, tally, start, probe, watch);
  }

  /** What the server says about {@code export} (size, flags, maximum payload) when the run starts. */
  private static ExportFacts discover(FuzzSettings settings, String export) throws IOException {
    try (NbdClient nbd = Negotiation.open(settings.addresses().get(0), true, settings.replyTimeout())
        .go(export, Nbd.INFO_BLOCK_SIZE)) {
      ExportFacts facts = ExportFacts.of(export, nbd.export());
      nbd.disconnect();
      return facts;
    }
  }

  /** Waits for the clients to see the end; one still running well after it is stuck, and fails the run. */
  private static void awaitClients(FuzzSettings settings, FuzzTally tally, List<Thread> clients, long end) {
    long grace = settings.replyTimeout().toNanos() * 3 + settings.floodHold().toNanos()
        + Duration.ofSeconds(30).toNanos();
    for (Thread t : clients) {
      try {
        long left = Math.max(end + grace - System.nanoTime(), 0) / 1_000_000;
        t.join(Math.max(1, left));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (t.isAlive()) {
        tally.fail(t.getName() + " is stuck " + (grace / 1_000_000_000) + " s after the run's end:\n    "
            + Arrays.stream(t.getStackTrace()).map(StackTraceElement::toString)
                .collect(Collectors.joining("\n    ")));
        t.interrupt();
      }
    }
  }

  private static FuzzReport report(FuzzSettings s, FuzzTally tally, long start, Probe probe,
      Optional<DaemonWatch> watch) {
    return new FuzzReport(s.seed(), s.commandLine(), Duration.ofNanos(System.nanoTime() - start),
        tally.operations(), tally.opsByKind(), tally.errorsByCode(), tally.events(), tally.mismatches(),
        tally.failures(), probe == null ? 0 : probe.probes(), probe == null ? 0 : probe.slowestSeconds(),
        watch.map(DaemonWatch::maxRss).orElse(-1L), watch.map(DaemonWatch::maxHeapUsed).orElse(-1L),
        watch.map(DaemonWatch::heapCommitted).orElse(-1L));
  }

  private static Thread start(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
    return t;
  }
}
