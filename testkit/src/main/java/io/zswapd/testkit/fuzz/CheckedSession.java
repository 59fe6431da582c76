package io.zswapd.testkit.fuzz;

import io.zswapd.protocol.nbd.ClientHandshake;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdRequest;
import io.zswapd.testkit.fuzz.RequestMix.Request;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.testkit.nbd.Reply;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A well-behaved client's connection, every answer checked: valid requests (READ, WRITE, TRIM,
 * WRITE_ZEROES, FLUSH; aligned and not; FUA now and then) pipelined up to a random depth,
 * mixed with invalid ones that carry exactly one fault each, so the right error code is known
 * ({@link RequestMix} makes them).
 *
 * <p>Two threads, as a kernel client has: this one sends, the client's reply reader reads
 * replies in whatever order they come and checks each against the request filed under its
 * handle. A request waits before it is sent while the depth is reached or while a request in
 * flight touches the same bytes and one of the two changes them: the server may run requests
 * of one connection in any order, so only requests without such a conflict have one right
 * answer. Concurrent requests to different bytes of one page do go out together: the server
 * must merge them (read-modify-write in the page's owner).
 *
 * <p>Checked: the answer's error code is one the spec (and ErrorAnswersTest) allows for the
 * request; every byte a READ returns matches the client's model, which takes in each
 * acknowledged write, write-zeroes and trim (TRIM zeroes the whole pages inside its range and
 * leaves the partial ones: zswap's invalidate, which the server documents, stricter than the
 * spec's "undefined"); a valid write refused with ENOSPC makes its bytes unknown. The session
 * ends by closing, by DISC, by a request with a bad magic or by an option sent after GO; for
 * the last three, every request sent before must be answered and then the server must close.
 */
final class CheckedSession {
  private static final int PAGE = 4096;
  private static final int[] DEPTHS = {1, 2, 4, 8, 16, 32, 64, 128, 256};

  private enum Ending { CLOSE, DISC, BAD_MAGIC, OPTION_AFTER_GO }

  private final FuzzClient c;
  private final SplittableRandom rnd;
  private final ExportFacts export;
  private final RequestMix mix;
  /** The requests in flight by handle; this object's lock guards it and the fields after it. */
  private final Map<Long, Request> inFlight = new HashMap<>();
  private long sent;
  private long answered;
  private boolean sending = true;
  private String broken;
  /** The reason for {@code broken} is already a recorded failure (a wrong answer, a mismatch). */
  private boolean reported;
  private NbdClient nbd;
  private int depth;

  CheckedSession(FuzzClient c, ExportFacts export) {
    this.c = c;
    this.rnd = c.rnd;
    this.export = export;
    this.mix = new RequestMix(c, export);
  }

  void run() {
    try {
      nbd = new Handshakes(c).attach(c.address(), export, c.settings.replyTimeout()).nbd();
    } catch (Violation v) {
      c.fail(v.getMessage());
      return;
    } catch (IOException e) {
      c.fail("a good client could not attach to '" + export.name() + "': " + e);
      return;
    }
    depth = Math.min(DEPTHS[rnd.nextInt(DEPTHS.length)], c.settings.maxDepth());
    int requests = 1 + rnd.nextInt(400);
    Ending ending = switch (rnd.nextInt(20)) {
      case 0, 1, 2 -> Ending.BAD_MAGIC;
      case 3, 4 -> Ending.OPTION_AFTER_GO;
      default -> rnd.nextBoolean() ? Ending.DISC : Ending.CLOSE;
    };
    c.trace("transmission: depth " + depth + ", up to " + requests + " requests, then " + ending);
    Future<?> reader = c.replyReader.submit(this::readReplies);
    try {
      for (int i = 0; i < requests && c.running() && send(mix.next()); i++) {
        // each request is checked by the reader when its reply comes
      }
      end(ending, reader);
    } catch (IOException e) {
      c.fail("sending to '" + export.name() + "' failed: " + e + (brokenReason() == null ? "" : "; " + brokenReason()));
    } catch (Violation v) {
      c.fail(v.getMessage());
    } finally {
      synchronized (this) {
        sending = false;
        notifyAll();
      }
      try {
        nbd.close();
      } catch (IOException e) {
        // closing a connection the session is done with
      }
      reader.cancel(true);
    }
  }

  private void end(Ending ending, Future<?> reader) throws IOException, Violation {
    if (brokenReason() != null) {
      drain(reader);
      return;
    }
    switch (ending) {
      case CLOSE -> {
        drain(reader);
        return;
      }
      case DISC -> {
        c.trace("DISC with " + nbd.outstanding() + " requests in flight");
        c.tally.op("DISC");
        nbd.disconnect();
      }
      case BAD_MAGIC -> {
        byte[] header = new NbdRequest(0, Nbd.CMD_READ, 0, 0, PAGE).encode();
        ByteBuffer.wrap(header).putInt(0, Nbd.REQUEST_MAGIC ^ (1 + rnd.nextInt(Integer.MAX_VALUE)));
        c.trace("a request with a bad magic, " + nbd.outstanding() + " requests in flight");
        c.tally.op("invalid:bad-request-magic");
        nbd.sendRaw(header);
      }
      case OPTION_AFTER_GO -> {
        // At least a request header's 28 bytes: a server cannot judge a shorter frame (it waits
        // for the rest of the header), and every option frame begins with IHAVEOPT, a bad magic.
        byte[] option = rnd.nextBoolean()
            ? ClientHandshake.go(export.name(), Nbd.INFO_EXPORT, Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION,
                Nbd.INFO_BLOCK_SIZE)
            : ClientHandshake.option(Nbd.OPT_LIST, c.data(NbdRequest.HEADER_SIZE));
        c.trace(Nbd.optionName(ByteBuffer.wrap(option).getInt(8)) + " after GO, " + nbd.outstanding()
            + " requests in flight");
        c.tally.op("invalid:option-after-go");
        nbd.sendRaw(option);
      }
    }
    drain(reader);
    if (brokenReason() != null) {
      return;
    }
    boolean closed;
    try {
      closed = nbd.awaitServerClose();
    } catch (SocketTimeoutException e) {
      throw new Violation("after " + ending + " the server kept the connection open "
          + c.settings.replyTimeout().toSeconds() + " s (it must close it)");
    }
    if (!closed) {
      throw new Violation("after " + ending + " and the answers to every earlier request, the server sent more");
    }
    c.tally.event("checked session: closed by the server after " + ending);
  }

  /** Waits until every request sent is answered (or the reader gave up) and the reader is done. */
  private void drain(Future<?> reader) throws Violation {
    synchronized (this) {
      sending = false;
      notifyAll();
    }
    try {
      reader.get(c.settings.replyTimeout().toMillis() * 2 + 10_000, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new Violation("the reply reader did not finish within twice the reply timeout");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Violation("interrupted");
    } catch (ExecutionException e) {
      throw new Violation("the reply reader failed: " + e.getCause());
    }
    synchronized (this) {
      if (broken != null && !reported) {
        throw new Violation(broken);
      }
    }
  }

  /** Sends one request once the depth and its conflicts allow; false if the session broke meanwhile. */
  private boolean send(Request r) throws IOException, Violation {
    long deadline = System.nanoTime() + c.settings.replyTimeout().toNanos() * 2;
    synchronized (this) {
      while (broken == null && (inFlight.size() >= depth || conflicts(r))) {
        if (System.nanoTime() - deadline > 0) {
          throw new Violation("no room to send " + r + " within twice the reply timeout (" + inFlight.size()
              + " in flight)");
        }
        waitQuietly();
      }
      if (broken != null) {
        return false;
      }
      inFlight.put(nbd.nextHandle(), r);
    }
    c.trace("send " + r + " handle " + nbd.nextHandle());
    nbd.send(r.type(), r.flags(), r.offset(), r.length(), r.payload());
    c.tally.op(r.label());
    synchronized (this) {
      sent++;
      notifyAll();
    }
    return true;
  }

  private boolean conflicts(Request r) {
    for (Request other : inFlight.values()) {
      if (r.conflictsWith(other)) {
        return true;
      }
    }
    return false;
  }

  /** The reply reader: reads while requests are out, checks each answer, until the sender is done. */
  private void readReplies() {
    try {
      while (true) {
        synchronized (this) {
          while (broken == null && answered >= sent && (sending || !inFlight.isEmpty())) {
            waitQuietly();
          }
          if (broken != null || (!sending && inFlight.isEmpty())) {
            return;
          }
        }
        Reply reply = nbd.receive();
        Request r;
        synchronized (this) {
          r = inFlight.get(reply.handle());
        }
        check(r, reply);
        synchronized (this) {
          inFlight.remove(reply.handle());
          answered++;
          notifyAll();
        }
      }
    } catch (IOException | RuntimeException e) {
      int left;
      synchronized (this) {
        left = inFlight.size();
      }
      markBroken("reading replies failed with " + left + " requests unanswered: " + e, false);
    }
  }

  private void check(Request r, Reply reply) {
    int error = reply.error();
    if (error != 0) {
      c.tally.error(error);
    }
    c.trace("answer " + Nbd.errorName(error) + " to handle " + reply.handle());
    if (Arrays.stream(r.allowed()).noneMatch(e -> e == error)) {
      c.fail(r + " was answered " + Nbd.errorName(error) + "; right answers: "
          + String.join(" or ", Arrays.stream(r.allowed()).mapToObj(Nbd::errorName).toList()));
      markBroken("wrong answer", true);
      return;
    }
    if (error != 0) {
      if (r.changesBytes()) { // a valid write refused (a full pool): some pages may have landed
        c.model.forget(r.offset(), r.length());
        c.tally.event("checked session: valid " + Nbd.commandName(r.type()) + " refused with " + Nbd.errorName(error));
      }
      return;
    }
    switch (r.type()) {
      case Nbd.CMD_READ -> {
        if (r.inModel()) {
          String m = c.model.mismatch(r.offset(), reply.data());
          if (m != null) {
            c.mismatch(r + ": " + m);
            markBroken("mismatch", true);
          }
        } else if (export.readOnly()) {
          for (int i = 0; i < reply.data().length; i++) {
            if (reply.data()[i] != 0) {
              c.mismatch(r + " of the never-written read-only export read 0x"
                  + Integer.toHexString(reply.data()[i] & 0xff) + " at offset " + (r.offset() + i));
              markBroken("mismatch", true);
              break;
            }
          }
        }
      }
      case Nbd.CMD_WRITE -> {
        if (r.inModel()) {
          c.model.write(r.offset(), r.payload());
        }
      }
      case Nbd.CMD_WRITE_ZEROES -> {
        if (r.inModel()) {
          c.model.zero(r.offset(), r.length());
        }
      }
      case Nbd.CMD_TRIM -> {
        long from = ExportLayout.alignUp(r.offset());
        long to = (r.offset() + r.length()) / PAGE * PAGE;
        if (r.inModel() && to > from) {
          c.model.zero(from, (int) (to - from));
        }
      }
      default -> { }
    }
  }

  private synchronized String brokenReason() {
    return broken;
  }

  private synchronized void markBroken(String why, boolean alreadyReported) {
    if (broken == null) {
      broken = why;
      reported = alreadyReported;
    }
    notifyAll();
  }

  private void waitQuietly() {
    try {
      wait(200);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      broken = "interrupted";
    }
  }
}
