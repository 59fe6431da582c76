package io.zswapd.testkit.fuzz;

import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.testkit.nbd.ExportModel;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.testkit.nbd.Negotiation;
import io.zswapd.testkit.nbd.Reply;
import java.io.IOException;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The liveness check: every {@code --probe-every}, a well-behaved client connects afresh (TCP
 * and Unix in turn), attaches with GO, writes one page of its own area, reads it back and
 * leaves; all of it within {@code --probe-timeout}, whatever the other clients and floods do.
 * A probe that fails or is late fails the run. (A write refused with ENOSPC, a full pool without
 * a backing file, is an answer: it counts as served, without the read-back.)
 */
final class Probe implements Runnable {
  private static final int PAGE = 4096;

  private final FuzzSettings settings;
  private final ExportLayout layout;
  private final FuzzTally tally;
  private final List<SocketAddress> addresses;
  private final SplittableRandom rnd;
  private final AtomicLong probes = new AtomicLong();
  private final AtomicLong slowestNanos = new AtomicLong();
  private volatile boolean done;

  Probe(FuzzSettings settings, ExportLayout layout, FuzzTally tally) {
    this.settings = settings;
    this.layout = layout;
    this.tally = tally;
    this.addresses = settings.addresses();
    this.rnd = new SplittableRandom(settings.seed() ^ 0x9B0BEL);
  }

  @Override
  public void run() {
    while (!done && !tally.stopped()) {
      if (!probe()) {
        return;
      }
      long end = System.nanoTime() + settings.probeEvery().toNanos();
      while (!done && !tally.stopped() && System.nanoTime() - end < 0) {
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  void stop() {
    done = true;
  }

  /** One probe; false (and the run failed) if it did not write and read back its page in time. */
  synchronized boolean probe() {
    long n = probes.getAndIncrement();
    SocketAddress address = addresses.get((int) (n % addresses.size()));
    long offset = layout.probeBase() + (n % ExportLayout.PROBE_PAGES) * PAGE;
    byte[] page = ExportModel.random(rnd, PAGE);
    long start = System.nanoTime();
    try (NbdClient nbd = Negotiation.open(address, true, settings.probeTimeout()).go(settings.export(),
        Nbd.INFO_BLOCK_SIZE)) {
      Reply written = nbd.request(Nbd.CMD_WRITE, 0, offset, PAGE, page);
      if (written.error() == Nbd.ENOSPC) {
        // a pool without a backing file, its limit lowered below what is stored: refusing is its
        // right; the answer still shows the daemon serves
        tally.event("probe: write refused with ENOSPC (a full pool)");
        nbd.disconnect();
        return true;
      }
      if (!written.isOk()) {
        tally.fail("probe " + n + " over " + address + ": its WRITE was answered " + written);
        return false;
      }
      byte[] back = nbd.read(offset, PAGE);
      if (!Arrays.equals(back, page)) {
        tally.mismatch("probe " + n + " over " + address + " read back other bytes than it wrote at " + offset);
        return false;
      }
      nbd.disconnect();
    } catch (IOException e) {
      tally.fail("probe " + n + " over " + address + " failed after " + seconds(System.nanoTime() - start)
          + " s: " + e + " (the daemon does not serve a well-behaved client)");
      return false;
    }
    long took = System.nanoTime() - start;
    slowestNanos.accumulateAndGet(took, Math::max);
    if (took > settings.probeTimeout().toNanos()) {
      tally.fail("probe " + n + " over " + address + " took " + seconds(took) + " s, over the --probe-timeout of "
          + settings.probeTimeout().toSeconds() + " s");
      return false;
    }
    return true;
  }

  long probes() {
    return probes.get();
  }

  double slowestSeconds() {
    return slowestNanos.get() / 1e9;
  }

  private static String seconds(long nanos) {
    return String.format("%.1f", nanos / 1e9);
  }
}
