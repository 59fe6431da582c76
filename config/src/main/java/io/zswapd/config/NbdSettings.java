package io.zswapd.config;

import java.net.InetSocketAddress;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code zswapd.nbd}: where the daemon listens for {@code nbd-client} and how large one request may
 * be. An empty address or socket means that listener is off.
 *
 * <pre>{@code
 * NbdSettings nbd = ZswapdSettings.load().nbd();
 * nbd.tcp().ifPresent(address -> bindTcp(address, nbd.maxPayloadBytes()));
 * }</pre>
 *
 * @param tcp             TCP listen address, resolved and ready to bind; empty when "off"
 * @param unixSocket      Unix domain socket path (relative paths are relative to the working
 *                        directory); empty when "off"
 * @param maxPayloadBytes largest READ/WRITE payload accepted in one request, 4 KiB..256 MiB
 */
public record NbdSettings(Optional<InetSocketAddress> tcp, Optional<Path> unixSocket, int maxPayloadBytes) {

  public NbdSettings {
    Objects.requireNonNull(tcp, "tcp");
    Objects.requireNonNull(unixSocket, "unixSocket");
  }

  static NbdSettings read(Section nbd) {
    String payloadRule = "must be a byte size from 4 KiB to 256 MiB";
    long payload = nbd.bytes("max-payload", payloadRule);
    if (payload < 4 * 1024 || payload > 256 * 1024 * 1024) {
      throw nbd.invalid("max-payload", payloadRule);
    }
    return new NbdSettings(nbd.listenAddress("tcp"), unixSocket(nbd), (int) payload);
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
