package io.zswapd.bridge.nbd;

import io.zswapd.config.SettingsException;
import io.zswapd.config.TlsSettings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;

/**
 * The server's TLS credentials, loaded once at start from the PEM files of
 * {@code zswapd.nbd.tls}: a certificate chain, its unencrypted PKCS#8 private key, and
 * optionally the CAs whose client certificates are accepted. Every problem (a missing PEM
 * block, an encrypted or PKCS#1 key, a key that does not belong to the certificate) stops the
 * start with one line naming the setting and the file.
 *
 * <pre>{@code
 * TlsCredentials tls = TlsCredentials.load(settings.nbd().tls().orElseThrow());
 * SSLEngine engine = tls.newEngine();    // one per connection, after NBD_OPT_STARTTLS
 * }</pre>
 */
final class TlsCredentials {
  private static final Pattern PEM = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
  /** TLS 1.3 and 1.2: what gnutls (nbd-client, qemu, libnbd) and the JDK share. */
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private final SSLContext context;
  private final boolean clientCertificates;
  private final String summary;

  private TlsCredentials(SSLContext context, boolean clientCertificates, String summary) {
    this.context = context;
    this.clientCertificates = clientCertificates;
    this.summary = summary;
  }

  static TlsCredentials load(TlsSettings tls) {
    List<X509Certificate> chain = certificates(tls.certificate(), "zswapd.nbd.tls.certificate");
    PrivateKey key = privateKey(tls.privateKey());
    checkPair(chain.get(0), key, tls);
    try {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry("zswapd", key, new char[0], chain.toArray(Certificate[]::new));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, new char[0]);
      TrustManagerFactory tmf = null;
      if (tls.clientCa().isPresent()) {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        int i = 0;
        for (X509Certificate ca : certificates(tls.clientCa().get(), "zswapd.nbd.tls.client-ca")) {
          trusted.setCertificateEntry("ca-" + i++, ca);
        }
        tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), new SecureRandom());
      String summary = "TLS required on TCP, certificate " + chain.get(0).getSubjectX500Principal().getName()
          + (tls.clientCa().isPresent() ? ", client certificates required (" + tls.clientCa().get() + ")"
              : ", no client certificate asked");
      return new TlsCredentials(context, tls.clientCa().isPresent(), summary);
    } catch (GeneralSecurityException | IOException e) {
      throw new SettingsException("zswapd.nbd.tls", "zswapd.nbd.tls: cannot set up TLS with " + tls.certificate()
          + " and " + tls.privateKey() + ": " + e.getMessage(), e);
    }
  }

  /** A server-side engine for one connection. */
  SSLEngine newEngine() {
    SSLEngine engine = context.createSSLEngine();
    engine.setUseClientMode(false);
    engine.setEnabledProtocols(PROTOCOLS);
    engine.setNeedClientAuth(clientCertificates);
    return engine;
  }

  /** One line for the start-up summary. */
  String summary() {
    return summary;
  }

  private static List<X509Certificate> certificates(Path file, String key) {
    try (InputStream in = Files.newInputStream(file)) {
      Collection<? extends Certificate> all = CertificateFactory.getInstance("X.509").generateCertificates(in);
      List<X509Certificate> certs = all.stream().map(c -> (X509Certificate) c).toList();
      if (certs.isEmpty()) {
        throw new SettingsException(key, key + " = \"" + file + "\": no certificate in the file (PEM, "
            + "\"-----BEGIN CERTIFICATE-----\")");
      }
      return certs;
    } catch (IOException | GeneralSecurityException e) {
      throw new SettingsException(key, key + " = \"" + file + "\": not a PEM certificate file: " + e.getMessage(), e);
    }
  }

  private static PrivateKey privateKey(Path file) {
    String key = "zswapd.nbd.tls.private-key";
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new SettingsException(key, key + " = \"" + file + "\": cannot read it: " + e.getMessage(), e);
    }
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      String type = m.group(1);
      if (type.equals("PRIVATE KEY")) {
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
          try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
          } catch (GeneralSecurityException wrongAlgorithm) {
            // try the next one
          }
        }
        throw new SettingsException(key, key + " = \"" + file + "\": a PKCS#8 key of an algorithm this JDK cannot "
            + "use for TLS (RSA, EC, Ed25519, Ed448 are)");
      }
      if (type.endsWith("PRIVATE KEY")) {
        throw new SettingsException(key, key + " = \"" + file + "\": a \"" + type + "\"; zswapd reads an unencrypted "
            + "PKCS#8 key (\"BEGIN PRIVATE KEY\"): convert it with openssl pkcs8 -topk8 -nocrypt -in " + file);
      }
    }
    throw new SettingsException(key, key + " = \"" + file + "\": no \"-----BEGIN PRIVATE KEY-----\" block in the file");
  }

  /** A key that does not belong to the certificate would only fail at the first client's handshake. */
  private static void checkPair(X509Certificate cert, PrivateKey key, TlsSettings tls) {
    String algorithm = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "RSASSA-PSS" -> "RSASSA-PSS";
      default -> key.getAlgorithm(); // Ed25519, Ed448
    };
    try {
      byte[] probe = "zswapd".getBytes(StandardCharsets.US_ASCII);
      Signature sign = Signature.getInstance(algorithm);
      if (algorithm.equals("RSASSA-PSS")) {
        sign.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
            java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
      }
      sign.initSign(key);
      sign.update(probe);
      byte[] signature = sign.sign();
      Signature verify = Signature.getInstance(algorithm);
      if (algorithm.equals("RSASSA-PSS")) {
        verify.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
            java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
      }
      verify.initVerify(cert.getPublicKey());
      verify.update(probe);
      if (!verify.verify(signature)) {
        throw new SettingsException("zswapd.nbd.tls.private-key", "zswapd.nbd.tls.private-key = \"" + tls.privateKey()
            + "\": does not belong to the certificate " + tls.certificate() + " ("
            + cert.getSubjectX500Principal().getName() + ")");
      }
    } catch (GeneralSecurityException e) {
      throw new SettingsException("zswapd.nbd.tls.private-key", "zswapd.nbd.tls.private-key = \"" + tls.privateKey()
          + "\": does not belong to the certificate " + tls.certificate() + ": " + e.getMessage(), e);
    }
  }
}
