package io.zswapd.actors.arena;

import java.nio.ByteBuffer;

/**
 * Where the arena's chunks come from, and how their memory goes back to the OS. Two kinds,
 * chosen once at start ({@link OffHeap#choose}):
 *
 * <ul>
 *   <li><b>mmap</b> (JDK 22+, {@code MappedChunks}): each chunk is its own anonymous mapping,
 *       made and unmapped through the Foreign Function &amp; Memory API. No JVM flag limits it
 *       (the pool limit is the only limit), pages are touched only when written, and the free
 *       pages inside a chunk can go back to the OS one by one ({@code madvise(MADV_DONTNEED)}).
 *   <li><b>direct</b> (JDK 17, {@link DirectChunks}): direct {@link ByteBuffer}s, limited by
 *       {@code -XX:MaxDirectMemorySize} ({@link DirectMemoryBudget}) and zeroed when allocated;
 *       memory goes back only a whole chunk at a time.
 * </ul>
 *
 * <p>All calls come from the {@link PageArena} actor, the only owner of chunks, except that a
 * checked chunk's memory may be freed later by the JDK's cleaner thread.
 */
public interface ChunkMemory {

  /** A new chunk of {@code bytes} (a multiple of 4 KiB), reading as zeros, little-endian. */
  ByteBuffer allocate(int bytes);

  /**
   * Gives the chunk back. Unchecked: at once, and any later access may crash the JVM
   * ({@link Chunk} turns it into an exception). Checked: once the buffer is unreachable.
   */
  void free(ByteBuffer chunk);

  /** Whether {@link #discard} gives pages back (false for direct buffers). */
  boolean canDiscard();

  /**
   * Gives back to the OS the pages {@code [offset, offset + length)} of a chunk, whose contents
   * nobody needs: they read as zeros afterwards and cost memory again when written. Returns false
   * when the OS refused (logged by the caller); the pages then simply stay resident.
   */
  boolean discard(ByteBuffer chunk, int offset, int length);

  /** Whether chunks count against {@code -XX:MaxDirectMemorySize}. */
  boolean limitedByDirectMemory();

  /** For logs and stats: "mmap" or "direct". */
  String kind();
}
