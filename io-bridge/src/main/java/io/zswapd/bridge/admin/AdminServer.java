package io.zswapd.bridge.admin;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Framing;
import akka.stream.javadsl.FramingTruncation;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.Tcp;
import akka.util.ByteString;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.bridge.nbd.UnixChannelStage;
import io.zswapd.bridge.nbd.UnixSelector;
import io.zswapd.bridge.nbd.UnixSocketListener;
import io.zswapd.config.AdminSettings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's admin endpoint: a Unix socket (mode 0600, made and replaced like the NBD socket by
 * {@link UnixSocketListener}) and, if configured, a loopback TCP port, both speaking one line
 * protocol:
 *
 * <pre>
 * client: stats --classes\n
 * daemon: ...lines of the answer...\n
 *         ok\n                       (or: error: &lt;one line&gt;\n)
 *         and closes the connection
 * </pre>
 *
 * <p>Each connection is one stream: the channel ({@link UnixChannelStage}, non-blocking, woken by
 * a {@link UnixSelector} of its own) or Akka's TCP connection, framed into one line of at most
 * {@link #MAX_LINE} bytes, answered by {@link AdminService}, then completed, which closes it. A
 * client that sends nothing is dropped after {@link #IDLE_TIMEOUT}. The endpoint does no work of
 * its own: every request becomes one or two asks to the engine.
 */
public final class AdminServer {
  private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
  /** Longest request line; {@code set} with a key and a value fits in far less. */
  static final int MAX_LINE = 1024;
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);

  private final ActorSystem<?> system;
  private final AdminService service;
  private UnixSelector selector;
  private UnixSocketListener listener;
  private Tcp.ServerBinding tcpBinding;

  private AdminServer(ActorSystem<?> system, Zswapd zswapd) {
    this.system = system;
    this.service = new AdminService(zswapd);
  }

  /** Starts the listeners {@code zswapd.admin} names; fails with the reason (for example, a live socket of another daemon). */
  public static CompletionStage<AdminServer> start(ActorSystem<?> system, Zswapd zswapd) {
    AdminSettings admin = zswapd.settings().admin();
    AdminServer server = new AdminServer(system, zswapd);
    if (admin.unixSocket().isPresent()) {
      Path path = admin.unixSocket().get();
      try {
        server.selector = UnixSelector.start("zswapd-admin-selector");
        server.listener = UnixSocketListener.open(path, server::serveUnix);
      } catch (IOException e) {
        server.stop();
        return CompletableFuture.failedFuture(new IOException(
            "cannot listen on admin socket " + path.toAbsolutePath() + ": " + e.getMessage(), e));
      }
    }
    if (admin.tcp().isEmpty()) {
      return CompletableFuture.completedFuture(server);
    }
    InetSocketAddress at = admin.tcp().get();
    // halfClose: the connection stage stops reading after the request line; without it Akka
    // would close the whole connection then, before the answer is written.
    return Tcp.get(system).bind(at.getHostString(), at.getPort(), 100, List.of(), true, Optional.empty())
        .to(Sink.foreach(c -> c.handleWith(server.connection(), system)))
        .run(system)
        .handle((binding, failure) -> {
          if (failure != null) {
            server.stop();
            throw new IllegalStateException("cannot listen on admin TCP " + at.getHostString() + ":" + at.getPort()
                + ": " + (failure.getCause() != null ? failure.getCause().getMessage() : failure.getMessage()), failure);
          }
          server.tcpBinding = binding;
          return server;
        });
  }

  public Optional<Path> unixSocket() {
    return Optional.ofNullable(listener).map(UnixSocketListener::path);
  }

  public Optional<InetSocketAddress> tcpAddress() {
    return Optional.ofNullable(tcpBinding).map(Tcp.ServerBinding::localAddress);
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

  private void serveUnix(SocketChannel channel) {
    Pair<CompletionStage<Done>, NotUsed> done = UnixChannelStage.flow(channel, selector, "admin")
        .joinMat(connection(), Keep.both()).run(system);
    done.first().whenComplete((d, e) -> {
      if (e != null) {
        LOG.debug("admin connection ended: {}", e.toString());
      }
    });
  }

  /** Stops accepting and removes the socket file; a request being answered is dropped. */
  public CompletionStage<Done> stop() {
    if (listener != null) {
      try {
        listener.close();
      } catch (IOException e) {
        LOG.warn("closing {}: {}", listener.path(), e.toString());
      }
    }
    CompletionStage<Done> unbound = tcpBinding == null ? CompletableFuture.completedFuture(Done.getInstance())
        : tcpBinding.unbind().thenApply(v -> Done.getInstance());
    return unbound.whenComplete((d, e) -> {
      if (selector != null) {
        selector.close();
      }
    });
  }
}
