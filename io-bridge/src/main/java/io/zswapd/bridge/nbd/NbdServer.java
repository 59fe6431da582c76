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
import akka.util.ByteString;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.bridge.channel.ChannelSelector;
import io.zswapd.bridge.channel.ChannelStage;
import io.zswapd.bridge.channel.SocketListener;
import io.zswapd.config.ExportSettings;
import io.zswapd.config.NbdSettings;
import io.zswapd.config.SettingsException;
import io.zswapd.protocol.nbd.ExportCatalog;
import io.zswapd.protocol.nbd.ExportInfo;
import io.zswapd.protocol.nbd.Nbd;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NBD server: one export per configured {@code zswapd.exports} entry, served over a Unix
 * socket and, when configured, TCP. Both transports take one route: a {@link SocketListener}
 * accepts, the connection is a non-blocking {@link ChannelStage} (all of a server's watched by
 * one {@link ChannelSelector} thread) fused with an {@link NbdConnectionStage}.
 *
 * <p>Exports advertise HAS_FLAGS, SEND_FLUSH, SEND_FUA, SEND_TRIM, SEND_WRITE_ZEROES and
 * CAN_MULTI_CONN (every connection sees every completed write: they all go through the same
 * tree shards), READ_ONLY where configured, and not ROTATIONAL, so the kernel treats the
 * device as an SSD and sends discards. Block sizes: minimum 1, preferred 4096, maximum
 * {@code nbd.max-payload}.
 *
 * <p>Who may connect: the socket file is the owner's alone (0600); TCP is off unless configured,
 * loopback only unless TLS is configured (checked with the settings), and with TLS every TCP
 * client must start it before it sees an export. What connections may hold is bounded by
 * {@code max-connections} and {@code buffer-memory}, owned by one {@link Connections} actor.
 */
