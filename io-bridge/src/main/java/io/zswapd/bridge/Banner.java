package io.zswapd.bridge;

import io.zswapd.bridge.admin.AdminServer;
import io.zswapd.bridge.admin.StatsReport;
import io.zswapd.bridge.nbd.NbdServer;
import io.zswapd.config.ExportSettings;
import io.zswapd.config.ZswapdSettings;
import java.util.Locale;

/** What the daemon prints when it is ready: where it listens and the exact commands to attach it. */
final class Banner {
  private Banner() {}

  static String text(ZswapdSettings s, java.util.Optional<NbdServer> nbd, AdminServer admin,
      java.util.Optional<java.net.InetSocketAddress> metrics) {
    StringBuilder b = new StringBuilder();
    if (nbd.isEmpty()) { // a memory node: it holds other nodes' shards and serves no export of its own
      b.append(String.format(Locale.ROOT, "zswapd ready: memory node of the cluster at %s, pool limit %s, %s%n",
          s.cluster().bind().getHostString() + ":" + s.cluster().bind().getPort(), bytes(s.pool().maxSizeBytes()),
          s.pool().compressor().configName()));
      admin.unixSocket().ifPresent(p -> b.append("  admin socket:  ").append(p).append('\n'));
      metrics.ifPresent(a -> b.append("  metrics:       http://").append(a.getHostString()).append(':')
          .append(a.getPort()).append("/metrics\n"));
      b.append("Stop with SIGTERM or Ctrl-C.\n");
      return b.toString();
    }
    NbdServer server = nbd.get();
    b.append(String.format(Locale.ROOT, "zswapd ready: pool limit %s, %s, %d export(s)%n",
        bytes(s.pool().maxSizeBytes()), s.pool().compressor().configName(), s.exports().size()));
    for (ExportSettings e : s.exports()) {
      b.append(String.format(Locale.ROOT, "  export %-12s %s%s%s%n", e.name(), bytes(e.sizeBytes()),
          e.readOnly() ? " (read-only)" : "",
          e.placement() == ExportSettings.Placement.CLUSTER ? " (shards on the cluster's memory nodes)" : ""));
    }
    if (s.cluster().enabled()) {
      b.append("  cluster:       ").append(s.cluster().bind().getHostString()).append(':')
          .append(s.cluster().bind().getPort()).append(" (").append(s.cluster().role().configName()).append(")\n");
    }
    server.tcpAddress().ifPresent(a -> b.append("  NBD over TCP:  ").append(a.getHostString()).append(':')
        .append(a.getPort()).append(server.tlsRequired() ? " (TLS required)" : "").append('\n'));
    server.unixSocket().ifPresent(p -> b.append("  NBD over unix: ").append(p).append('\n'));
    admin.unixSocket().ifPresent(p -> b.append("  admin socket:  ").append(p).append('\n'));
    admin.tcpAddress().ifPresent(a -> b.append("  admin TCP:     ").append(a.getHostString()).append(':')
        .append(a.getPort()).append('\n'));
    metrics.ifPresent(a -> b.append("  metrics:       http://").append(a.getHostString()).append(':')
        .append(a.getPort()).append("/metrics\n"));
    String first = s.exports().get(0).name();
    b.append("\nAttach as swap (as root; needs the nbd kernel module and nbd-client):\n");
    server.unixSocket().ifPresentOrElse(
        p -> b.append("  nbd-client -unix ").append(p).append(" /dev/nbd0 -N ").append(first)
            .append(" -b 4096 -L -swap -persist\n"),
        () -> server.tcpAddress().ifPresent(a -> b.append("  nbd-client ").append(a.getHostString()).append(' ')
            .append(a.getPort()).append(" /dev/nbd0 -N ").append(first).append(" -b 4096 -L -swap -persist\n")));
    b.append("  mkswap /dev/nbd0\n");
    b.append("  swapon --discard=pages /dev/nbd0\n");
    server.unixSocket().ifPresentOrElse(p -> b.append("\nCheck it: nbdinfo 'nbd+unix:///").append(first)
        .append("?socket=").append(p).append("'\n"),
        () -> server.tcpAddress().ifPresent(a -> b.append("\nCheck it: nbdinfo ").append(server.tlsRequired()
            ? "'nbds://" : "nbd://").append(a.getHostString()).append(':').append(a.getPort()).append('/').append(first)
            .append(server.tlsRequired() ? "?tls-certificates=DIR'" : "").append('\n')));
    admin.unixSocket().ifPresent(p -> b.append("Control it: java -jar zswapd.jar stats --admin ").append(p)
        .append("   (also compact, writeback, set, reset-max; see --help)\n"));
    b.append("Stop with SIGTERM or Ctrl-C.\n");
    return b.toString();
  }

  static String bytes(long n) {
    return StatsReport.human(n);
  }
}
