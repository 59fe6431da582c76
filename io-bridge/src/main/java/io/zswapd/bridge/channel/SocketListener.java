package io.zswapd.bridge.channel;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listening socket, Unix-domain or TCP, with a blocking accept loop on its own thread; each
 * accepted channel (still in blocking mode; TCP ones with {@code TCP_NODELAY}, as replies are
 * small and latency-bound) goes to {@code onConnection}.
 *
 * <p><b>Accept failures.</b> When {@code accept} fails (the process is out of file descriptors,
 * {@code EMFILE}, or the kernel out of memory) the loop backs off, from
 * {@link #MIN_BACKOFF} doubling to {@link #MAX_BACKOFF}, instead of spinning, and logs the first
 * failure at once and then at most one line per {@link #LOG_INTERVAL} with how many there were.
 * Connections already open are unaffected, and accepting resumes by itself once descriptors are
 * free again.
 *
 * <p><b>The Unix socket file</b> is made with no window in which anyone else could reach it:
 * bound inside a fresh directory of mode 0700 next to the final path, restricted to its owner
 * (0600), then renamed over the final path, and the directory removed. A stale socket left by
 * a crashed daemon (nothing accepts on it) is replaced; a socket someone is still serving on,
 * or any file that is not a socket, is left alone and reported. On close the file is removed if
 * it is still the one made here (same file key), so a socket another process has put there
 * since is not.
 */
public final class SocketListener implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SocketListener.class);
  static final Duration MIN_BACKOFF = Duration.ofMillis(10);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(1);
  static final Duration LOG_INTERVAL = Duration.ofSeconds(10);
  private static final int TCP_BACKLOG = 128;

  private final ServerSocketChannel server;
  private final Path path;
  private final Object fileKey;
  private final String name;
  private final Thread acceptor;

  private SocketListener(ServerSocketChannel server, Path path, Object fileKey, String name,
      Consumer<SocketChannel> onConnection) {
    this.server = server;
    this.path = path;
    this.fileKey = fileKey;
    this.name = name;
    this.acceptor = new Thread(() -> acceptLoop(onConnection), name);
    this.acceptor.setDaemon(true);
  }

  /** Listens on a Unix socket at {@code path}, mode 0600 (see the class comment). */
  public static SocketListener unix(Path path, String threadName, Consumer<SocketChannel> onConnection)
      throws IOException {
    Path absolute = path.toAbsolutePath();
    clearStale(absolute);
    Path dir = privateDirectory(absolute.getParent());
    Path temp = dir.resolve("s");
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(UnixDomainSocketAddress.of(temp));
      Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
      Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      server.close();
      Files.deleteIfExists(temp);
      throw e;
    } finally {
      Files.deleteIfExists(dir);
    }
    Object key = Files.readAttributes(absolute, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    SocketListener listener = new SocketListener(server, absolute, key, threadName, onConnection);
    listener.acceptor.start();
    return listener;
  }

  /** Listens on a TCP address (port 0: a free port, see {@link #address()}). */
  public static SocketListener tcp(InetSocketAddress at, String threadName, Consumer<SocketChannel> onConnection)
      throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open();
    try {
      server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      server.bind(at, TCP_BACKLOG);
    } catch (IOException e) {
      server.close();
      throw e;
    }
    SocketListener listener = new SocketListener(server, null, null, threadName, onConnection);
    listener.acceptor.start();
    return listener;
  }

  /** A directory of mode 0700 (made so: umask can only take bits away) with a short random name. */
  private static Path privateDirectory(Path parent) throws IOException {
    SecureRandom random = new SecureRandom();
    for (int attempt = 0; ; attempt++) {
      byte[] id = new byte[4];
      random.nextBytes(id);
      Path dir = parent.resolve(".zs-" + HexFormat.of().formatHex(id));
      try {
        return Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (FileAlreadyExistsException taken) {
        if (attempt == 10) {
          throw taken;
        }
      }
    }
  }

  /** Removes a socket file nobody serves on; refuses to touch a live socket or a non-socket. */
  private static void clearStale(Path path) throws IOException {
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    if (!a.isOther()) {
      throw new IOException(path + " exists and is not a socket; not replacing it");
    }
    boolean served;
    try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
      served = true;
    } catch (IOException refused) {
      served = false;
    }
    if (served) {
      throw new IOException("another process is serving on " + path + " (is zswapd already running?)");
    }
    LOG.info("replacing stale socket {}", path);
    Files.delete(path);
  }

  /** The socket file of a Unix listener. */
  public Optional<Path> path() {
    return Optional.ofNullable(path);
  }

  /** The bound address of a TCP listener, with the real port. */
  public Optional<InetSocketAddress> address() {
    if (path != null) {
      return Optional.empty();
    }
    try {
      return Optional.of((InetSocketAddress) server.getLocalAddress());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Where it listens, for log lines. */
  public String describe() {
    return path != null ? path.toString() : address().map(a -> a.getHostString() + ":" + a.getPort()).orElse("tcp");
  }

  private void acceptLoop(Consumer<SocketChannel> onConnection) {
    long backoffMillis = MIN_BACKOFF.toMillis();
    long failuresSinceLog = 0;
    long lastLogNanos = 0;
    boolean failing = false;
    while (server.isOpen()) {
      SocketChannel channel;
      try {
        channel = server.accept();
      } catch (ClosedChannelException closed) {
        return;
      } catch (IOException e) {
        failuresSinceLog++;
        long now = System.nanoTime();
        if (!failing) {
          LOG.warn("accept on {} failed: {}; retrying with a back-off of up to {} ms (further failures are logged"
              + " once per {} s)", describe(), e.getMessage(), MAX_BACKOFF.toMillis(), LOG_INTERVAL.toSeconds());
          failing = true;
          failuresSinceLog = 0;
          lastLogNanos = now;
        } else if (now - lastLogNanos >= LOG_INTERVAL.toNanos()) {
          LOG.warn("accept on {} failed {} more times in the last {} s: {}", describe(), failuresSinceLog,
              LOG_INTERVAL.toSeconds(), e.getMessage());
          failuresSinceLog = 0;
          lastLogNanos = now;
        }
        if (!pause(backoffMillis)) {
          return;
        }
        backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF.toMillis());
        continue;
      }
      if (failing) {
        LOG.info("accept on {} works again ({} failures since the last report)", describe(), failuresSinceLog);
        failing = false;
      }
      backoffMillis = MIN_BACKOFF.toMillis();
      try {
        if (path == null) {
          channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        }
        onConnection.accept(channel);
      } catch (IOException | RuntimeException e) {
        LOG.warn("a connection on {} could not be served: {}", describe(), e.toString());
        try {
          channel.close();
        } catch (IOException ignored) {
          // it is being dropped anyway
        }
      }
    }
  }

  /** Sleeps on the accept thread; false when the listener was closed meanwhile. */
  private boolean pause(long millis) {
    try {
      Thread.sleep(millis);
      return server.isOpen();
    } catch (InterruptedException e) {
      return false;
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    acceptor.interrupt();
    if (path == null) {
      return;
    }
    try {
      BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (Objects.equals(a.fileKey(), fileKey)) {
        Files.delete(path);
      }
    } catch (java.nio.file.NoSuchFileException gone) {
      // already removed
    }
  }
}
