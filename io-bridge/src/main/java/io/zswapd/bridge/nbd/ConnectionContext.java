package io.zswapd.bridge.nbd;

import akka.actor.typed.ActorRef;
import io.zswapd.config.NbdSettings;
import io.zswapd.protocol.nbd.ExportCatalog;
import java.time.Duration;
import java.util.Optional;

/**
 * What every connection of one {@link NbdServer} shares: the exports, the engine, the
 * {@link Connections} owner of the common limits, the settings that bound a connection, and the
 * TLS credentials when TCP requires TLS. Immutable.
 *
 * @param connectionBufferBytes most bytes of buffer-memory one connection may hold (a single
 *                              request larger than this runs when the connection holds nothing else)
 * @param creditChunk           least credit a connection asks {@link Connections} for, and most it
 *                              keeps spare between requests (two chunks), sized so that idle
 *                              connections never keep more than half of buffer-memory: at most
 *                              buffer-memory / (4 x max-connections) and an eighth of a share,
 *                              within 4 KiB..1 MiB
 * @param replyHold             how long a finished request's reply may wait for the rest of its
 *                              pass ({@code zswapd.nbd.reply-hold}); zero: never
 * @param tls                   the credentials, present when TCP connections must start TLS
 */
record ConnectionContext(ExportCatalog catalog, NbdBackend backend, int maxPayload, NbdMetrics metrics,
    ActorRef<Connections.Command> connections, long connectionBufferBytes, long creditChunk, Duration handshakeTimeout,
    Optional<Duration> idleTimeout, Duration sendTimeout, Duration replyHold, Optional<TlsCredentials> tls) {

  static ConnectionContext of(NbdSettings nbd, ExportCatalog catalog, NbdBackend backend, NbdMetrics metrics,
      ActorRef<Connections.Command> connections, Optional<TlsCredentials> tls) {
    return new ConnectionContext(catalog, backend, nbd.maxPayloadBytes(), metrics, connections,
        nbd.connectionBufferBytes(), creditChunk(nbd),
        nbd.handshakeTimeout(), nbd.idleTimeout(), nbd.sendTimeout(), nbd.replyHold(), tls);
  }

  static long creditChunk(NbdSettings nbd) {
    long chunk = Math.min(nbd.connectionBufferBytes() / 8, nbd.bufferBytes() / (4L * nbd.maxConnections()));
    return Math.max(4096, Math.min(1 << 20, chunk));
  }
}
