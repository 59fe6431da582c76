package io.zswapd.config;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code zswapd.nbd.tls}: the server's credentials for NBD's STARTTLS on TCP connections, as
 * {@code nbd-server} and {@code qemu-nbd --tls-creds} take them: PEM files made with
 * {@code openssl} or {@code certtool}. Configured means required: a TCP client must upgrade with
 * {@code NBD_OPT_STARTTLS} before it may see or use an export.
 *
 * <pre>{@code
 * nbd.tls().ifPresent(tls -> serveTls(tls.certificate(), tls.privateKey(), tls.clientCa()));
 * }</pre>
 *
 * @param certificate the server's certificate, then any intermediate ones (PEM)
 * @param privateKey  its private key, PKCS#8 PEM ({@code -----BEGIN PRIVATE KEY-----})
 * @param clientCa    certificates of the authorities whose client certificates are accepted
 *                    (PEM); when present every client must present one (mutual TLS), when empty
 *                    clients are not asked for a certificate
 */
public record TlsSettings(Path certificate, Path privateKey, Optional<Path> clientCa) {

  public TlsSettings {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(privateKey, "privateKey");
    Objects.requireNonNull(clientCa, "clientCa");
  }

  /** Empty when neither certificate nor private-key is set; both or neither. */
  static Optional<TlsSettings> read(Section tls) {
    boolean cert = tls.has("certificate");
    boolean key = tls.has("private-key");
    if (!cert && !key) {
      if (tls.has("client-ca")) {
        throw tls.invalid("client-ca", "needs zswapd.nbd.tls.certificate and private-key as well");
      }
      return Optional.empty();
    }
    if (!cert || !key) {
      String missing = cert ? "private-key" : "certificate";
      throw new SettingsException(tls.key(missing), tls.key(missing) + ": missing; TLS needs both certificate"
          + " and private-key (PEM files)");
    }
    return Optional.of(new TlsSettings(file(tls, "certificate"), file(tls, "private-key"),
        tls.has("client-ca") ? Optional.of(file(tls, "client-ca")) : Optional.empty()));
  }

  private static Path file(Section tls, String name) {
    String rule = "must be the path of a readable PEM file";
    String text = tls.string(name, rule);
    Path p;
    try {
      p = Path.of(text);
    } catch (InvalidPathException e) {
      throw tls.invalid(name, rule, e);
    }
    if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
      throw tls.invalid(name, "no readable file there; " + rule);
    }
    return p;
  }
}
