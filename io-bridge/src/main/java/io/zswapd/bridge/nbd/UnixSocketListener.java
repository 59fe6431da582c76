package io.zswapd.bridge.nbd;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Unix-domain socket listener: Java's {@link UnixDomainSocketAddress} with a blocking NIO
 * accept loop on its own thread; each accepted channel (still in blocking mode) goes to
 * {@code onConnection}.
 *
 * <p>The socket file is made safely: bound under a temporary name in the same directory,
 * restricted to its owner (0600), then renamed over the final path, so it is never reachable
 * with looser permissions. A stale socket left by a crashed daemon (nothing accepts on it) is
 * replaced; a socket someone is still serving on, or any file that is not a socket, is left
 * alone and reported. On close the file is removed if it is still the one we made.
 */
public final class UnixSocketListener implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(UnixSocketListener.class);

  private final Path path;
  private final ServerSocketChannel server;
  private final Object fileKey;
  private final Thread acceptor;

  private UnixSocketListener(Path path, ServerSocketChannel server, Object fileKey, Consumer<SocketChannel> onConnection) {
    this.path = path;
    this.server = server;
    this.fileKey = fileKey;
    this.acceptor = new Thread(() -> acceptLoop(onConnection), "zswapd-unix-accept");
    this.acceptor.setDaemon(true);
  }

  public static UnixSocketListener open(Path path, Consumer<SocketChannel> onConnection) throws IOException {
    Path absolute = path.toAbsolutePath();
    clearStale(absolute);
    Path temp = absolute.resolveSibling("." + absolute.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    Files.deleteIfExists(temp);
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(UnixDomainSocketAddress.of(temp));
      Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
      Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      server.close();
      Files.deleteIfExists(temp);
      throw e;
    }
    Object key = Files.readAttributes(absolute, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    UnixSocketListener listener = new UnixSocketListener(absolute, server, key, onConnection);
    listener.acceptor.start();
    return listener;
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

  public Path path() {
    return path;
  }

  private void acceptLoop(Consumer<SocketChannel> onConnection) {
    while (server.isOpen()) {
      try {
        onConnection.accept(server.accept());
      } catch (ClosedChannelException closed) {
        return;
      } catch (IOException e) {
        LOG.warn("accept on {} failed: {}", path, e.toString());
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
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
