package io.zswapd.bridge.nbd;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.stream.ActorAttributes;
import akka.stream.KillSwitches;
import akka.stream.SharedKillSwitch;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.StreamConverters;
import akka.stream.javadsl.Tcp;
import akka.util.ByteString;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.config.ExportSettings;
import io.zswapd.config.NbdSettings;
import io.zswapd.protocol.nbd.ExportCatalog;
import io.zswapd.protocol.nbd.ExportInfo;
import io.zswapd.protocol.nbd.Nbd;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NBD server: one export per configured {@code zswapd.exports} entry, served over TCP
 * (Akka Streams {@link Tcp}) and over a Unix socket (NIO channels bridged into Akka Streams),
 * each connection an {@link NbdConnectionStage}.
 *
 * <p>Exports advertise HAS_FLAGS, SEND_FLUSH, SEND_FUA, SEND_TRIM, SEND_WRITE_ZEROES and
 * CAN_MULTI_CONN (every connection sees every completed write: they all go through the same
 * tree shards), READ_ONLY where configured, and not ROTATIONAL, so the kernel treats the
 * device as an SSD and sends discards. Block sizes: minimum 1, preferred 4096, maximum
 * {@code nbd.max-payload}.
 */
public final class NbdServer {
  private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);
  /** How long shutdown waits for connections to answer their in-flight requests. */
  public static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(20);
  /** Threads for the blocking reads of Unix-socket connections (see io-bridge reference.conf). */
  static final String UNIX_IO_DISPATCHER = "zswapd-bridge.unix-io-dispatcher";

  private final ActorSystem<?> system;
  private final ExportCatalog catalog;
  private final NbdBackend backend;
  private final int maxPayload;
  private final SharedKillSwitch connections = KillSwitches.shared("nbd-connections");
  private final ActorRef<ConnectionTracker.Command> tracker;
  private Tcp.ServerBinding tcpBinding;
  private UnixSocketListener unixListener;

  private NbdServer(ActorSystem<?> system, Zswapd zswapd) {
    this.system = system;
    NbdSettings nbd = zswapd.settings().nbd();
    this.maxPayload = nbd.maxPayloadBytes();
    this.catalog = catalog(zswapd, maxPayload);
    this.backend = new NbdBackend(zswapd, (Executor) system.executionContext());
    this.tracker = system.systemActorOf(ConnectionTracker.create(), "nbd-connections", Props.empty());
  }

  /** The exports as NBD sees them. */
  static ExportCatalog catalog(Zswapd zswapd, int maxPayload) {
    String codec = zswapd.settings().pool().compressor().configName();
    ExportInfo[] infos = zswapd.settings().exports().stream().map(e -> {
      int flags = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_TRIM
          | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_CAN_MULTI_CONN | (e.readOnly() ? Nbd.FLAG_READ_ONLY : 0);
      return ExportInfo.of(e.name(), e.sizeBytes(), flags)
          .withBlockSizes(1, 4096, maxPayload)
          .withDescription("zswapd compressed swap (" + codec + ")" + (e.readOnly() ? ", read-only" : ""));
    }).toArray(ExportInfo[]::new);
    return ExportCatalog.of(infos);
  }

  /**
   * Starts the listeners the settings name (either may be "off"). Fails with the reason,
   * for example a TCP port already in use or a Unix socket another process serves.
   */
  public static CompletionStage<NbdServer> start(ActorSystem<?> system, Zswapd zswapd) {
    NbdServer server = new NbdServer(system, zswapd);
    NbdSettings nbd = zswapd.settings().nbd();
    try {
      if (nbd.unixSocket().isPresent()) {
        server.unixListener = UnixSocketListener.open(nbd.unixSocket().get(), server::serveUnix);
      }
    } catch (IOException e) {
      return CompletableFuture.failedFuture(new IOException(
          "cannot listen on unix socket " + nbd.unixSocket().get() + ": " + e.getMessage(), e));
    }
    if (nbd.tcp().isEmpty()) {
      return CompletableFuture.completedFuture(server);
    }
    InetSocketAddress at = nbd.tcp().get();
    return Tcp.get(system).bind(at.getHostString(), at.getPort())
        .to(Sink.foreach(c -> c.handleWith(server.connectionFlow(c.remoteAddress().toString()), system)))
        .run(system)
        .handle((binding, failure) -> {
          if (failure != null) {
            server.closeUnix();
            throw new IllegalStateException("cannot listen on TCP " + at.getHostString() + ":" + at.getPort()
                + ": " + (failure.getCause() != null ? failure.getCause().getMessage() : failure.getMessage()), failure);
          }
          server.tcpBinding = binding;
          return server;
        });
  }

  public Optional<InetSocketAddress> tcpAddress() {
    return Optional.ofNullable(tcpBinding).map(Tcp.ServerBinding::localAddress);
  }

  public Optional<Path> unixSocket() {
    return Optional.ofNullable(unixListener).map(UnixSocketListener::path);
  }

  public ExportCatalog catalog() {
    return catalog;
  }

  /** Open connections right now. */
  public CompletionStage<Integer> openConnections() {
    return AskPattern.ask(tracker, ConnectionTracker.GetOpen::new, Duration.ofSeconds(5), system.scheduler());
  }

  private Flow<ByteString, ByteString, ?> connectionFlow(String peer) {
    return Flow.of(ByteString.class)
        .via(connections.flow())
        .via(new NbdConnectionStage(catalog, backend, maxPayload, peer))
        .watchTermination((mat, done) -> {
          tracker.tell(new ConnectionTracker.Opened());
          done.whenComplete((d, e) -> tracker.tell(new ConnectionTracker.Closed()));
          return mat;
        });
  }

  private void serveUnix(SocketChannel ch) {
    // The blocking read and the blocking write each run in their own island (async boundary)
    // on the Unix I/O dispatcher, and the connection stage in a third on the default one.
    // Fused together, the replies would wait whenever the read blocks, and a client that stops
    // reading would block an engine thread.
    Source<ByteString, ?> from = StreamConverters.fromInputStream(() -> UnixSocketListener.input(ch), 64 << 10)
        .withAttributes(ActorAttributes.dispatcher(UNIX_IO_DISPATCHER)).async();
    Sink<ByteString, ?> to = StreamConverters.fromOutputStream(() -> UnixSocketListener.output(ch), true)
        .withAttributes(ActorAttributes.dispatcher(UNIX_IO_DISPATCHER)).async();
    from.via(connectionFlow("unix:" + ch.hashCode()).async()).runWith(to, system);
  }

  private void closeUnix() {
    if (unixListener != null) {
      try {
        unixListener.close();
      } catch (IOException e) {
        LOG.warn("closing {}: {}", unixListener.path(), e.toString());
      }
    }
  }

  /**
   * Stops accepting, lets every connection answer what it has in flight, closes them and
   * removes the socket file. Completes when all connections are closed (or after
   * {@link #DRAIN_TIMEOUT}).
   */
  public CompletionStage<Done> stop() {
    CompletionStage<Done> unbound = tcpBinding == null ? CompletableFuture.completedFuture(Done.getInstance())
        : tcpBinding.unbind().thenApply(v -> Done.getInstance());
    closeUnix();
    return unbound.thenCompose(v -> {
      connections.shutdown();
      return AskPattern.ask(tracker, ConnectionTracker.AwaitIdle::new, DRAIN_TIMEOUT, system.scheduler());
    }).handle((open, failure) -> {
      if (failure != null) {
        LOG.warn("NBD connections still open after {}; closing them", DRAIN_TIMEOUT);
        connections.abort(new IllegalStateException("zswapd is shutting down"));
      }
      return Done.getInstance();
    });
  }
}
