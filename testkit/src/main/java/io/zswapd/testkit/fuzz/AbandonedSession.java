package io.zswapd.testkit.fuzz;

import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdProtocolException;
import io.zswapd.protocol.nbd.NbdRequest;
import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A client that leaves badly: valid and invalid requests to the scratch area, a few replies
 * read, then the connection is dropped with requests in flight (a reset), closed with replies
 * unread, ended by DISC or a bad magic without waiting, or cut inside a request header or a
 * WRITE payload.
 *
 * <p>Nothing it writes is checked (its writes may land after the client is gone, which is why
 * they go to the scratch area); what is checked is that the replies it does read answer
 * requests it sent, and, through the other clients and the probe, that the daemon serves on.
 */
final class AbandonedSession {
  private static final int PAGE = 4096;
  private static final Duration SHORT_TIMEOUT = Duration.ofSeconds(5);

  private enum Ending { VANISH, CLOSE_UNREAD, DISC_UNREAD, SHORT_HEADER, SHORT_PAYLOAD, BAD_MAGIC_UNREAD }

  private final FuzzClient c;
  private final SplittableRandom rnd;

  AbandonedSession(FuzzClient c) {
    this.c = c;
    this.rnd = c.rnd;
  }

  void run() {
    NbdClient nbd;
    try {
      nbd = new Handshakes(c).attach(c.address(), c.main, c.settings.replyTimeout()).nbd();
    } catch (Violation v) {
      c.fail(v.getMessage());
      return;
    } catch (IOException e) {
      c.fail("a client could not attach to '" + c.main.name() + "': " + e);
      return;
    }
    // Shorter than a checked session's: a write the server will not read (this client reads few
    // replies, so the server may stop reading) ends the session after this long.
    nbd.timeout(SHORT_TIMEOUT);
    Ending ending = Ending.values()[rnd.nextInt(Ending.values().length)];
    int requests = rnd.nextInt(64);
    c.trace("abandoned: up to " + requests + " requests to the scratch area, then " + ending);
    try {
      for (int i = 0; i < requests && c.running(); i++) {
        sendOne(nbd);
        if (rnd.nextInt(4) == 0 && nbd.outstanding() > 0) {
          c.trace("read a reply: " + nbd.receive());
        }
      }
      switch (ending) {
        case VANISH -> nbd.vanish();
        case CLOSE_UNREAD -> nbd.close();
        case DISC_UNREAD -> {
          c.tally.op("DISC");
          nbd.disconnect();
        }
        case SHORT_HEADER -> {
          int sent = 1 + rnd.nextInt(NbdRequest.HEADER_SIZE - 1);
          byte[] header = new NbdRequest(0, Nbd.CMD_READ, 1L << 61, scratch(PAGE), PAGE).encode();
          c.trace("the first " + sent + " bytes of a request header, then close");
          c.tally.op("invalid:short-request-header");
          nbd.sendRaw(Arrays.copyOf(header, sent));
          if (rnd.nextBoolean()) {
            nbd.vanish();
          }
        }
        case SHORT_PAYLOAD -> {
          int length = 2 + rnd.nextInt(Math.min(c.main.maxPayload(), 1 << 20) - 1);
          int sent = 1 + rnd.nextInt(length - 1);
          byte[] header = new NbdRequest(0, Nbd.CMD_WRITE, 1L << 62, scratch(length), length).encode();
          c.trace("WRITE of " + length + " bytes, only " + sent + " sent, then close");
          c.tally.op("invalid:short-write-payload");
          byte[] frame = Arrays.copyOf(header, header.length + sent);
          System.arraycopy(c.data(sent), 0, frame, header.length, sent);
          nbd.sendRaw(frame);
          if (rnd.nextBoolean()) {
            nbd.vanish();
          }
        }
        case BAD_MAGIC_UNREAD -> {
          byte[] header = new NbdRequest(0, Nbd.CMD_WRITE, 7, 0, PAGE).encode();
          ByteBuffer.wrap(header).putInt(0, rnd.nextInt());
          c.tally.op("invalid:bad-request-magic");
          nbd.sendRaw(header);
        }
      }
      c.tally.event("abandoned session: " + ending);
    } catch (NbdProtocolException e) {
      c.fail("a reply broke the protocol: " + e.getMessage());
    } catch (IOException e) {
      // the server may close or stop reading; that is its right with this client
      c.tally.event("abandoned session: " + e.getClass().getSimpleName());
    } finally {
      try {
        nbd.close();
      } catch (IOException e) {
        // already gone
      }
    }
  }

  private void sendOne(NbdClient nbd) throws IOException {
    int limit = Math.min(c.settings.maxRequest(), c.main.maxPayload());
    int length = 1 + rnd.nextInt(limit);
    int r = rnd.nextInt(10);
    int type = switch (r) {
      case 0, 1, 2 -> Nbd.CMD_READ;
      case 3, 4, 5 -> Nbd.CMD_WRITE;
      case 6 -> Nbd.CMD_TRIM;
      case 7 -> Nbd.CMD_WRITE_ZEROES;
      case 8 -> Nbd.CMD_FLUSH;
      default -> 9 + rnd.nextInt(1000);
    };
    if (type == Nbd.CMD_TRIM || type == Nbd.CMD_WRITE_ZEROES) {
      length = 1 + rnd.nextInt(64 << 20);
    }
    int flags = rnd.nextInt(8) == 0 ? 1 << rnd.nextInt(16) : 0;
    long offset = type == Nbd.CMD_FLUSH ? 0 : scratch(length);
    byte[] payload = type == Nbd.CMD_WRITE ? c.data(length) : null;
    c.trace("send " + Nbd.commandName(type) + " [" + offset + ", +" + length + ") flags 0x" + Integer.toHexString(flags));
    nbd.send(type, flags, offset, type == Nbd.CMD_FLUSH ? 0 : length, payload);
    c.tally.op("abandoned:" + (type > Nbd.CMD_RESIZE ? "unknown-command" : Nbd.commandName(type).replace("NBD_CMD_", "")));
  }

  /** An offset in the scratch area with room for {@code length} bytes. */
  private long scratch(int length) {
    ExportLayout l = c.layout;
    return l.scratchBase() + rnd.nextLong(Math.max(1, l.scratchSize() - length));
  }
}
