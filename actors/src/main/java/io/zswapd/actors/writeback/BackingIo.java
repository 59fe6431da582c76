package io.zswapd.actors.writeback;

import java.util.concurrent.CompletionStage;

/**
 * Positional I/O on one backing file, the seam between a {@link BackingStore} and the disk. The
 * store calls it from its own actor; an implementation must not block that caller but complete
 * the stage later, from any thread. Tests put a double here to hold or fail single operations.
 *
 * <pre>{@code
 * Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
 * BackingIo io = FileBackingIo.open(Path.of("/var/lib/zswapd/swap0.wb"), "swap0", blocking);
 * context.spawn(BackingStore.create("swap0", io, BackingStore.UNLIMITED), "backing");
 * }</pre>
 */
public interface BackingIo extends AutoCloseable {

  /** Writes all of {@code bytes} at {@code position}; fails with the I/O error, if any. */
  CompletionStage<Void> write(long position, byte[] bytes);

  /** Reads exactly {@code length} bytes at {@code position}; fails if fewer are there. */
  CompletionStage<byte[]> read(long position, int length);

  /** Releases the file. Called once, after every write and read issued has completed. */
  @Override
  void close();
}