public final class NbdServer {
  private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);
  /** How long shutdown waits for connections to answer their in-flight requests. */
  public static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(20);

  private final ActorSystem<?> system;
  private final ExportCatalog catalog;
  private final NbdMetrics metrics;
  private final SharedKillSwitch killSwitch = KillSwitches.shared("nbd-connections");
  private final ActorRef<Connections.Command> connections;
  private final ConnectionContext context;
  /** Names connections in log lines; touched only by the accept threads, each its own numbers. */
  private final AtomicLong connectionIds = new AtomicLong();
  private final List<SocketListener> listeners = new ArrayList<>();
  private SocketListener unixListener;
  private SocketListener tcpListener;
  private ChannelSelector selector;

  private NbdServer(ActorSystem<?> system, Zswapd zswapd, Optional<TlsCredentials> tls) {
    this.system = system;
    NbdSettings nbd = zswapd.settings().nbd();
    this.catalog = catalog(zswapd, nbd.maxPayloadBytes());
    this.metrics = NbdMetrics.of(system.name(), zswapd.settings().exports().stream().map(ExportSettings::name).toList());
    this.connections = system.systemActorOf(Connections.create(nbd.maxConnections(), nbd.bufferBytes(), metrics),
        "nbd-connections", Props.empty());
    NbdBackend backend = new NbdBackend(zswapd, (Executor) system.executionContext());
    this.context = ConnectionContext.of(nbd, catalog, backend, metrics, connections, tls);
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
   * Heap kept beside {@code buffer-memory} and the connections ({@link #connectionsHeapBytes}) for
   * everything else an idle daemon holds: {@value} bytes (32 MiB).
   */
  public static final long HEAP_BESIDE_BUFFERS = 32L << 20;
  /**
   * Heap one open connection holds besides what it is granted of {@code buffer-memory}: its two
   * stages, the decoder, the list of jobs and the timer (6-8 KiB measured, idle, with a plain
   * socket), rounded up. Connections refused past {@code max-connections} close at once.
   */
  static final long HEAP_PER_CONNECTION = 16 << 10;
  /** As {@link #HEAP_PER_CONNECTION} for a server with TLS: the SSL engine and its record buffers too (48 KiB measured). */
  static final long HEAP_PER_TLS_CONNECTION = 64 << 10;

  /**
   * The heap {@code max-connections} open connections hold besides {@code buffer-memory}: every
   * one counted as TLS when TCP has TLS, since the limit counts both sockets together.
   */
  public static long connectionsHeapBytes(NbdSettings nbd) {
    return nbd.maxConnections() * (nbd.tls().isPresent() ? HEAP_PER_TLS_CONNECTION : HEAP_PER_CONNECTION);
  }

  /**
   * Checks what the settings alone cannot: that {@code buffer-memory} and {@code max-connections}
   * connections fit the JVM's heap with {@link #HEAP_BESIDE_BUFFERS} to spare, and that the TLS
   * files make credentials. Throws {@link SettingsException} with one line.
   */
  static Optional<TlsCredentials> check(NbdSettings nbd, long maxHeapBytes) {
    long connections = connectionsHeapBytes(nbd);
    if (nbd.bufferBytes() + connections > maxHeapBytes - HEAP_BESIDE_BUFFERS) {
      long xmxMib = (nbd.bufferBytes() + connections + HEAP_BESIDE_BUFFERS) / (1 << 20) + 1;
      String remedy = "start java with -Xmx" + xmxMib + "m or more, or start the daemon with bin/zswapd, which sizes"
          + " the heap";
      if (nbd.bufferBytes() > maxHeapBytes - HEAP_BESIDE_BUFFERS) {
        throw new SettingsException("zswapd.nbd.buffer-memory", "zswapd.nbd.buffer-memory = " + nbd.bufferBytes()
            + " bytes: the JVM's heap (" + maxHeapBytes + " bytes, -Xmx) cannot hold it with 32 MiB to spare; lower it, "
            + remedy);
      }
      throw new SettingsException("zswapd.nbd.max-connections", "zswapd.nbd.max-connections = " + nbd.maxConnections()
          + ": at " + connections / nbd.maxConnections() + " bytes of heap each" + (nbd.tls().isPresent() ? " (TLS)" : "")
          + ", with nbd.buffer-memory = " + nbd.bufferBytes() + " bytes, the JVM's heap (" + maxHeapBytes
          + " bytes, -Xmx) cannot hold them with 32 MiB to spare; lower them, " + remedy);
    }
    return nbd.tls().map(TlsCredentials::load);
  }

  /**
   * The heap's limit as -Xmx set it (HotSpot's MaxHeapSize): {@code Runtime.maxMemory()} leaves
   * out a survivor space, which would refuse a heap sized to the byte by bin/zswapd.
   */
  static long maxHeapBytes() {
    try {
      com.sun.management.HotSpotDiagnosticMXBean hotspot = java.lang.management.ManagementFactory
          .getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
      return Long.parseLong(hotspot.getVMOption("MaxHeapSize").getValue());
    } catch (RuntimeException e) {
      return Runtime.getRuntime().maxMemory(); // not HotSpot
    }
  }

  /**
   * Starts the listeners the settings name (either may be "off"). Fails with the reason, for
   * example a TCP port already in use, a Unix socket another process serves, a buffer-memory the
   * heap cannot hold, or TLS files that do not make credentials.
   */
  public static CompletionStage<NbdServer> start(ActorSystem<?> system, Zswapd zswapd) {
    NbdSettings nbd = zswapd.settings().nbd();
    Optional<TlsCredentials> tls;
    try {
      tls = check(nbd, maxHeapBytes());
    } catch (SettingsException e) {
      return CompletableFuture.failedFuture(e);
    }
    NbdServer server = new NbdServer(system, zswapd, tls);
    try {
      server.selector = ChannelSelector.start("zswapd-nbd-selector");
      system.getWhenTerminated().thenRun(server.selector::close);
      if (nbd.unixSocket().isPresent()) {
        Path path = nbd.unixSocket().get();
        try {
          server.unixListener = SocketListener.unix(path, "zswapd-nbd-unix-accept", c -> server.serve(c, false));
        } catch (IOException e) {
          throw new IOException("cannot listen on unix socket " + path + ": " + e.getMessage(), e);
        }
        server.listeners.add(server.unixListener);
      }
      if (nbd.tcp().isPresent()) {
        InetSocketAddress at = nbd.tcp().get();
        boolean tlsRequired = tls.isPresent();
        try {
          server.tcpListener = SocketListener.tcp(at, "zswapd-nbd-tcp-accept", c -> server.serve(c, tlsRequired));
        } catch (IOException e) {
          throw new IOException("cannot listen on TCP " + at.getHostString() + ":" + at.getPort() + ": "
              + e.getMessage(), e);
        }
        server.listeners.add(server.tcpListener);
      }
    } catch (IOException e) {
      server.closeListeners();
      server.selector.close();
      return CompletableFuture.failedFuture(e);
    }
    tls.ifPresent(t -> LOG.info("nbd: {}", t.summary()));
    return CompletableFuture.completedFuture(server);
  }

  public Optional<InetSocketAddress> tcpAddress() {
    return Optional.ofNullable(tcpListener).flatMap(SocketListener::address);
  }

  public Optional<Path> unixSocket() {
    return Optional.ofNullable(unixListener).flatMap(SocketListener::path);
  }

  public ExportCatalog catalog() {
    return catalog;
  }

  /** Whether TCP connections must start TLS. */
  public boolean tlsRequired() {
    return context.tls().isPresent();
  }

  /** Open connections right now (accepted and not yet closed, refused ones included until they close). */
  public CompletionStage<Integer> openConnections() {
    return AskPattern.ask(connections, Connections.GetOpen::new, Duration.ofSeconds(5), system.scheduler());
  }

  /** Connections served and the buffer memory not granted to any, for tests and stats. */
  public CompletionStage<ConnectionBudget> budget() {
    return AskPattern.ask(connections, Connections.GetBudget::new, Duration.ofSeconds(5), system.scheduler());
  }

  private void serve(SocketChannel channel, boolean tlsRequired) {
    String peer = describe(channel);
    // No async boundary: the channel stage never blocks, so it fuses with the connection stage
    // and a request reaches the engine on the thread that read it.
    Flow<ByteString, ByteString, CompletionStage<Done>> connection = Flow.of(ByteString.class)
        .via(killSwitch.flow())
        .via(new NbdConnectionStage(context, peer, tlsRequired))
        .watchTermination(Keep.right());
    Pair<CompletionStage<Done>, CompletionStage<Done>> closed =
        ChannelStage.flow(channel, selector, peer).joinMat(connection, Keep.both()).run(system);
    // Open until the channel is closed too: its stage may still be writing the last replies,
    // and stop() ends the selector once no connection is open.
    connections.tell(new Connections.Opened());
    CompletableFuture.allOf(closed.first().toCompletableFuture(), closed.second().toCompletableFuture())
        .whenComplete((d, e) -> connections.tell(new Connections.Closed()));
  }

  private String describe(SocketChannel channel) {
    long id = connectionIds.incrementAndGet();
    try {
      Object remote = channel.getRemoteAddress();
      return remote instanceof InetSocketAddress a ? "tcp:" + a.getHostString() + ":" + a.getPort() + "#" + id
          : "unix#" + id;
    } catch (IOException e) {
      return "connection#" + id;
    }
  }

  private void closeListeners() {
    for (SocketListener l : listeners) {
      try {
        l.close();
      } catch (IOException e) {
        LOG.warn("closing {}: {}", l.describe(), e.toString());
      }
    }
  }

  /**
   * Stops accepting, lets every connection answer what it has in flight, closes them and
   * removes the socket file. Completes when all connections are closed (or after
   * {@link #DRAIN_TIMEOUT}).
   */
  public CompletionStage<Done> stop() {
    closeListeners();
    killSwitch.shutdown();
    return AskPattern.ask(connections, Connections.AwaitIdle::new, DRAIN_TIMEOUT, system.scheduler())
        .handle((open, failure) -> {
          if (failure != null) {
            LOG.warn("NBD connections still open after {}; closing them", DRAIN_TIMEOUT);
            killSwitch.abort(new IllegalStateException("zswapd is shutting down"));
          }
          // Connections that are still stuck (a client that stopped reading) have their channels
          // closed by the selector as it stops, which stops their stages.
          selector.close();
          metrics.close();
          return Done.getInstance();
        });
  }
}
