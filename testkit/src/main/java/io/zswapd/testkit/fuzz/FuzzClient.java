package io.zswapd.testkit.fuzz;

import io.zswapd.testkit.PageGenerator;
import io.zswapd.testkit.nbd.ExportModel;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.testkit.nbd.Negotiation;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One fuzzing client: a thread that runs episodes one after another until the run ends, each a
 * fresh connection picked at random from its own seeded stream:
 *
 * <ul>
 *   <li>a {@link CheckedSession} on its own region (or the read-only export): valid and invalid
 *       requests pipelined, every answer and every byte read checked against its model;</li>
 *   <li>a {@link Handshakes#episode handshake episode}: valid and invalid option sequences, each
 *       answer checked, or an abrupt close at some point;</li>
 *   <li>an {@link AbandonedSession}: requests to the scratch area, then the connection is
 *       dropped with requests in flight, replies unread or a WRITE payload cut short;</li>
 *   <li>a {@link Floods flood}, when the run was given flood modes.</li>
 * </ul>
 *
 * <p>Its model of its region lives as long as the client, across connections: data written by
 * one session must read back in the next. The last steps of the current episode are kept for
 * failure reports.
 */
final class FuzzClient implements Runnable {
  private static final int TRACE_STEPS = 40;

  final int id;
  final SplittableRandom rnd;
  final FuzzSettings settings;
  final ExportLayout layout;
  final ExportFacts main;
  final Optional<ExportFacts> readOnly;
  final FuzzTally tally;
  final ExportModel model;
  /** Reads replies of checked sessions, so that writing requests never waits on unread replies. */
  final ExecutorService replyReader;
  private final long endNanos;
  private final List<SocketAddress> addresses;
  private final PageGenerator pages;
  private final ArrayDeque<String> trace = new ArrayDeque<>();
  private long contentId;
  private int episode;
  private String episodeKind = "";

  FuzzClient(int id, FuzzSettings settings, ExportLayout layout, ExportFacts main, Optional<ExportFacts> readOnly,
      FuzzTally tally, long endNanos) {
    this.id = id;
    this.rnd = new SplittableRandom(settings.seed() * 0x9E3779B97F4A7C15L + id);
    this.settings = settings;
    this.layout = layout;
    this.main = main;
    this.readOnly = readOnly;
    this.tally = tally;
    this.endNanos = endNanos;
    this.model = new ExportModel(layout.regionBase(id), Math.toIntExact(layout.regionSize()));
    this.addresses = settings.addresses();
    this.pages = new PageGenerator(settings.seed() ^ (0x5EEDL << 32) ^ id);
    this.replyReader = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "fuzz-client-" + id + "-replies");
      t.setDaemon(true);
      return t;
    });
  }

  @Override
  public void run() {
    try {
      while (running()) {
        episode++;
        trace.clear();
        int r = rnd.nextInt(100);
        int floods = settings.floods().isEmpty() ? 0 : settings.floodPercent();
        if (r < floods) {
          begin("flood");
          new Floods(this).episode();
        } else if (r < floods + 15) {
          begin("handshake");
          new Handshakes(this).episode();
        } else if (r < floods + 27) {
          begin("abandoned session");
          new AbandonedSession(this).run();
        } else {
          boolean onReadOnly = readOnly.isPresent() && rnd.nextInt(10) == 0;
          begin(onReadOnly ? "checked session on " + readOnly.get().name() : "checked session");
          new CheckedSession(this, onReadOnly ? readOnly.get() : main).run();
        }
      }
    } catch (RuntimeException | Error e) {
      StringWriter w = new StringWriter();
      e.printStackTrace(new PrintWriter(w));
      fail("the fuzzer itself failed: " + w);
    } finally {
      replyReader.shutdownNow();
    }
  }

  /**
   * Reads the client's whole region back and compares it with the model: after everything the
   * run did (other clients' page-sharing writes, writeback, compaction, limit changes), every
   * byte the client knows must be there. True when all match.
   */
  boolean verifyRegion() {
    begin("final read-back of the region");
    int chunk = Math.min(main.maxPayload(), 1 << 20);
    try (NbdClient nbd = Negotiation.open(addresses.get(0), true, settings.replyTimeout()).go(main.name())) {
      for (long at = model.base(); at < model.end(); at += chunk) {
        int length = (int) Math.min(chunk, model.end() - at);
        tally.op("READ (final)");
        String m = model.mismatch(at, nbd.read(at, length));
        if (m != null) {
          mismatch("final read-back of the region: " + m);
          return false;
        }
      }
      nbd.disconnect();
      return true;
    } catch (IOException e) {
      fail("final read-back of the region failed: " + e);
      return false;
    }
  }

  /** False once the run is over: a failure, the time or the operation budget. */
  boolean running() {
    if (tally.stopped()) {
      return false;
    }
    if (System.nanoTime() - endNanos >= 0
        || (settings.operations() > 0 && tally.operations() >= settings.operations())) {
      tally.stop();
      return false;
    }
    return true;
  }

  /** One of the daemon's addresses, TCP or Unix, at random. */
  SocketAddress address() {
    return addresses.get(rnd.nextInt(addresses.size()));
  }

  /** {@code length} bytes of test data: pages of the generator's realistic mix, cut to length. */
  byte[] data(int length) {
    byte[] b = new byte[length];
    for (int at = 0; at < length; at += PageGenerator.PAGE_SIZE) {
      long content = contentId++;
      byte[] p = pages.page(content, pages.mixedKind(content));
      System.arraycopy(p, 0, b, at, Math.min(PageGenerator.PAGE_SIZE, length - at));
    }
    return b;
  }

  /** Remembers a step of the current episode, for a failure report. Thread-safe. */
  void trace(String step) {
    synchronized (trace) {
      if (trace.size() == TRACE_STEPS) {
        trace.removeFirst();
      }
      trace.addLast(step);
    }
  }

  /** Records a failure with where it happened, how to replay the run and the episode's last steps. */
  void fail(String what) {
    tally.fail(where(what));
  }

  /** Records a READ that returned bytes its model does not hold: a failure too. */
  void mismatch(String what) {
    tally.mismatch(where(what));
  }

  private String where(String what) {
    String steps;
    synchronized (trace) {
      steps = String.join("\n    ", trace);
    }
    return "client " + id + ", episode " + episode + " (" + episodeKind + "): " + what
        + "\n  replay: NbdFuzzer " + settings.commandLine()
        + "\n  last steps of the episode:\n    " + steps;
  }

  private void begin(String kind) {
    episodeKind = kind;
    trace(kind);
  }
}
