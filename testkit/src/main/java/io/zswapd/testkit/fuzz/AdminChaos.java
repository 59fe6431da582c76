package io.zswapd.testkit.fuzz;

import io.zswapd.bridge.admin.AdminClient;
import io.zswapd.bridge.admin.AdminRequest;
import io.zswapd.protocol.engine.WritebackMode;
import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Changes the daemon under the fuzzing clients' feet, through its admin endpoint, as an operator
 * would: the pool limit set anywhere in {@code --pool-range} (below the data in use too: stores
 * then wait for writeback or are refused with ENOSPC), compaction, writeback of the coldest
 * pages or of all ({@code --writeback}), and stats. Every command must be answered within the
 * reply timeout; a refusal (nothing to write back) is counted, an unreachable endpoint fails the
 * run. The pool limit goes back to the top of the range at the end, so the final checks run
 * with room.
 */
final class AdminChaos implements Runnable {
  private final FuzzSettings settings;
  private final FuzzTally tally;
  private final AdminClient client;
  private final SplittableRandom rnd;
  private final ExecutorService sender = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "fuzz-admin");
    t.setDaemon(true);
    return t;
  });
  private volatile boolean done;

  AdminChaos(FuzzSettings settings, FuzzTally tally) {
    this.settings = settings;
    this.tally = tally;
    this.client = AdminClient.unix(settings.admin().orElseThrow());
    this.rnd = new SplittableRandom(settings.seed() ^ 0xAD813L);
  }

  @Override
  public void run() {
    try {
      while (!done && !tally.stopped()) {
        long end = System.nanoTime() + settings.adminEvery().toNanos() / 2
            + rnd.nextLong(Math.max(1, settings.adminEvery().toNanos()));
        while (!done && !tally.stopped() && System.nanoTime() - end < 0) {
          Thread.sleep(50);
        }
        if (!done && !tally.stopped()) {
          send(next());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the changes; with {@code restore}, puts the pool limit back to the top of the range. */
  void stop(boolean restore) {
    done = true;
    if (restore && settings.poolMax() > 0) {
      send(new AdminRequest.Set("pool.max-size", Long.toString(settings.poolMax())));
    }
    sender.shutdownNow();
  }

  private AdminRequest next() {
    int r = rnd.nextInt(100);
    if (settings.poolMax() > 0 && r < 40) {
      long size = settings.poolMin() + rnd.nextLong(settings.poolMax() - settings.poolMin() + 1);
      return new AdminRequest.Set("pool.max-size", Long.toString(Math.max(64 << 10, size / 4096 * 4096)));
    } else if (r < 60) {
      return new AdminRequest.Compact();
    } else if (settings.writeback() && r < 85) {
      return new AdminRequest.Writeback(rnd.nextInt(4) == 0 ? WritebackMode.ALL : WritebackMode.LRU);
    }
    AdminRequest.Stats.View[] views = AdminRequest.Stats.View.values();
    return new AdminRequest.Stats(views[rnd.nextInt(views.length)]);
  }

  private void send(AdminRequest request) {
    String command = request.line().split(" ")[0];
    tally.op("admin:" + command);
    Future<AdminClient.Answer> answer = sender.submit(() -> client.send(request));
    try {
      AdminClient.Answer a = answer.get(settings.replyTimeout().toMillis(), TimeUnit.MILLISECONDS);
      if (a.ok()) {
        if (!request.line().startsWith("stats")) {
          tally.log("admin: " + request.line() + " -> " + String.join("; ", a.lines()));
        }
      } else {
        tally.event("admin: " + command + " refused");
        tally.log("admin: " + request.line() + " refused: " + a.error());
      }
    } catch (TimeoutException e) {
      answer.cancel(true);
      tally.fail("the admin endpoint did not answer '" + request.line() + "' within "
          + settings.replyTimeout().toSeconds() + " s");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      tally.fail("the admin endpoint failed '" + request.line() + "': "
          + (cause instanceof IOException ? cause.toString() : e.toString()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
