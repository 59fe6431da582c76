package io.zswapd.bridge;

import io.zswapd.bridge.admin.AdminServer;
import io.zswapd.bridge.admin.StatsReport;
import io.zswapd.bridge.nbd.NbdServer;
import io.zswapd.config.ExportSettings;
import io.zswapd.config.LiveSetting;
import io.zswapd.config.NbdSettings;
import io.zswapd.config.PoolSettings;
import io.zswapd.config.ZswapdSettings;
import java.net.InetSocketAddress;
import java.util.Locale;

/**
 * The one INFO block the daemon logs when it is ready: what an operator checks first in the log
 * of a swap daemon (where it listens, what it serves, the limits, the codec), with exact numbers.
 * {@link Banner} prints the attach instructions on stdout; this goes through SLF4J.
 *
 * <pre>
 * zswapd started
 *   listeners: NBD unix /run/zswapd/zswapd.sock, admin unix /run/zswapd/zswapd-admin.sock
 *   connections: at most 64, buffer-memory 67108864 B (64.0 MiB) (32.0 MiB per connection), handshake-timeout 10s, ...
 *   export swap0: 4294967296 B (4.0 GiB), backing-file /var/lib/zswapd/swap0.img (unlimited)
 *   pool: limit 1717985280 B (1.6 GiB), accept-threshold 90%, arena chunks of 2.0 MiB (mmap), ...
 *   codec: lz4 (default level), same-filled pages on
 *   writeback: idle-after off, reclaim-timeout 10s
 *   recompress: idle-after off, huge off, threshold 0 B, min-saving 10%, max-rate 4096 pages/s
 *   metrics: prometheus 127.0.0.1:9095
 * </pre>
 */
final class StartupSummary {
  private StartupSummary() {}

  /** @param offHeap where chunks come from, "mmap" or "direct" ({@code Zswapd.offHeap()}) */
  static String text(ZswapdSettings s, String offHeap, java.util.Optional<NbdServer> nbd, AdminServer admin) {
    StringBuilder b = new StringBuilder("zswapd started\n");
    StringBuilder listeners = new StringBuilder();
    nbd.flatMap(NbdServer::tcpAddress).ifPresent(a -> listeners.append(", NBD tcp ").append(address(a)));
    nbd.flatMap(NbdServer::unixSocket).ifPresent(p -> listeners.append(", NBD unix ").append(p));
    if (s.cluster().enabled()) {
      listeners.append(", cluster ").append(address(s.cluster().bind())).append(" (")
          .append(s.cluster().role().configName()).append(')');
    }
    admin.unixSocket().ifPresent(p -> listeners.append(", admin unix ").append(p));
    admin.tcpAddress().ifPresent(a -> listeners.append(", admin tcp ").append(address(a)));
    b.append("  listeners: ").append(listeners.length() == 0 ? "none" : listeners.substring(2)).append('\n');
    NbdSettings n = s.nbd();
    b.append("  connections: at most ").append(n.maxConnections()).append(", buffer-memory ")
        .append(sized(n.bufferBytes())).append(" (").append(StatsReport.human(n.connectionBufferBytes()))
        .append(" per connection), handshake-timeout ").append(LiveSetting.duration(n.handshakeTimeout()))
        .append(", idle-timeout ").append(n.idleTimeout().map(LiveSetting::duration).orElse("off"))
        .append(", send-timeout ").append(LiveSetting.duration(n.sendTimeout()))
        .append(", reply-hold ").append(LiveSetting.duration(n.replyHold()))
        .append(nbd.flatMap(NbdServer::tcpAddress).isPresent()
            ? (nbd.get().tlsRequired() ? ", TLS required on TCP" : ", TCP without TLS") : "").append('\n');
    for (ExportSettings e : s.exports()) {
      b.append("  export ").append(e.name()).append(": ").append(sized(e.sizeBytes()))
          .append(e.readOnly() ? ", read-only" : "")
          .append(e.backingFile().map(f -> ", backing-file " + f.toAbsolutePath() + " ("
              + (e.backingSizeBytes().isPresent() ? "at most " + sized(e.backingSizeBytes().getAsLong()) : "unlimited")
              + ")").orElse(", no backing-file (a full pool refuses stores)"))
          .append(e.recompressor().map(c -> ", recompressor " + c.configName()
              + (e.recompressionLevel().isPresent() ? " level " + e.recompressionLevel().getAsInt() : "")).orElse(""))
          .append('\n');
    }
    PoolSettings p = s.pool();
    b.append("  pool: limit ").append(sized(p.maxSizeBytes()));
    b.append(String.format(Locale.ROOT, ", accept-threshold %.0f%%, arena chunks of %s (%s), zspages of up to %d pages%n",
        p.acceptThreshold() * 100, StatsReport.human(p.arenaChunkSizeBytes()), offHeap, p.maxPagesPerZspage()));
    b.append("  codec: ").append(p.compressor().configName())
        .append(p.compressionLevel().isPresent() ? " level " + p.compressionLevel().getAsInt() : " (default level)")
        .append(", same-filled pages ").append(p.sameFilledPages() ? "on" : "off").append('\n');
    b.append("  writeback: idle-after ").append(p.writeback().idleAfter().map(LiveSetting::duration).orElse("off"))
        .append(", reclaim-timeout ").append(LiveSetting.duration(p.writeback().reclaimTimeout())).append('\n');
    b.append("  ").append(StatsReport.recompressPolicy(p.recompress())).append('\n');
    b.append("  metrics: prometheus ").append(s.metrics().prometheus().map(StartupSummary::address).orElse("off"));
    return b.toString();
  }

  private static String sized(long bytes) {
    return bytes + " B (" + StatsReport.human(bytes) + ")";
  }

  private static String address(InetSocketAddress a) {
    return a.getHostString() + ":" + a.getPort();
  }
}
