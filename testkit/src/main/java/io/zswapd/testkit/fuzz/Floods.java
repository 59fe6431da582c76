package io.zswapd.testkit.fuzz;

import io.zswapd.protocol.nbd.ClientHandshake;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdRequest;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.testkit.nbd.Negotiation;
import io.zswapd.testkit.nbd.Reply;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The flood episodes (see {@link Flood}). A flood lasts {@code --flood-hold}: it sends in
 * batches until then, or until it has sent {@code --flood-requests}, or until a write waits
 * longer than {@link #BLOCKED} (the server stopped reading: the backpressure a bounded server
 * applies); it keeps its connections until the hold is over and drops them. Flood requests are
 * counted apart from the run's operations ({@code --operations} budgets the checked traffic). Nothing a flood is answered is checked; the run
 * judges the daemon by the other clients, the probe and the memory figures meanwhile.
 */
final class Floods {
  /** A write blocked this long means the server stopped reading the flood. */
  static final Duration BLOCKED = Duration.ofSeconds(2);
  private static final int BATCH = 256;

  private final FuzzClient c;
  private final SplittableRandom rnd;

  Floods(FuzzClient c) {
    this.c = c;
    this.rnd = c.rnd;
  }

  void episode() {
    List<Flood> modes = List.copyOf(c.settings.floods());
    Flood mode = modes.get(rnd.nextInt(modes.size()));
    c.trace("flood " + mode.cliName());
    try {
      switch (mode) {
        case UNREAD_READS -> unreadReads();
        case OPTION_LIST -> optionList();
        case HUGE_ZEROES -> hugeZeroes();
        case IDLE -> idle();
        case MANY_CONNECTIONS -> manyConnections();
      }
    } catch (Violation v) {
      c.fail("flood " + mode.cliName() + ": " + v.getMessage());
    } catch (IOException e) {
      c.fail("flood " + mode.cliName() + ": a client could not connect or attach: " + e);
    }
  }

  /** Pipelined READs of the largest payload, never read. */
  private void unreadReads() throws IOException, Violation {
    NbdClient nbd = attach();
    int length = Math.min(c.main.maxPayload(), 32 << 20);
    ByteBuffer batch = ByteBuffer.allocate(BATCH * NbdRequest.HEADER_SIZE);
    for (int i = 0; i < BATCH; i++) {
      long offset = rnd.nextLong((c.main.size() - length) / 4096) * 4096;
      new NbdRequest(0, Nbd.CMD_READ, i + 1, offset, length).encode(batch);
    }
    flood(Flood.UNREAD_READS, nbd::sendRaw, batch.array(), nbd::vanish);
  }

  /** NBD_OPT_LIST again and again before GO, never read. */
  private void optionList() throws IOException {
    Negotiation n = Negotiation.open(c.address(), true, c.settings.replyTimeout());
    n.timeout(BLOCKED);
    byte[] one = ClientHandshake.list();
    ByteBuffer batch = ByteBuffer.allocate(BATCH * one.length);
    for (int i = 0; i < BATCH; i++) {
      batch.put(one);
    }
    flood(Flood.OPTION_LIST, n::sendRaw, batch.array(), n::vanish);
  }

  /** WRITE_ZEROES and TRIM of about 4 GiB of the scratch area each, pipelined, never read. */
  private void hugeZeroes() throws IOException, Violation {
    NbdClient nbd = attach();
    long length = c.layout.hugeRange();
    ByteBuffer batch = ByteBuffer.allocate(BATCH * NbdRequest.HEADER_SIZE);
    for (int i = 0; i < BATCH; i++) {
      int type = i % 2 == 0 ? Nbd.CMD_WRITE_ZEROES : Nbd.CMD_TRIM;
      new NbdRequest(0, type, i + 1, c.layout.scratchBase(), (int) length).encode(batch);
    }
    flood(Flood.HUGE_ZEROES, nbd::sendRaw, batch.array(), nbd::vanish);
  }

  /** Connections that say nothing: after the greeting, after the client flags, in transmission. */
  private void idle() throws IOException, Violation {
    int n = Math.max(3, c.settings.floodConnections() / 4);
    List<Drop> open = new ArrayList<>();
    try {
      for (int i = 0; i < n && c.running(); i++) {
        try {
          switch (i % 3) {
            case 0 -> open.add(SocketChannel.open(c.address())::close);
            case 1 -> open.add(Negotiation.open(c.address(), true, c.settings.replyTimeout())::vanish);
            default -> open.add(attach()::vanish);
          }
        } catch (java.io.EOFException refused) {
          refusedAtLimit(Flood.IDLE, refused);
          break;
        }
        c.tally.floodOps("flood:" + Flood.IDLE.cliName(), 1);
      }
      c.tally.log("flood idle (client " + c.id + "): " + open.size() + " idle connections, held "
          + c.settings.floodHold().toMillis() + " ms");
      hold();
    } finally {
      dropAll(open);
    }
  }

