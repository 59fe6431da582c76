package io.zswapd.actors.arena;

/**
 * Thrown on any access to a chunk after the arena gave its memory back to the OS.
 *
 * <p>Off-heap use after free would otherwise read or write freed memory or crash the JVM;
 * with this exception it is an ordinary, reported bug that names the chunk.
 */
public final class ReleasedMemoryException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  ReleasedMemoryException(int chunkId) {
    super("off-heap chunk " + chunkId + " was released to the OS; this access is a use after free");
  }
}
