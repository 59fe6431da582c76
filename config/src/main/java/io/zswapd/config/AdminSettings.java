package io.zswapd.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code zswapd.admin}: where the daemon answers {@code zswapd stats}, {@code compact},
 * {@code writeback}, {@code set} and {@code reset-max}. Either may be off; both off means the
 * daemon cannot be controlled while it runs.
 *
 * <pre>{@code
 * AdminSettings admin = ZswapdSettings.load().admin();
 * admin.unixSocket().ifPresent(path -> listen(path));       // 0600, owner only
 * }</pre>
 *
 * @param unixSocket Unix domain socket path (relative paths are relative to the working
 *                   directory); empty when "off"
 * @param tcp        a loopback TCP address for the same protocol; empty when "off" (the default:
 *                   any local user could connect to a port, while the socket file is owner-only)
 */
public record AdminSettings(Optional<Path> unixSocket, Optional<InetSocketAddress> tcp) {

  public AdminSettings {
    Objects.requireNonNull(unixSocket, "unixSocket");
    Objects.requireNonNull(tcp, "tcp");
  }

  static AdminSettings read(Section admin) {
    Optional<InetSocketAddress> tcp = admin.listenAddress("tcp");
    if (tcp.isPresent() && !tcp.get().getAddress().isLoopbackAddress()) {
      throw admin.invalid("tcp", "must be \"off\" or a loopback address such as \"127.0.0.1:10810\""
          + " or \"[::1]:10810\": the admin endpoint has no authentication");
    }
    return new AdminSettings(NbdSettings.unixSocket(admin), tcp);
  }
}
