package io.zswapd.actors.writeback;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * A backing file on disk: positional reads and writes through one {@link FileChannel}, each run
 * on a blocking executor so the store's actor never waits on the disk. Positional I/O does not
 * move a shared file position, so operations on different slots may run in parallel.
 *
 * <pre>{@code
 * Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
 * try (FileBackingIo io = FileBackingIo.open(Path.of("/var/lib/zswapd/swap0.wb"), blocking)) {
 *   io.write(0, compressed).toCompletableFuture().join();
 * }
 * }</pre>
 *
 * <p><b>Lifetime of the file.</b> Like a swap partition, the file holds nothing of use once the
 * daemon is gone: its slots mean something only to the entries in memory that name them. So a
 * file this class <em>created</em> is deleted on {@link #close()}: it would otherwise leave
 * stale, possibly sensitive pages behind and take disk space for nothing. A file that already
 * existed (preallocated by the user, or left by a crash) is reused and left in place on close,
 * because deleting a path the user named and made is not ours to do. Nothing is synced to disk:
 * after a crash the contents are worthless anyway, like swap.
 */
public final class FileBackingIo implements BackingIo {
  private final Path path;
  private final FileChannel channel;
  private final Executor executor;
  private final boolean created;

  private FileBackingIo(Path path, FileChannel channel, Executor executor, boolean created) {
    this.path = path;
    this.channel = channel;
    this.executor = executor;
    this.created = created;
  }

  /**
   * Opens {@code path} for reading and writing, creating it if absent. The parent directory must
   * exist; the exception names the path either way.
   *
   * @param executor where the blocking reads and writes run, e.g. Akka's blocking dispatcher
   */
  public static FileBackingIo open(Path path, Executor executor) throws IOException {
    try {
      FileChannel channel = FileChannel.open(path,
          StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
      return new FileBackingIo(path, channel, executor, true);
    } catch (FileAlreadyExistsException e) {
      return openExisting(path, executor);
    } catch (NoSuchFileException e) {
      throw new IOException("backing file " + path + ": directory " + path.toAbsolutePath().getParent()
          + " does not exist", e);
    } catch (IOException e) {
      throw new IOException("backing file " + path + ": cannot create: " + e, e);
    }
  }

  private static FileBackingIo openExisting(Path path, Executor executor) throws IOException {
    if (Files.isDirectory(path)) {
      throw new IOException("backing file " + path + ": is a directory");
    }
    try {
      FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
      return new FileBackingIo(path, channel, executor, false);
    } catch (IOException e) {
      throw new IOException("backing file " + path + ": cannot open for reading and writing: " + e, e);
    }
  }

  /** The file's path as given. */
  public Path path() {
    return path;
  }

  /** Whether this instance created the file (and so deletes it on close). */
  public boolean createdFile() {
    return created;
  }

  @Override
  public CompletionStage<Void> write(long position, byte[] bytes) {
    return CompletableFuture.runAsync(() -> {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      try {
        // a positional write may write fewer bytes than asked; carry on from where it stopped
        while (buffer.hasRemaining()) {
          channel.write(buffer, position + buffer.position());
        }
      } catch (IOException e) {
        throw new UncheckedIOException(
            "backing file " + path + ": write of " + bytes.length + " bytes at " + position + " failed: " + e, e);
      }
    }, executor);
  }

  @Override
  public CompletionStage<byte[]> read(long position, int length) {
    return CompletableFuture.supplyAsync(() -> {
      ByteBuffer buffer = ByteBuffer.allocate(length);
      try {
        while (buffer.hasRemaining()) {
          if (channel.read(buffer, position + buffer.position()) < 0) {
            throw new EOFException("backing file " + path + ": end of file after " + buffer.position()
                + " of " + length + " bytes reading at position " + position);
          }
        }
      } catch (EOFException e) {
        throw new UncheckedIOException(e.getMessage(), e);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "backing file " + path + ": read of " + length + " bytes at " + position + " failed: " + e, e);
      }
      return buffer.array();
    }, executor);
  }

  /** Closes the channel, and deletes the file if this instance created it (see the class comment). */
  @Override
  public void close() {
    try {
      channel.close();
      if (created) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("backing file " + path + ": close failed: " + e, e);
    }
  }
}
