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
import akka.util.ByteString;
import io.zswapd.protocol.nbd.ExportCatalog;
import io.zswapd.protocol.nbd.ExportInfo;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdProtocolException;
import io.zswapd.protocol.nbd.NbdReply;
import io.zswapd.protocol.nbd.NbdRequest;
import io.zswapd.protocol.nbd.ServerHandshake;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One NBD connection as an Akka Streams stage: bytes from the client in, bytes to the client
 * out. It runs the fixed-newstyle handshake ({@link ServerHandshake}), then parses request
 * headers and payloads, hands each request to the engine and writes each reply the moment its
 * request is done, in whatever order they finish (the protocol allows it).
 *
 * <p>Backpressure: the stage stops pulling client bytes while {@link #MAX_IN_FLIGHT} requests
 * or {@link #MAX_IN_FLIGHT_BYTES} bytes are in flight, so a fast client waits in its socket
 * buffer instead of growing the heap. A WRITE whose payload is refused (too large, past the
 * end, read-only, unknown flags) is skipped as it streams in, never buffered.
 *
 * <p>Closing: DISC, a bad request magic, a handshake that ends, or the client going away stop
 * the reading; requests already in flight finish (a vanished client's results are dropped),
 * then the stage completes and the socket closes.
 */
public final class NbdConnectionStage extends GraphStage<FlowShape<ByteString, ByteString>> {
  static final int MAX_IN_FLIGHT = 128;
  static final long MAX_IN_FLIGHT_BYTES = 64L << 20;
  private static final Logger LOG = LoggerFactory.getLogger(NbdConnectionStage.class);

  private final Inlet<ByteString> in = Inlet.create("nbd.in");
  private final Outlet<ByteString> out = Outlet.create("nbd.out");
  private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
  private final ExportCatalog catalog;
  private final NbdBackend backend;
  private final int maxPayload;
  private final String peer;
  private final NbdMetrics metrics;

  NbdConnectionStage(ExportCatalog catalog, NbdBackend backend, int maxPayload, String peer, NbdMetrics metrics) {
    this.metrics = metrics;
    this.catalog = catalog;
    this.backend = backend;
    this.maxPayload = maxPayload;
    this.peer = peer;
  }

  @Override
  public FlowShape<ByteString, ByteString> shape() {
    return shape;
  }

  /** A finished request: its reply, what it held of the in-flight budget, and its command. */
  private record Finished(long handle, int error, ByteString data, long writeSeq, long bytes, int command) {}

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new Logic();
  }

  private final class Logic extends GraphStageLogic {
    private final ServerHandshake handshake = new ServerHandshake(catalog);
    private final ArrayDeque<ByteString> replies = new ArrayDeque<>();
    private final TreeSet<Long> writesInFlight = new TreeSet<>();
    private final ArrayDeque<long[]> flushes = new ArrayDeque<>(); // {barrier write seq, handle}
    private final AsyncCallback<Finished> onFinished = createAsyncCallback(this::finished);
    private ByteString buffer = ByteString.emptyByteString();
    private ExportInfo export;
    /** The attached export's instruments (resolved once, at attach); null before, or if unknown. */
    private NbdMetrics.ExportInstruments recorder;
    private NbdRequest awaitingPayload;
    private long discardRemaining;
    private NbdRequest discarded;
    private int discardError;
    private int inFlight;
    private long inFlightBytes;
    private long nextWriteSeq = 1;
    private boolean closing;
    private boolean upstreamDone;

    Logic() {
      super(shape);
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          buffer = buffer.concat(grab(in));
          process();
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
          flushReplies();
          maybeFinish();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          completeStage();
        }
      });
    }

    @Override
    public void preStart() {
      replies.add(ByteString.fromArrayUnsafe(handshake.greeting()));
      pull(in);
    }

    @Override
    public void postStop() {
      if (recorder != null) {
        recorder.disconnected();
      }
    }

    // ---- reading requests -------------------------------------------------------------------

    private void process() {
      while (!closing && step()) {
        // each step consumed something; go on while there is more
      }
      maybePull();
      maybeFinish();
    }

    /** One unit of work from the buffer; false when it must wait for bytes or budget. */
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
        reply(discarded.handle(), discardError, null);
        return true;
      }
      if (awaitingPayload != null) {
        if (buffer.size() < awaitingPayload.length()) {
          return false;
        }
        NbdRequest r = awaitingPayload;
        awaitingPayload = null;
        ByteString payload = buffer.take(r.length()).compact();
        buffer = buffer.drop(r.length());
        start(r, backend.write(export.name(), r.offset(), payload), true, r.length());
        return true;
      }
      if (inFlight >= MAX_IN_FLIGHT || inFlightBytes >= MAX_IN_FLIGHT_BYTES || buffer.size() < NbdRequest.HEADER_SIZE) {
        return false;
      }
      NbdRequest r;
      try {
        r = NbdRequest.decode(buffer.take(NbdRequest.HEADER_SIZE).toByteBuffer());
      } catch (NbdProtocolException e) {
        LOG.warn("nbd {}: {}; closing the connection", peer, e.getMessage());
        closing = true;
        return false;
      }
      buffer = buffer.drop(NbdRequest.HEADER_SIZE);
      dispatch(r);
      return true;
    }

    private boolean handshakeStep() {
      ByteBuffer view = buffer.toByteBuffer();
      ServerHandshake.Step s = handshake.onBytes(view);
      buffer = buffer.drop(view.position());
      if (s.output().length > 0) {
        replies.add(ByteString.fromArrayUnsafe(s.output()));
        flushReplies();
      }
      switch (s.state()) {
        case TRANSMISSION -> {
          export = s.selected().orElseThrow();
          recorder = metrics.export(export.name());
          if (recorder != null) {
            recorder.connected();
          }
          LOG.debug("nbd {}: attached to export {}", peer, export.name());
          return true;
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

    private void dispatch(NbdRequest r) {
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
          if ((r.flags() & ~Nbd.CMD_FLAG_FUA) != 0 || length > maxPayload || !inRange) {
            reply(r.handle(), Nbd.EINVAL, null);
          } else {
            start(r, backend.read(export.name(), r.offset(), r.length()), false, length);
          }
        }
        case Nbd.CMD_WRITE -> {
          int error = (r.flags() & ~Nbd.CMD_FLAG_FUA) != 0 || length > maxPayload ? Nbd.EINVAL
              : readOnly ? Nbd.EPERM : !inRange ? Nbd.ENOSPC : 0;
          if (error != 0) {
            discarded = r;
            discardError = error;
            discardRemaining = length;
            if (length == 0) {
              reply(r.handle(), error, null);
            }
          } else {
            awaitingPayload = r;
          }
        }
        case Nbd.CMD_FLUSH -> {
          if ((r.flags() & ~Nbd.CMD_FLAG_FUA) != 0) {
            reply(r.handle(), Nbd.EINVAL, null);
          } else if (writesInFlight.isEmpty()) {
            reply(r.handle(), 0, null);
          } else {
            inFlight++;
            flushes.add(new long[] {nextWriteSeq - 1, r.handle()});
          }
        }
        case Nbd.CMD_TRIM -> {
          int error = (r.flags() & ~Nbd.CMD_FLAG_FUA) != 0 || !inRange ? Nbd.EINVAL : readOnly ? Nbd.EPERM : 0;
          if (error != 0) {
            reply(r.handle(), error, null);
          } else {
            start(r, backend.trim(export.name(), r.offset(), length), true, 0);
          }
        }
        case Nbd.CMD_WRITE_ZEROES -> {
          int error = (r.flags() & ~(Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE)) != 0 ? Nbd.EINVAL
              : readOnly ? Nbd.EPERM : !inRange ? Nbd.ENOSPC : 0;
          if (error != 0) {
            reply(r.handle(), error, null);
          } else {
            start(r, backend.writeZeroes(export.name(), r.offset(), length), true, 0);
          }
        }
        case Nbd.CMD_DISC -> {
          LOG.debug("nbd {}: disconnect requested with {} requests in flight", peer, inFlight);
          closing = true;
        }
        default -> reply(r.handle(), Nbd.EINVAL, null);
      }
    }

    private void start(NbdRequest r, CompletionStage<?> work, boolean isWrite, long bytes) {
      long seq = 0;
      if (isWrite) {
        seq = nextWriteSeq++;
        writesInFlight.add(seq);
      }
      inFlight++;
      inFlightBytes += bytes;
      long writeSeq = seq;
      boolean isRead = r.type() == Nbd.CMD_READ;
      int command = r.type();
      work.whenComplete((result, failure) -> onFinished.invoke(failure != null
          ? new Finished(r.handle(), NbdBackend.errno(failure), null, writeSeq, bytes, command)
          : new Finished(r.handle(), 0, isRead ? (ByteString) result : null, writeSeq, bytes, command)));
    }

    // ---- replies ----------------------------------------------------------------------------

    private void finished(Finished f) {
      inFlight--;
      inFlightBytes -= f.bytes();
      if (f.writeSeq() > 0) {
        writesInFlight.remove(f.writeSeq());
      }
      if (f.error() != 0) {
        LOG.debug("nbd {}: request {} failed with {}", peer, f.handle(), Nbd.errorName(f.error()));
      } else if (recorder != null && f.command() == Nbd.CMD_READ) {
        recorder.bytesRead(f.data().length());
      } else if (recorder != null && f.command() == Nbd.CMD_WRITE) {
        recorder.bytesWritten(f.bytes());
      }
      reply(f.handle(), f.error(), f.data());
      while (!flushes.isEmpty() && (writesInFlight.isEmpty() || writesInFlight.first() > flushes.peek()[0])) {
        inFlight--;
        reply(flushes.poll()[1], 0, null);
      }
      process();
    }

    private void reply(long handle, int error, ByteString data) {
      if (error != 0 && recorder != null) {
        recorder.error(error);
      }
      ByteString header = ByteString.fromArrayUnsafe(new NbdReply(error, handle).encode());
      replies.add(error == 0 && data != null ? header.concat(data) : header);
      flushReplies();
    }

    private void flushReplies() {
      if (!replies.isEmpty() && isAvailable(out)) {
        ByteString all = replies.poll();
        while (!replies.isEmpty()) {
          all = all.concat(replies.poll());
        }
        push(out, all);
      }
    }

    private void maybePull() {
      boolean wantsBytes = awaitingPayload != null || discardRemaining > 0
          || (inFlight < MAX_IN_FLIGHT && inFlightBytes < MAX_IN_FLIGHT_BYTES);
      if (!closing && !upstreamDone && wantsBytes && !hasBeenPulled(in) && !isClosed(in)) {
        pull(in);
      }
    }

    private void maybeFinish() {
      if ((closing || upstreamDone) && inFlight == 0 && replies.isEmpty()) {
        completeStage();
      }
    }
  }
}