  /** Many connections at once, each attached; after the hold each must still answer a READ. */
  private void manyConnections() throws IOException, Violation {
    List<NbdClient> open = new ArrayList<>();
    try {
      for (int i = 0; i < c.settings.floodConnections() && c.running(); i++) {
        try {
          open.add(attach());
        } catch (java.io.EOFException refused) {
          refusedAtLimit(Flood.MANY_CONNECTIONS, refused);
          break;
        }
        c.tally.floodOps("flood:" + Flood.MANY_CONNECTIONS.cliName(), 1);
      }
      c.tally.log("flood many-connections (client " + c.id + "): " + open.size() + " connections attached");
      hold();
      for (NbdClient nbd : open) {
        if (!c.running()) {
          break;
        }
        nbd.timeout(c.settings.replyTimeout());
        Reply r = nbd.request(Nbd.CMD_READ, 0, c.layout.scratchBase(), 4096, null);
        if (!r.isOk()) {
          throw new Violation("a READ on one of " + open.size() + " connections open at once was answered " + r);
        }
      }
    } finally {
      dropAll(open.stream().<Drop>map(nbd -> nbd::vanish).toList());
    }
  }

  /**
   * Counts a connection closed before its greeting, which a server at {@code nbd.max-connections}
   * may do (floods of several clients together can open more than the limit); rethrows any other
   * end of the connection.
   */
  private void refusedAtLimit(Flood mode, java.io.EOFException refused) throws java.io.EOFException {
    if (!String.valueOf(refused.getMessage()).contains("after 0 of")) {
      throw refused;
    }
    c.tally.floodOps("flood:" + mode.cliName() + " refused at max-connections", 1);
  }

  private interface Sender {
    void send(byte[] bytes) throws IOException;
  }

  /** Drops a connection a flood opened. */
  private interface Drop {
    void drop() throws IOException;
  }

  /**
   * Sends {@code batch} for as long as the flood lasts ({@code --flood-hold}), until it has sent
   * {@code --flood-requests}, the server stops reading or it closes; then keeps the connection
   * for the rest of the hold and drops it.
   */
  private void flood(Flood mode, Sender sender, byte[] batch, Drop connection) throws IOException {
    long start = System.nanoTime();
    long end = start + c.settings.floodHold().toNanos();
    long sent = 0;
    String outcome = "the flood's time or budget ended";
    try {
      while (sent < c.settings.floodRequests() && System.nanoTime() - end < 0 && c.running()) {
        sender.send(batch);
        sent += BATCH;
        c.tally.floodOps("flood:" + mode.cliName(), BATCH);
      }
    } catch (SocketTimeoutException e) {
      outcome = "then the server stopped reading (backpressure)";
      c.tally.event("flood " + mode.cliName() + ": backpressure");
    } catch (IOException e) {
      outcome = "then the server closed the connection (" + e.getMessage() + ")";
      c.tally.event("flood " + mode.cliName() + ": closed by the server");
    }
    c.tally.log(String.format("flood %s (client %d): %,d requests in %.1f s, %s", mode.cliName(), c.id,
        sent, (System.nanoTime() - start) / 1e9, outcome));
    try {
      hold(end);
    } finally {
      dropAll(List.of(connection));
    }
  }

  private NbdClient attach() throws IOException, Violation {
    NbdClient nbd = new Handshakes(c).attach(c.address(), c.main, c.settings.replyTimeout()).nbd();
    nbd.timeout(BLOCKED);
    return nbd;
  }

  /** Keeps the flood's connections for {@code --flood-hold}, or until the run ends. */
  private void hold() {
    hold(System.nanoTime() + c.settings.floodHold().toNanos());
  }

  private void hold(long end) {
    while (System.nanoTime() - end < 0 && c.running()) {
      try {
        Thread.sleep(Math.min(100, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static void dropAll(List<Drop> connections) {
    for (Drop d : connections) {
      try {
        d.drop();
      } catch (IOException e) {
        // dropping what the flood opened
      }
    }
  }
}
