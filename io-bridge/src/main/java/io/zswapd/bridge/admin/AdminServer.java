package io.zswapd.bridge.admin;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Framing;
import akka.stream.javadsl.FramingTruncation;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.bridge.channel.ChannelSelector;
import io.zswapd.bridge.channel.ChannelStage;
import io.zswapd.bridge.channel.SocketListener;
import io.zswapd.config.AdminSettings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's admin endpoint: a Unix socket (mode 0600, made and replaced like the NBD socket by
 * {@link SocketListener}) and, if configured, a loopback TCP port, both speaking one line
 * protocol:
 *
 * <pre>
 * client: stats --classes\n
 * daemon: ...lines of the answer...\n
 *         ok\n                       (or: error: &lt;one line&gt;\n)
 *         and closes the connection
 * </pre>
 *
 * <p>Each connection, over either transport, is one stream: the channel ({@link ChannelStage},
 * non-blocking, woken by a {@link ChannelSelector} of its own), framed into one line of at most
 * {@link #MAX_LINE} bytes, answered by {@link AdminService}, then completed, which closes it. A
 * client that sends nothing is dropped after {@link #IDLE_TIMEOUT}. The endpoint does no work of
 * its own: every request becomes one or two asks to the engine.
 *
 * <p>At most {@link #MAX_CONNECTIONS} connections are open at once; one more is answered
 * {@code error: busy ...} from the accepting thread and closed, before any stream is made for it.
 * An open connection holds about 8 KiB of heap until it is answered or idle for
 * {@link #IDLE_TIMEOUT}, and the heap is sized for the pages and the NBD connections, not for
 * whatever number of admin connections a local program opens.
 */
public final class AdminServer {
  private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
  /** Longest request line; {@code set} with a key and a value fits in far less. */
  static final int MAX_LINE = 1024;
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);
  /** Admin connections open at once, over both transports: far more than any operator's scripts need. */
  static final int MAX_CONNECTIONS = 16;

  private final ActorSystem<?> system;
  private final AdminService service;
  private ChannelSelector selector;
  private SocketListener listener;
  private SocketListener tcpListener;
  /**
   * Connections open now: counted up by the two accepting threads, down as each stream ends. A
   * counter rather than an actor: admission must be decided on the accepting thread, before a
   * stream (and its heap) exists.
   */
  private final AtomicInteger open = new AtomicInteger();

  private AdminServer(ActorSystem<?> system, Zswapd zswapd) {
    this.system = system;
    this.service = new AdminService(zswapd);
  }

  /** Starts the listeners {@code zswapd.admin} names; fails with the reason (for example, a live socket of another daemon). */
  public static CompletionStage<AdminServer> start(ActorSystem<?> system, Zswapd zswapd) {
    AdminSettings admin = zswapd.settings().admin();
    AdminServer server = new AdminServer(system, zswapd);
    try {
      server.selector = ChannelSelector.start("zswapd-admin-selector");
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (admin.unixSocket().isPresent()) {
      Path path = admin.unixSocket().get();
      try {
        server.listener = SocketListener.unix(path, "zswapd-admin-unix-accept", server::serve);
      } catch (IOException e) {
        server.stop();
        return CompletableFuture.failedFuture(new IOException(
            "cannot listen on admin socket " + path.toAbsolutePath() + ": " + e.getMessage(), e));
      }
    }
    if (admin.tcp().isPresent()) {
      InetSocketAddress at = admin.tcp().get();
      try {
        server.tcpListener = SocketListener.tcp(at, "zswapd-admin-tcp-accept", server::serve);
      } catch (IOException e) {
        server.stop();
        return CompletableFuture.failedFuture(new IOException("cannot listen on admin TCP " + at.getHostString() + ":"
            + at.getPort() + ": " + e.getMessage(), e));
      }
    }
    return CompletableFuture.completedFuture(server);
  }

  public Optional<Path> unixSocket() {
    return Optional.ofNullable(listener).flatMap(SocketListener::path);
  }

  public Optional<InetSocketAddress> tcpAddress() {
    return Optional.ofNullable(tcpListener).flatMap(SocketListener::address);
  }

  /** One connection: read a line, answer it, complete (which closes the connection). */
  Flow<ByteString, ByteString, NotUsed> connection() {
    return Flow.of(ByteString.class)
        .idleTimeout(IDLE_TIMEOUT)
        .via(Framing.delimiter(ByteString.fromString("\n"), MAX_LINE, FramingTruncation.ALLOW))
        .take(1)
        .mapAsync(1, line -> service.answer(line.utf8String()))
        .recoverWithRetries(1, Throwable.class, () -> Source.single(
            AdminService.ERROR + "request not read: no line of at most " + MAX_LINE + " bytes within "
                + IDLE_TIMEOUT.toSeconds() + "s\n"))
        .map(ByteString::fromString);
  }

  private void serve(SocketChannel channel) {
    if (open.incrementAndGet() > MAX_CONNECTIONS) {
      open.decrementAndGet();
      refuse(channel);
      return;
    }
    Pair<CompletionStage<Done>, NotUsed> done = ChannelStage.flow(channel, selector, "admin")
        .joinMat(connection(), Keep.both()).run(system);
    done.first().whenComplete((d, e) -> {
      open.decrementAndGet();
      if (e != null) {
        LOG.debug("admin connection ended: {}", e.toString());
      }
    });
  }

  /** Answers a connection past {@link #MAX_CONNECTIONS} with one error line and closes it. */
  private static void refuse(SocketChannel channel) {
    // still blocking, and a fresh socket's buffer takes the line at once
    String line = AdminService.ERROR + "busy: " + MAX_CONNECTIONS + " admin connections are open; try again when"
        + " they are answered\n";
    try {
      channel.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII)));
    } catch (IOException e) {
      LOG.debug("refusing an admin connection: {}", e.toString());
    }
    try {
      channel.close();
    } catch (IOException e) {
      LOG.debug("closing a refused admin connection: {}", e.toString());
    }
  }

  /** Stops accepting and removes the socket file; a request being answered is dropped. */
  public CompletionStage<Done> stop() {
    for (SocketListener l : new SocketListener[] {listener, tcpListener}) {
      if (l != null) {
        try {
          l.close();
        } catch (IOException e) {
          LOG.warn("closing {}: {}", l.describe(), e.toString());
        }
      }
    }
    if (selector != null) {
      selector.close();
    }
    return CompletableFuture.completedFuture(Done.getInstance());
  }
}
