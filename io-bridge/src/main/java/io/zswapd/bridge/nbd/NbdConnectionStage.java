package io.zswapd.bridge.nbd;

import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.AsyncCallback;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.stream.stage.TimerGraphStageLogic;
import akka.util.ByteString;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.nbd.ExportInfo;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdProtocolException;
import io.zswapd.protocol.nbd.NbdReply;
import io.zswapd.protocol.nbd.NbdRequest;
import io.zswapd.protocol.nbd.ServerHandshake;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.TreeSet;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One NBD connection as an Akka Streams stage: bytes from the client in, bytes to the client
 * out. It runs the fixed-newstyle handshake ({@link ServerHandshake}), with TLS under it after
 * STARTTLS where TCP requires it ({@link TlsSession}), then parses request headers and payloads
 * and replies to requests in whatever order they finish (the protocol allows it).
 *
 * <p><b>Batches.</b> Each pass over the bytes read decodes every complete request and sends the
 * engine requests they became as one message ({@link NbdBackend.Connection#flush}); answers come
 * back one {@link NbdBackend.Part} at a time. Requests decoded in one pass form a <em>pass</em>;
 * a request that finishes while others of its pass are still with the engine has its reply
 * held back, and the last of the pass to finish sends them all in one push, so one
 * {@code write} carries the replies of a whole pass instead of one each (the engine answers
 * the pages of a pass one shard at a time, so they would otherwise go out one by one, each
 * waking the client). A held reply also goes out with any other push, and at the latest after
 * {@code reply-hold}, so a slow request (a read from the backing file, a remote shard) delays
 * the others of its pass by that much at most. A pass of one request is never held, and
 * {@code reply-hold = 0} holds none. Replies that finish while the socket has not taken the
 * last push go together with the next.
 *
 * <p><b>What a connection may hold, whatever its client sends.</b> Every request costs bytes of
 * the server's {@code buffer-memory} from the moment its header is decoded until its reply has
 * been handed to the socket and the socket has taken it: a READ its reply payload, a WRITE its
 * payload (taken before the payload is read, so the payload never waits in memory unpaid for),
 * a TRIM or WRITE_ZEROES {@link #WORK_BYTES_PER_PAGE} bytes per page it covers (the engine work
 * it queues), every request {@link #REQUEST_COST} more. Credit comes from {@link Connections}
 * in chunks; a connection that holds its share ({@code ConnectionContext.connectionBufferBytes})
 * or finds the budget taken stops decoding and stops reading: the client waits in its socket
 * buffer. Replies a client does not read therefore stop its requests instead of growing the
 * heap, and {@code send-timeout} closes a client that reads nothing at all. Before the export
 * is chosen, option replies past {@link #HANDSHAKE_OUTPUT_LIMIT} unread bytes stop the reading
 * of options the same way. At most {@link #MAX_IN_FLIGHT} requests are with the engine at once.
 * A WRITE whose payload is refused (too large, past the end, read-only, unknown flags) is
 * skipped as it streams in, never buffered.
 *
 * <p><b>Time.</b> One timer per connection ticks every {@link #TICK}: a client that has not
 * chosen an export within {@code handshake-timeout} is disconnected, one that reads none of its
 * replies for {@code send-timeout} is closed, and with {@code idle-timeout} set one that has
 * nothing in flight and sends nothing for that long is closed.
 *
 * <p><b>Admission.</b> Before its greeting the stage asks {@link Connections} for a place;
 * past {@code max-connections} it closes without a word.
 *
 * <p>Closing: DISC, a bad request magic, a handshake that ends, or the client going away stop
 * the reading; requests already in flight finish (a vanished client's results are dropped),
 * then the stage completes and the socket closes. Whatever the connection held of the budget
 * goes back when it stops.
 */
public final class NbdConnectionStage extends GraphStage<FlowShape<ByteString, ByteString>> {
  static final int MAX_IN_FLIGHT = 128;
  /** What any request costs besides its payload: its header, reply header and bookkeeping. */
  static final long REQUEST_COST = 64;
  /** What a TRIM or WRITE_ZEROES costs per page it covers: the work it puts in the engine. */
  static final long WORK_BYTES_PER_PAGE = 8;
  /** Unread option replies past which no more options are read. */
  static final int HANDSHAKE_OUTPUT_LIMIT = 64 << 10;
  /** Bytes of requests read ahead of the one being decoded. */
  static final int READ_AHEAD = 256 << 10;
  static final Duration TICK = Duration.ofSeconds(1);
  private static final String TICK_TIMER = "tick";
  private static final String HOLD_TIMER = "hold";
  private static final Logger LOG = LoggerFactory.getLogger(NbdConnectionStage.class);

  private final Inlet<ByteString> in = Inlet.create("nbd.in");
  private final Outlet<ByteString> out = Outlet.create("nbd.out");
  private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
  private final ConnectionContext context;
  private final String peer;
  private final boolean tlsRequired;

  /**
   * @param tlsRequired whether this connection must start TLS before anything else (a TCP
   *                    connection of a server with TLS credentials)
   */
  NbdConnectionStage(ConnectionContext context, String peer, boolean tlsRequired) {
    if (tlsRequired && context.tls().isEmpty()) {
      throw new IllegalArgumentException("TLS required without TLS credentials");
    }
    this.context = context;
    this.peer = peer;
    this.tlsRequired = tlsRequired;
  }

  @Override
  public FlowShape<ByteString, ByteString> shape() {
    return shape;
  }

  /**
   * An NBD request with the engine: answered when the last of its parts (the engine requests it
   * became, see {@link NbdBackend}) has answered, or failed when the engine fails or takes longer
   * than {@link Zswapd#ASK_TIMEOUT}. Jobs in flight form a list in the order they started, so the
   * oldest is at its head.
   */
  private static final class Job {
    final long handle;
    final int command;
    final long cost;
    final long payload;
    final long writeSeq;
    final long startTick;
    int parts;
    int error;
    ByteString[] pieces;
    boolean done;
    /** The pass it was decoded in. */
    Pass pass;
    Job prev;
    Job next;

    Job(long handle, int command, long cost, long payload, long writeSeq, long startTick) {
      this.handle = handle;
      this.command = command;
      this.cost = cost;
      this.payload = payload;
      this.writeSeq = writeSeq;
      this.startTick = startTick;
    }
  }

  /** The requests decoded in one pass over the bytes read: how many of them are still with the engine. */
  private static final class Pass {
    int open;
  }

  /** Bytes queued for the client (encrypted already under TLS) and what they cost of the budget. */
  private record Reply(ByteString wire, long cost) {}

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new Logic();
  }

  private final class Logic extends TimerGraphStageLogic {
    private final ServerHandshake handshake;
    private final ArrayDeque<Reply> replies = new ArrayDeque<>();
    private final TreeSet<Long> writesInFlight = new TreeSet<>();
    private final ArrayDeque<long[]> flushes = new ArrayDeque<>(); // {barrier write seq, handle, cost}
    private final AsyncCallback<NbdBackend.Part> onAnswer = createAsyncCallback(this::answered);
    private final AsyncCallback<Boolean> onAdmission = createAsyncCallback(this::admission);
    private final AsyncCallback<Long> onGrant = createAsyncCallback(this::granted);
    private ByteString buffer = ByteString.emptyByteString();
    private ExportInfo export;
    /** The way to the export's engine requests, from attach on. */
    private NbdBackend.Connection engine;
    private Job oldest;
    private Job newest;
    /** The attached export's instruments (resolved once, at attach); null before, or if unknown. */
    private NbdMetrics.ExportInstruments recorder;
    private TlsSession tls;
    private NbdRequest awaitingPayload;
    private long discardRemaining;
    private NbdRequest discarded;
    private int discardError;
    private long discardCost;
    private int inFlight;
    /** The pass being decoded now, from its first request with the engine; null between passes. */
    private Pass decoding;
    /** A finished request's reply is being queued while others of its pass are with the engine. */
    private boolean holding;
    private boolean holdTimerSet;
    private long nextWriteSeq = 1;
    private boolean closing;
    private boolean upstreamDone;
    private boolean admitted;
    // ---- buffer memory: held = taken by requests (in flight, queued or pushed), credit = spare
    private long credit;
    private long held;
    private boolean awaitingGrant;
    /** The last step stopped for budget, in-flight count or unread output, not for want of bytes. */
    private boolean blocked;
    private long queuedBytes;
    private long pushedCost;
    private boolean pushPending;
    // ---- time
    private long ticks;
    private long requests;
    private long requestsAtTick;
    private long pulls;
    private long pullsAtTick;
    private long idleTicks;
    private long stalledTicks;

    Logic() {
      super(shape);
      this.handshake = new ServerHandshake(context.catalog(), tlsRequired);
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          received(grab(in));
        }

        @Override
        public void onUpstreamFinish() {
          upstreamDone = true;
          process();
        }

        @Override
        public void onUpstreamFailure(Throwable ex) {
          LOG.debug("nbd {}: connection lost: {}", peer, ex.toString());
          upstreamDone = true;
          closing = true;
          process();
        }
      });
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pulls++;
          if (pushPending) {
            // the socket took the last push: what it cost is free again
            pushPending = false;
            give(pushedCost);
            pushedCost = 0;
          }
          flushReplies();
          process();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          completeStage();
        }
      });
    }

    @Override
    public void preStart() {
      context.connections().tell(new Connections.Admit(peer, onAdmission));
    }

    private void admission(Boolean ok) {
      if (!ok) {
        completeStage();
        return;
      }
      admitted = true;
      scheduleWithFixedDelay(TICK_TIMER, TICK, TICK);
      enqueue(ByteString.fromArrayUnsafe(handshake.greeting()), 0);
      process();
    }

    @Override
    public void postStop() {
      if (admitted) {
        context.connections().tell(new Connections.Left(credit + held));
      }
      if (recorder != null) {
        recorder.disconnected();
      }
    }

    // ---- reading requests -------------------------------------------------------------------

    private void received(ByteString bytes) {
      if (tls == null) {
        buffer = buffer.concat(bytes);
      } else if (unwrapped(bytes) && tls.inboundDone()) {
        upstreamDone = true;
      }
      process();
    }

    /** Decrypts {@code encrypted} into the buffer and queues what TLS has to say; false on failure. */
    private boolean unwrapped(ByteString encrypted) {
      ByteString plain;
      try {
        plain = tls.unwrap(encrypted);
      } catch (SSLException e) {
        sendTlsOutput(); // the alert
        tlsFailed(e);
        return false;
      }
      sendTlsOutput();
      buffer = buffer.concat(plain);
      return true;
    }

    private void process() {
      blocked = false;
      while (admitted && !closing && step()) {
        // each step consumed something; go on while there is more
      }
      if (engine != null) {
        engine.flush(); // what this pass decoded goes to the engine as one message
      }
      decoding = null;
      maybePull();
      maybeFinish();
    }

    /** One unit of work from the buffer; false when it must wait for bytes, budget or the client. */
    private boolean step() {
      if (export == null) {
        return handshakeStep();
      }
      if (discardRemaining > 0) {
        int n = (int) Math.min(discardRemaining, buffer.size());
        buffer = buffer.drop(n);
        discardRemaining -= n;
        if (discardRemaining > 0) {
          return false;
        }
        reply(discarded.handle(), discardError, null, discardCost);
        return true;
      }
      if (awaitingPayload != null) {
        if (buffer.size() < awaitingPayload.length()) {
          return false;
        }
        NbdRequest r = awaitingPayload;
        awaitingPayload = null;
        ByteString payload = buffer.take(r.length()); // a view: what outlives this call is copied (NbdBackend.write)
        buffer = buffer.drop(r.length());
        Job job = begin(r, true, cost(r), r.length());
        sent(job, engine.write(job, r.offset(), payload));
        return true;
      }
      if (buffer.size() < NbdRequest.HEADER_SIZE) {
        return false;
      }
      if (inFlight >= MAX_IN_FLIGHT) {
        blocked = true;
        return false;
      }
      NbdRequest r;
      try {
        r = NbdRequest.decode(buffer.take(NbdRequest.HEADER_SIZE).toByteBuffer());
      } catch (NbdProtocolException e) {
        // debug, not warn: any local client could otherwise write the log at will; the
        // connection's end is in the connection metrics
        LOG.debug("nbd {}: {}; closing the connection", peer, e.getMessage());
        closing = true;
        return false;
      }
      long cost = cost(r);
      if (!take(cost)) {
        blocked = true;
        return false;
      }
      buffer = buffer.drop(NbdRequest.HEADER_SIZE);
      requests++;
      dispatch(r, cost);
      return true;
    }

    private boolean handshakeStep() {
      if (queuedBytes > HANDSHAKE_OUTPUT_LIMIT) {
        blocked = true; // the client is not reading its option replies
        return false;
      }
      ByteBuffer view = buffer.toByteBuffer();
      ServerHandshake.Step s = handshake.onBytes(view);
      buffer = buffer.drop(view.position());
      if (s.output().length > 0) {
        enqueue(ByteString.fromArrayUnsafe(s.output()), 0);
      }
      switch (s.state()) {
        case TRANSMISSION -> {
          export = s.selected().orElseThrow();
          recorder = context.metrics().export(export.name());
          engine = context.backend().connect(export.name(), onAnswer::invoke);
          if (recorder != null) {
            recorder.connected();
          }
          LOG.debug("nbd {}: attached to export {}{}", peer, export.name(),
              tls == null ? "" : " over " + tls.describe());
          return true;
        }
        case STARTING_TLS -> {
          return startTls();
        }
        case CLOSED -> {
          s.closeReason().ifPresent(reason -> LOG.debug("nbd {}: handshake ended: {}", peer, reason));
          closing = true;
          return false;
        }
        default -> {
          return view.position() > 0 && buffer.nonEmpty();
        }
      }
    }

    /** STARTTLS was acknowledged (in plain text): what the client sends from here on is TLS. */
    private boolean startTls() {
      try {
        tls = new TlsSession(context.tls().orElseThrow().newEngine());
      } catch (SSLException e) {
        tlsFailed(e);
        return false;
      }
      handshake.tlsStarted();
      ByteString encrypted = buffer;
      buffer = ByteString.emptyByteString();
      return encrypted.isEmpty() || unwrapped(encrypted);
    }

    private void tlsFailed(SSLException e) {
      LOG.info("nbd {}: TLS failed, closing the connection: {}", peer, e.getMessage());
      closing = true;
    }

    /** What a request costs of the buffer memory while it is served (see the class comment). */
    private long cost(NbdRequest r) {
      long length = r.lengthUnsigned();
      boolean valid = r.offset() >= 0 && length <= export.sizeBytes() && r.offset() <= export.sizeBytes() - length;
      return switch (r.type()) {
        case Nbd.CMD_READ -> REQUEST_COST + (valid && length <= context.maxPayload() ? length : 0);
        case Nbd.CMD_WRITE -> REQUEST_COST + (writeError(r) == 0 ? length : 0);
        case Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES -> REQUEST_COST + (valid ? ((length >>> 12) + 2) * WORK_BYTES_PER_PAGE : 0);
        case Nbd.CMD_DISC -> 0;
        default -> REQUEST_COST;
      };
    }

    private int writeError(NbdRequest r) {
      long size = export.sizeBytes();
      long length = r.lengthUnsigned();
      boolean inRange = r.offset() >= 0 && length <= size && r.offset() <= size - length;
      return (r.flags() & ~Nbd.CMD_FLAG_FUA) != 0 || length > context.maxPayload() ? Nbd.EINVAL
          : export.hasFlag(Nbd.FLAG_READ_ONLY) ? Nbd.EPERM : !inRange ? Nbd.ENOSPC : 0;
    }

    private void dispatch(NbdRequest r, long cost) {
      if (recorder != null) {
        recorder.request(r.type());
      }
      long size = export.sizeBytes();
      long length = r.lengthUnsigned();
      boolean inRange = r.offset() >= 0 && length <= size && r.offset() <= size - length;
      boolean readOnly = export.hasFlag(Nbd.FLAG_READ_ONLY);
      switch (r.type()) {
        case Nbd.CMD_READ -> {
          // FUA is advertised, so the spec says every command must accept it (and may ignore it)
          if ((r.flags() & ~Nbd.CMD_FLAG_FUA) != 0 || length > context.maxPayload() || !inRange) {
            reply(r.handle(), Nbd.EINVAL, null, cost);
          } else {
            Job job = begin(r, false, cost, length);
            int parts = engine.read(job, r.offset(), r.length());
            job.pieces = new ByteString[parts];
            sent(job, parts);
          }
        }
        case Nbd.CMD_WRITE -> {
          int error = writeError(r);
          if (error != 0) {
            discarded = r;
            discardError = error;
            discardRemaining = length;
            discardCost = cost;
            if (length == 0) {
              reply(r.handle(), error, null, cost);
            }
          } else {
            awaitingPayload = r;
          }
        }
        case Nbd.CMD_FLUSH -> {
          if ((r.flags() & ~Nbd.CMD_FLAG_FUA) != 0) {
            reply(r.handle(), Nbd.EINVAL, null, cost);
          } else if (writesInFlight.isEmpty()) {
            reply(r.handle(), 0, null, cost);
          } else {
            inFlight++;
            flushes.add(new long[] {nextWriteSeq - 1, r.handle(), cost});
          }
        }
        case Nbd.CMD_TRIM -> {
          int error = (r.flags() & ~Nbd.CMD_FLAG_FUA) != 0 || !inRange ? Nbd.EINVAL : readOnly ? Nbd.EPERM : 0;
          if (error != 0) {
            reply(r.handle(), error, null, cost);
          } else {
            Job job = begin(r, true, cost, 0);
            sent(job, engine.trim(job, r.offset(), length));
          }
        }
        case Nbd.CMD_WRITE_ZEROES -> {
          int error = (r.flags() & ~(Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE)) != 0 ? Nbd.EINVAL
              : readOnly ? Nbd.EPERM : !inRange ? Nbd.ENOSPC : 0;
          if (error != 0) {
            reply(r.handle(), error, null, cost);
          } else {
            Job job = begin(r, true, cost, 0);
            sent(job, engine.writeZeroes(job, r.offset(), length));
          }
        }
        case Nbd.CMD_DISC -> {
          LOG.debug("nbd {}: disconnect requested with {} requests in flight", peer, inFlight);
          closing = true;
        }
        default -> reply(r.handle(), Nbd.EINVAL, null, cost);
      }
    }

    /** A request going to the engine: in flight until {@link #finish}; its parts are the caller's to add. */
    private Job begin(NbdRequest r, boolean isWrite, long cost, long payload) {
      long seq = 0;
      if (isWrite) {
        seq = nextWriteSeq++;
        writesInFlight.add(seq);
      }
      inFlight++;
      Job job = new Job(r.handle(), r.type(), cost, payload, seq, ticks);
      if (decoding == null) {
        decoding = new Pass();
      }
      decoding.open++;
      job.pass = decoding;
      job.prev = newest;
      if (newest == null) {
        oldest = job;
      } else {
        newest.next = job;
      }
      newest = job;
      return job;
    }

    // ---- buffer memory ------------------------------------------------------------------------

    /** Takes {@code cost} from this connection's credit; false (and credit asked for) when short. */
    private boolean take(long cost) {
      if (held > 0 && held + cost > context.connectionBufferBytes()) {
        return false; // at its share: its own replies going out make room
      }
      if (credit < cost) {
        if (!awaitingGrant) {
          awaitingGrant = true;
          // a chunk beyond this request, so the ones right behind it need no second round trip
          context.connections().tell(new Connections.Acquire(cost - credit + context.creditChunk(), onGrant));
        }
        return false;
      }
      credit -= cost;
      held += cost;
      return true;
    }

    private void granted(Long bytes) {
      awaitingGrant = false;
      credit += bytes;
      process();
    }

    /** {@code cost} is free again; credit beyond two chunks goes back to the other connections. */
    private void give(long cost) {
      held -= cost;
      credit += cost;
      if (credit > 2 * context.creditChunk() && !awaitingGrant) {
        context.connections().tell(new Connections.Release(credit - context.creditChunk()));
        credit = context.creditChunk();
      }
    }

    // ---- replies ----------------------------------------------------------------------------

    /** {@code job} became {@code parts} engine requests; with none (a zero length, a trim of no whole page) it is done. */
    private void sent(Job job, int parts) {
      job.parts = parts;
      if (parts == 0) {
        finish(job);
      }
    }

    /** A part of a request in flight has answered (handed back by its reply-to). */
    private void answered(NbdBackend.Part part) {
      Job job = (Job) part.owner;
      if (job.done) {
        return; // failed already: the engine took too long, or failed
      }
      int error = part.errno();
      if (error != 0) {
        if (job.error == 0) {
          job.error = error;
        }
      } else if (job.command == Nbd.CMD_READ) {
        job.pieces[part.index] = part.bytes();
      } else if (engine.nextZeroes(part)) {
        engine.flush();
        return; // the part goes on with the next range of zeros
      }
      if (--job.parts == 0) {
        finish(job);
      }
      process();
    }

    /** Replies to a request in flight, with its error or data, and answers the flushes it held back. */
    private void finish(Job job) {
      job.done = true;
      if (job.prev == null) {
        oldest = job.next;
      } else {
        job.prev.next = job.next;
      }
      if (job.next == null) {
        newest = job.prev;
      } else {
        job.next.prev = job.prev;
      }
      inFlight--;
      if (job.writeSeq > 0) {
        writesInFlight.remove(job.writeSeq);
      }
      ByteString data = null;
      if (job.error != 0) {
        LOG.debug("nbd {}: request {} failed with {}", peer, job.handle, Nbd.errorName(job.error));
      } else if (job.command == Nbd.CMD_READ) {
        data = job.pieces.length == 0 ? ByteString.emptyByteString() : job.pieces[0];
        for (int i = 1; i < job.pieces.length; i++) {
          data = data.concat(job.pieces[i]);
        }
        if (recorder != null) {
          recorder.bytesRead(data.length());
        }
      } else if (recorder != null && job.command == Nbd.CMD_WRITE) {
        recorder.bytesWritten(job.payload);
      }
      // held while others of its pass are with the engine (not while the pass is still being decoded)
      holding = --job.pass.open > 0 && job.pass != decoding && !context.replyHold().isZero();
      if (holding && !holdTimerSet) {
        holdTimerSet = true;
        scheduleOnce(HOLD_TIMER, context.replyHold());
      }
      reply(job.handle, job.error, data, job.cost);
      holding = false;
      while (!flushes.isEmpty() && (writesInFlight.isEmpty() || writesInFlight.first() > flushes.peek()[0])) {
        inFlight--;
        long[] flush = flushes.poll();
        reply(flush[1], 0, null, flush[2]);
      }
    }

    /** Fails, with EIO, every request in flight that has waited {@code maxTicks} ticks or more (all of them for 0). */
    private void failStale(long maxTicks, String why) {
      int failed = 0;
      while (oldest != null && ticks - oldest.startTick >= maxTicks) {
        Job job = oldest;
        job.error = Nbd.EIO;
        finish(job);
        failed++;
      }
      if (failed > 0) {
        LOG.warn("nbd {}: {} request(s) failed with EIO: {}", peer, failed, why);
        flushReplies();
        process();
      }
    }

    private void reply(long handle, int error, ByteString data, long cost) {
      if (error != 0 && recorder != null) {
        recorder.error(error);
      }
      ByteString header = ByteString.fromArrayUnsafe(new NbdReply(error, handle).encode());
      enqueue(error == 0 && data != null ? header.concat(data) : header, cost);
    }

    /** Queues bytes for the client, encrypted when TLS is on, and sends what the socket will take. */
    private void enqueue(ByteString plain, long cost) {
      ByteString wire = plain;
      if (tls != null) {
        try {
          tls.wrap(plain);
        } catch (SSLException e) {
          give(cost);
          tlsFailed(e);
          return;
        }
        wire = tls.takeOutbound();
      }
      replies.add(new Reply(wire, cost));
      queuedBytes += wire.size();
      flushReplies();
    }

    /** TLS records the engine produced by itself (handshake, alerts), in order with the rest. */
    private void sendTlsOutput() {
      ByteString records = tls.takeOutbound();
      if (records.nonEmpty()) {
        replies.add(new Reply(records, 0));
        queuedBytes += records.size();
        flushReplies();
      }
    }

    /** Pushes every queued reply if the socket has taken the last push, unless a reply is being held. */
    private void flushReplies() {
      if (!holding && !replies.isEmpty() && isAvailable(out)) {
        Reply first = replies.poll();
        ByteString all = first.wire();
        long cost = first.cost();
        while (!replies.isEmpty()) {
          Reply next = replies.poll();
          all = all.concat(next.wire());
          cost += next.cost();
        }
        queuedBytes = 0;
        pushedCost = cost;
        pushPending = true;
        push(out, all);
      }
    }

    private void maybePull() {
      if (!admitted || closing || upstreamDone || hasBeenPulled(in) || isClosed(in)) {
        return;
      }
      boolean wantsBytes;
      if (awaitingPayload != null || discardRemaining > 0) {
        wantsBytes = true; // paid for already (or skipped unbuffered)
      } else if (export == null) {
        wantsBytes = !blocked && buffer.size() < ServerHandshake.OPTION_HEADER_SIZE + ServerHandshake.MAX_OPTION_DATA;
      } else {
        wantsBytes = !blocked && buffer.size() < READ_AHEAD;
      }
      if (wantsBytes) {
        pull(in);
      }
    }

    private void maybeFinish() {
      if ((closing || upstreamDone) && inFlight == 0 && replies.isEmpty()) {
        if (tls != null && !tls.inboundDone() && admitted) {
          tls.close();
          ByteString bye = tls.takeOutbound();
          if (bye.nonEmpty() && isAvailable(out)) {
            push(out, bye);
          }
        }
        completeStage();
      }
    }

    // ---- time ---------------------------------------------------------------------------------

    @Override
    public void onTimer(Object key) {
      if (HOLD_TIMER.equals(key)) {
        holdTimerSet = false;
        flushReplies(); // what waited this long for the rest of its pass goes now
        return;
      }
      ticks++;
      if (export == null && ticks >= ticksOf(context.handshakeTimeout())) {
        LOG.info("nbd {}: closing: no export chosen within {} (zswapd.nbd.handshake-timeout)", peer,
            context.handshakeTimeout());
        context.metrics().closed(NbdMetrics.Closed.HANDSHAKE_TIMEOUT);
        completeStage();
        return;
      }
      if (oldest != null && context.backend().engineFailed()) {
        failStale(0, "the engine has failed");
      } else if (oldest != null) {
        failStale(ticksOf(Zswapd.ASK_TIMEOUT), "no answer from the engine within " + Zswapd.ASK_TIMEOUT.toSeconds() + " s");
      }
      boolean outputWaiting = pushPending || !replies.isEmpty();
      stalledTicks = outputWaiting && pulls == pullsAtTick ? stalledTicks + 1 : 0;
      pullsAtTick = pulls;
      if (stalledTicks >= ticksOf(context.sendTimeout())) {
        LOG.info("nbd {}: closing: the client has read none of its replies for {} (zswapd.nbd.send-timeout);"
            + " {} bytes were waiting", peer, context.sendTimeout(), held);
        context.metrics().closed(NbdMetrics.Closed.SEND_TIMEOUT);
        completeStage();
        return;
      }
      boolean idle = export != null && inFlight == 0 && !outputWaiting && awaitingPayload == null
          && discardRemaining == 0 && requests == requestsAtTick;
      idleTicks = idle ? idleTicks + 1 : 0;
      requestsAtTick = requests;
      if (context.idleTimeout().isPresent() && idleTicks >= ticksOf(context.idleTimeout().get())) {
        LOG.info("nbd {}: closing: idle for {} (zswapd.nbd.idle-timeout)", peer, context.idleTimeout().get());
        context.metrics().closed(NbdMetrics.Closed.IDLE_TIMEOUT);
        completeStage();
      }
    }

    private long ticksOf(Duration d) {
      return Math.max(1, (d.toMillis() + TICK.toMillis() - 1) / TICK.toMillis());
    }
  }
}
