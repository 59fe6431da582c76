package io.zswapd.testkit;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.bridge.nbd.NbdServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * An engine with its NBD server listening on a free loopback TCP port and on a Unix socket
 * in a fresh temporary directory, for protocol, interop and daemon-level tests.
 */
public final class NbdFixture implements AutoCloseable {
  private final EngineFixture engine;
  private final NbdServer server;
  private final Path dir;

  private NbdFixture(EngineFixture engine, NbdServer server, Path dir) {
    this.engine = engine;
    this.server = server;
    this.dir = dir;
  }

  /** Defaults plus {@code hocon}; the listeners are always a free TCP port and a temp socket. */
  public static NbdFixture start(String hocon) {
    return startNamed("zswapd-test", hocon);
  }

  /**
   * As {@link #start(String)} in an actor system named {@code systemName}, the {@code engine}
   * tag of its metrics: a test that counts scraped series names its engine so figures of
   * engines stopped earlier in the JVM cannot mix in.
   */
  public static NbdFixture startNamed(String systemName, String hocon) {
    return start(listeners -> EngineFixture.startNamed(systemName, hocon + listeners));
  }

  /** As {@link #start(String)}, with the engine's actors or backing I/O given by {@code setup} (a gated test). */
  public static NbdFixture start(String hocon, ZswapdSetup setup) {
    return start(listeners -> EngineFixture.start(hocon + listeners, setup));
  }

  private static NbdFixture start(Function<String, EngineFixture> engineWithListeners) {
    Path dir;
    try {
      dir = Files.createTempDirectory("zswapd-nbd");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path socket = dir.resolve("zswapd.sock");
    EngineFixture engine = engineWithListeners.apply("\nzswapd.nbd.tcp = \"127.0.0.1:0\"\n"
        + "zswapd.nbd.unix-socket = \"" + socket + "\"\n");
    NbdServer server = EngineFixture.await(NbdServer.start(engine.testKit().system(), engine.zswapd()));
    return new NbdFixture(engine, server, dir);
  }

  public Zswapd zswapd() {
    return engine.zswapd();
  }

  public EngineFixture engine() {
    return engine;
  }

  public NbdServer server() {
    return server;
  }

  public InetSocketAddress tcp() {
    return server.tcpAddress().orElseThrow();
  }

  public Path unixSocket() {
    return server.unixSocket().orElseThrow();
  }

  /** {@code nbd://127.0.0.1:PORT/EXPORT}, the URI libnbd tools take. */
  public String tcpUri(String export) {
    return "nbd://127.0.0.1:" + tcp().getPort() + "/" + export;
  }

  /** {@code nbd+unix:///EXPORT?socket=PATH}. */
  public String unixUri(String export) {
    return "nbd+unix:///" + export + "?socket=" + unixSocket();
  }

  /** A scratch directory removed on close. */
  public Path dir() {
    return dir;
  }

  @Override
  public void close() {
    try {
      EngineFixture.await(server.stop());
    } finally {
      engine.close();
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        // best effort: a temp directory
      }
    }
  }
}
