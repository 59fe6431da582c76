package io.zswapd.bridge.channel;

import akka.Done;
import akka.japi.Pair;
import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.javadsl.Flow;
import akka.stream.stage.AbstractGraphStageWithMaterializedValue;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.AsyncCallback;
import akka.stream.stage.GraphStageLogic;
import akka.util.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A connected {@link SocketChannel} (Unix-domain or TCP) as a stream stage: bytes to send in,
 * bytes received out. The NBD server joins it with the connection's protocol stage (and the
 * admin endpoint with its line protocol); the two fuse into one island, so a request travels
 * from the socket to the engine, and a reply back, without crossing threads.
 *
 * <p>The channel is non-blocking and the stage does its own I/O: when pulled it reads at once
 * (under load the next requests are usually waiting), and when pushed it writes at once. Only a
 * read that finds nothing, or a write that fills the socket buffer, hands the channel to the
 * server's {@link ChannelSelector}, which calls back when it is ready. Both directions go through
 * a direct buffer of {@link #CHUNK} bytes, so a push of many replies, however fragmented, costs
 * one copy and one {@code write} per chunk, and the JDK needs no temporary buffers of its own
 * (which it would size to the largest write and keep, per thread).
 *
 * <p>That buffer belongs to the thread, not to the connection ({@link #SCRATCH}): it holds bytes
 * only from the copy before a system call to the copy after it, never past the handler that made
 * the call, so the threads that run stages need one each however many connections are open.
 * Bytes not yet written stay in the {@code ByteString} they came in, on the heap, which the
 * connection's {@code buffer-memory} share bounds. A buffer per connection instead made direct
 * memory grow with the connections: a few hundred open connections took the daemon's 64 MiB of
 * direct memory, and the {@code OutOfMemoryError} of the next one stopped the JVM.
 *
 * <p>Backpressure: the inlet is pulled again only when everything pushed has been written, and
 * the channel is read only while the outlet is pulled; meanwhile the client waits in its socket
 * buffer and the connection stage queues (and later batches) its replies.
 *
 * <p>Closing. End of input completes the outlet; writing goes on, because a client may
 * half-close after DISC and still read the replies. A cancelled outlet (the connection stopped
 * reading, or the server is shutting down) also leaves writing running. Once the inlet has
 * finished and every byte is written, the stage stops. A failed read fails only the outlet (the
 * connection then ends as for a vanished client); a failed write, or a failed inlet, fails the
 * stage. {@code postStop} always closes the channel, which the client sees as end of input. The
 * stage materializes a {@code CompletionStage} that completes then, so shutdown can wait for the
 * last replies to be written, not only produced.
 */
public final class ChannelStage
    extends AbstractGraphStageWithMaterializedValue<FlowShape<ByteString, ByteString>, CompletionStage<Done>> {
  /**
   * Bytes read or written per system call at most: about sixteen 4 KiB requests or replies, half
   * of what fio keeps in flight at iodepth 32.
   */
  static final int CHUNK = 64 << 10;
  /**
   * The calling thread's direct buffer, {@link #CHUNK} bytes: scratch for one read or write and
   * the copy beside it (see the class comment). Stage handlers never nest on one thread (the
   * stream's interpreter queues the handlers a push or pull calls), so one buffer serves both
   * directions.
   */
  private static final ThreadLocal<ByteBuffer> SCRATCH = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(CHUNK));
  private static final Logger LOG = LoggerFactory.getLogger(ChannelStage.class);

  private final Inlet<ByteString> in = Inlet.create("socket.in");
  private final Outlet<ByteString> out = Outlet.create("socket.out");
  private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
  private final SocketChannel channel;
  private final ChannelSelector selector;
  private final String peer;

  private ChannelStage(SocketChannel channel, ChannelSelector selector, String peer) {
    this.channel = channel;
    this.selector = selector;
    this.peer = peer;
  }

  /**
   * The channel as a flow; it is switched to non-blocking mode when the flow starts. The flow
   * materializes a stage that completes once the channel is closed.
   */
  public static Flow<ByteString, ByteString, CompletionStage<Done>> flow(SocketChannel channel, ChannelSelector selector,
      String peer) {
    return Flow.fromGraph(new ChannelStage(channel, selector, peer));
  }

  @Override
  public FlowShape<ByteString, ByteString> shape() {
    return shape;
  }

  @Override
  public Pair<GraphStageLogic, CompletionStage<Done>> createLogicAndMaterializedValuePair(Attributes attributes) {
    CompletableFuture<Done> closed = new CompletableFuture<>();
    return Pair.create(new Logic(closed), closed);
  }

  private final class Logic extends GraphStageLogic {
    private final CompletableFuture<Done> closed;
    private final AsyncCallback<Integer> ready = createAsyncCallback(this::ready);
    private final ChannelSelector.Interest whenReadable =
        new ChannelSelector.Interest(channel, SelectionKey.OP_READ, ready);
    private final ChannelSelector.Interest whenWritable =
        new ChannelSelector.Interest(channel, SelectionKey.OP_WRITE, ready);
    /** Bytes pushed in and not yet written. */
    private ByteString unsent = ByteString.emptyByteString();
    private boolean writing;

    Logic(CompletableFuture<Done> closed) {
      super(shape);
      this.closed = closed;
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          unsent = grab(in);
          writing = true;
          write();
        }

        @Override
        public void onUpstreamFinish() {
          if (writing) {
            setKeepGoing(true); // the outlet may be closed too; stop once the rest is written
          } else {
            completeStage();
          }
        }
      });
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          read();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          // Reading is over; writing is not: the connection may still answer what it has.
          if (isClosed(in) && !writing) {
            completeStage();
          }
        }
      });
    }

    @Override
    public void preStart() {
      try {
        channel.configureBlocking(false);
      } catch (IOException e) {
        failStage(e);
        return;
      }
      pull(in);
    }

    /** The selector's call: the channel is ready for {@code op}. */
    private void ready(Integer op) {
      if (op == SelectionKey.OP_READ && isAvailable(out)) {
        read();
      } else if (op == SelectionKey.OP_WRITE && writing) {
        write();
      }
    }

    private void read() {
      ByteBuffer buffer = SCRATCH.get().clear();
      int n;
      try {
        n = channel.read(buffer);
      } catch (IOException e) {
        LOG.debug("{}: read failed: {}", peer, e.toString());
        fail(out, e);
        return;
      }
      if (n > 0) {
        byte[] bytes = new byte[n];
        buffer.flip().get(bytes);
        push(out, ByteString.fromArrayUnsafe(bytes));
      } else if (n == 0) {
        selector.await(whenReadable);
      } else {
        shutdownInput();
        complete(out);
      }
    }

    /**
     * Writes {@link #unsent} a chunk at a time until it is all written or the socket takes less
     * than a chunk (its buffer is full: the selector calls back when it has room). Bytes copied
     * and not taken stay in {@code unsent} and are copied again then.
     */
    private void write() {
      ByteBuffer buffer = SCRATCH.get();
      try {
        while (!unsent.isEmpty()) {
          buffer.clear();
          unsent.copyToBuffer(buffer);
          buffer.flip();
          unsent = unsent.drop(channel.write(buffer));
          if (buffer.hasRemaining()) {
            selector.await(whenWritable);
            return;
          }
        }
        written();
      } catch (IOException e) {
        LOG.debug("{}: write failed: {}", peer, e.toString());
        failStage(e);
      }
    }

    private void written() {
      writing = false;
      if (isClosed(in)) {
        completeStage();
      } else {
        pull(in);
      }
    }

    private void shutdownInput() {
      try {
        channel.shutdownInput();
      } catch (IOException e) {
        LOG.debug("{}: shutting down input: {}", peer, e.toString());
      }
    }

    @Override
    public void postStop() {
      selector.close(channel);
      closed.complete(Done.getInstance());
    }
  }
}
