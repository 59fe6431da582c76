package io.zswapd.bridge.nbd;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.japi.Pair;
import akka.stream.KillSwitches;
import akka.stream.SharedKillSwitch;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
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
 * (Akka Streams {@link Tcp}) and over a Unix socket (non-blocking NIO channels, each a
 * {@link UnixChannelStage}, all watched by one {@link UnixSelector} thread), each connection an
 * {@link NbdConnectionStage}.
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

  private final ActorSystem<?> system;
  private final ExportCatalog catalog;
  private final NbdBackend backend;
  private final int maxPayload;
  private final NbdMetrics metrics;
  private final SharedKillSwitch connections = KillSwitches.shared("nbd-connections");
  private final ActorRef<ConnectionTracker.Command> tracker;
  private Tcp.ServerBinding tcpBinding;
  private UnixSocketListener unixListener;
  private UnixSelector unixSelector;

  private NbdServer(ActorSystem<?> system, Zswapd zswapd) {
    this.system = system;
    NbdSettings nbd = zswapd.settings().nbd();
    this.maxPayload = nbd.maxPayloadBytes();
    this.catalog = catalog(zswapd, maxPayload);
    this.backend = new NbdBackend(zswapd, (Executor) system.executionContext());
    this.metrics = NbdMetrics.of(system.name(), zswapd.settings().exports().stream().map(ExportSettings::name).toList());
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
        server.unixSelector = UnixSelector.start("zswapd-unix-selector");
        system.getWhenTerminated().thenRun(server.unixSelector::close);
        server.unixListener = UnixSocketListener.open(nbd.unixSocket().get(), server::serveUnix);
      }
    } catch (IOException e) {
      server.stopUnixSelector();
      return CompletableFuture.failedFuture(new IOException(
          "cannot listen on unix socket " + nbd.unixSocket().get() + ": " + e.getMessage(), e));
    }
    if (nbd.tcp().isEmpty()) {
      return CompletableFuture.completedFuture(server);
    }
    InetSocketAddress at = nbd.tcp().get();
    return Tcp.get(system).bind(at.getHostString(), at.getPort())
        .to(Sink.foreach(c -> server.track(
            c.handleWith(server.connectionFlow(c.remoteAddress().toString()), system))))
        .run(system)
        .handle((binding, failure) -> {
          if (failure != null) {
            server.closeUnix();
            server.stopUnixSelector();
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

  /** One connection's NBD stage; materializes its termination. */
  private Flow<ByteString, ByteString, CompletionStage<Done>> connectionFlow(String peer) {
    return Flow.of(ByteString.class)
        .via(connections.flow())
        .via(new NbdConnectionStage(catalog, backend, maxPayload, peer, metrics))
        .watchTermination(Keep.right());
  }

  /** Counts a connection as open until {@code closed} completes, however it completes. */
  private void track(CompletionStage<?> closed) {
    tracker.tell(new ConnectionTracker.Opened());
    closed.whenComplete((d, e) -> tracker.tell(new ConnectionTracker.Closed()));
  }

  private void serveUnix(SocketChannel ch) {
    // No async boundary: the channel stage never blocks, so it fuses with the connection stage
    // and a request reaches the engine on the thread that read it.
    String peer = "unix:" + ch.hashCode();
    Pair<CompletionStage<Done>, CompletionStage<Done>> closed =
        UnixChannelStage.flow(ch, unixSelector, peer).joinMat(connectionFlow(peer), Keep.both()).run(system);
    // Open until the channel is closed too: its stage may still be writing the last replies,
    // and stop() ends the selector once no connection is open.
    track(CompletableFuture.allOf(closed.first().toCompletableFuture(), closed.second().toCompletableFuture()));
  }

  /** After the connections have closed: until then their stages need the selector. */
  private void stopUnixSelector() {
    if (unixSelector != null) {
      unixSelector.close();
    }
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
      // Connections that are still stuck (a client that stopped reading) have their channels
      // closed by the selector as it stops, which stops their stages.
      stopUnixSelector();
      metrics.close();
      return Done.getInstance();
    });
  }
}
