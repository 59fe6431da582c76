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
 * one direct buffer each ({@link #CHUNK} bytes), so a push of many replies, however fragmented,
 * costs one copy and one {@code write} per chunk, and the JDK needs no temporary buffers.
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
    private ByteBuffer readBuffer;
    /** Bytes copied from {@link #unsent} and not yet written, between position and limit. */
    private ByteBuffer writeBuffer;
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
      readBuffer = ByteBuffer.allocateDirect(CHUNK);
      writeBuffer = ByteBuffer.allocateDirect(CHUNK).flip();
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
      int n;
      try {
        n = channel.read(readBuffer);
      } catch (IOException e) {
        LOG.debug("{}: read failed: {}", peer, e.toString());
        fail(out, e);
        return;
      }
      if (n > 0) {
        byte[] bytes = new byte[n];
        readBuffer.flip().get(bytes).clear();
        push(out, ByteString.fromArrayUnsafe(bytes));
      } else if (n == 0) {
        selector.await(whenReadable);
      } else {
        shutdownInput();
        complete(out);
      }
    }

    private void write() {
      try {
        while (true) {
          if (!writeBuffer.hasRemaining()) {
            if (unsent.isEmpty()) {
              written();
              return;
            }
            writeBuffer.clear();
            unsent = unsent.drop(unsent.copyToBuffer(writeBuffer));
            writeBuffer.flip();
          }
          if (channel.write(writeBuffer) == 0) {
            selector.await(whenWritable);
            return;
          }
        }
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
