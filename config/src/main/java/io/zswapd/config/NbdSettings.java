package io.zswapd.config;

import java.net.InetSocketAddress;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code zswapd.nbd}: where the daemon listens for {@code nbd-client}, who may connect, and how
 * much a client may make it hold. An empty address or socket means that listener is off.
 *
 * <pre>{@code
 * NbdSettings nbd = ZswapdSettings.load().nbd();
 * nbd.unixSocket().ifPresent(path -> listen(path, nbd.maxConnections()));
 * nbd.tcp().ifPresent(address -> listenTcp(address, nbd.tls()));   // loopback, or TLS
 * }</pre>
 *
 * @param tcp              TCP listen address, resolved and ready to bind; empty when "off" (the
 *                         default). A non-loopback address is accepted only with {@code tls}.
 * @param unixSocket       Unix domain socket path (relative paths are relative to the working
 *                         directory); empty when "off"
 * @param maxPayloadBytes  largest READ/WRITE payload accepted in one request, 4 KiB..256 MiB
 * @param maxConnections   connections served at once, 1..65536; one more is closed at once
 * @param bufferBytes      heap all connections together may hold for requests and replies
 *                         (payloads received or to send, replies a client has not read, engine
 *                         work queued by TRIM and WRITE_ZEROES), at least twice {@code maxPayloadBytes}
 * @param handshakeTimeout how long a client may take from connecting to choosing an export
 * @param idleTimeout      a connection with nothing in flight and no request for this long is
 *                         closed; empty when "off" (the default: a swap device is idle for hours)
 * @param sendTimeout      a connection whose client reads none of its replies for this long is
 *                         closed, its budget returned
 * @param replyHold        how long a finished request's reply may wait for the other requests
 *                         read with it, so that their replies leave in one write; zero sends
 *                         each reply at once
 * @param tls              TLS for TCP connections (NBD's STARTTLS); empty when not configured
 */
public record NbdSettings(Optional<InetSocketAddress> tcp, Optional<Path> unixSocket, int maxPayloadBytes,
    int maxConnections, long bufferBytes, Duration handshakeTimeout, Optional<Duration> idleTimeout,
    Duration sendTimeout, Duration replyHold, Optional<TlsSettings> tls) {

  private static final Duration MIN_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration MAX_TIMEOUT = Duration.ofDays(1);
  private static final Duration MAX_REPLY_HOLD = Duration.ofSeconds(1);

  public NbdSettings {
    Objects.requireNonNull(tcp, "tcp");
    Objects.requireNonNull(unixSocket, "unixSocket");
    Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
    Objects.requireNonNull(idleTimeout, "idleTimeout");
    Objects.requireNonNull(sendTimeout, "sendTimeout");
    Objects.requireNonNull(replyHold, "replyHold");
    Objects.requireNonNull(tls, "tls");
  }

  /**
   * Most bytes one connection may hold of {@link #bufferBytes}: a quarter of it (at least
   * {@link #maxPayloadBytes}), at most 64 MiB, so that one client, or one that stopped reading
   * its replies, cannot take everything from the others.
   */
  public long connectionBufferBytes() {
    return Math.min(64L << 20, Math.max(bufferBytes / 4, maxPayloadBytes));
  }

  static NbdSettings read(Section nbd) {
    String payloadRule = "must be a byte size from 4 KiB to 256 MiB";
    long payload = nbd.bytes("max-payload", payloadRule);
    if (payload < 4 * 1024 || payload > 256 * 1024 * 1024) {
      throw nbd.invalid("max-payload", payloadRule);
    }
    String connectionsRule = "must be an integer from 1 to 65536";
    int connections = nbd.integer("max-connections", connectionsRule);
    if (connections < 1 || connections > 65536) {
      throw nbd.invalid("max-connections", connectionsRule);
    }
    String bufferRule = "must be a byte size from twice nbd.max-payload (" + 2 * payload + " bytes) to 64 GiB";
    long buffer = nbd.bytes("buffer-memory", bufferRule);
    if (buffer < 2 * payload || buffer > 64L << 30) {
      throw nbd.invalid("buffer-memory", bufferRule);
    }
    Optional<TlsSettings> tls = TlsSettings.read(nbd.section("tls"));
    Optional<InetSocketAddress> tcp = nbd.listenAddress("tcp");
    if (tcp.isPresent() && tls.isEmpty() && !tcp.get().getAddress().isLoopbackAddress()) {
      throw nbd.invalid("tcp", "a non-loopback address needs zswapd.nbd.tls (certificate and private-key):"
          + " NBD has no authentication of its own, so without TLS any host that reaches the port could read"
          + " and write swapped memory; use a loopback address such as \"127.0.0.1:10809\", or configure TLS");
    }
    return new NbdSettings(tcp, unixSocket(nbd), (int) payload, connections, buffer,
        timeout(nbd, "handshake-timeout"), nbd.isOff("idle-timeout") ? Optional.empty()
            : Optional.of(timeout(nbd, "idle-timeout")), timeout(nbd, "send-timeout"), replyHold(nbd), tls);
  }

  private static Duration replyHold(Section nbd) {
    String rule = "must be a duration from 0 (each reply at once) to 1s";
    Duration d = nbd.duration("reply-hold", rule);
    if (d.isNegative() || d.compareTo(MAX_REPLY_HOLD) > 0) {
      throw nbd.invalid("reply-hold", rule);
    }
    return d;
  }

  private static Duration timeout(Section nbd, String name) {
    String rule = (name.equals("idle-timeout") ? "must be \"off\" or a duration" : "must be a duration")
        + " from 1s to 1d";
    Duration d = nbd.duration(name, rule);
    if (d.compareTo(MIN_TIMEOUT) < 0 || d.compareTo(MAX_TIMEOUT) > 0) {
      throw nbd.invalid(name, rule);
    }
    return d;
  }

  static Optional<Path> unixSocket(Section nbd) {
    if (nbd.isOff("unix-socket")) {
      return Optional.empty();
    }
    String rule = "must be \"off\" or a socket file path";
    String text = nbd.string("unix-socket", rule);
    if (text.isBlank()) {
      throw nbd.invalid("unix-socket", rule);
    }
    try {
      return Optional.of(Path.of(text));
    } catch (InvalidPathException e) {
      throw nbd.invalid("unix-socket", rule, e);
    }
  }
}
