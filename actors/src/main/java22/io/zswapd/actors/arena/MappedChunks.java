package io.zswapd.actors.arena;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Chunks as anonymous mappings of their own, made through the Foreign Function &amp; Memory API
 * (JDK 22+): the {@code mmap} kind of {@link ChunkMemory}. Loaded by {@link OffHeap} by name, so
 * the Java 17 classes never link against it.
 *
 * <ul>
 *   <li>No JVM flag limits these chunks: {@code -XX:MaxDirectMemorySize} counts only direct
 *       buffers the JDK allocates, and the pool limit is enforced by the arena itself.
 *   <li>A new chunk costs no memory until its pages are written ({@code MAP_NORESERVE}, no
 *       zeroing pass), and a free page inside a chunk goes back with
 *       {@code madvise(MADV_DONTNEED)}; under {@code mlockall} (pages locked) with
 *       {@code MADV_DONTNEED_LOCKED} (Linux 5.18+).
 *   <li>Unchecked, a released chunk is unmapped at once. Checked, its segment belongs to an
 *       automatic arena, and the JDK's cleaner unmaps it once the buffer is unreachable.
 * </ul>
 */
final class MappedChunks implements ChunkMemory {
  private final boolean checked;
  /** MADV_DONTNEED until the kernel refuses it for locked pages, then MADV_DONTNEED_LOCKED; 0 when neither works. */
  private int advice = Posix.MADV_DONTNEED;

  MappedChunks(boolean checked) {
    this.checked = checked;
  }

  @Override
  public ByteBuffer allocate(int bytes) {
    Posix.Result r = Posix.mmapAnonymous(bytes);
    if (r.failed()) {
      throw new OutOfMemoryError("mmap of a " + bytes + "-byte chunk refused: " + Posix.strerror(r.errno())
          + " (errno " + r.errno() + ")");
    }
    long address = r.value();
    MemorySegment segment = checked
        ? MemorySegment.ofAddress(address).reinterpret(bytes, Arena.ofAuto(), s -> Posix.munmap(address, bytes))
        : MemorySegment.ofAddress(address).reinterpret(bytes);
    return segment.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public void free(ByteBuffer chunk) {
    if (checked) {
      return; // the automatic arena's cleaner unmaps it once the buffer is unreachable
    }
    Posix.Result r = Posix.munmap(MemorySegment.ofBuffer(chunk).address(), chunk.capacity());
    if (r.failed()) {
      throw new IllegalStateException("munmap of a " + chunk.capacity() + "-byte chunk failed: "
          + Posix.strerror(r.errno()));
    }
  }

  @Override
  public boolean canDiscard() {
    return advice != 0;
  }

  @Override
  public boolean discard(ByteBuffer chunk, int offset, int length) {
    long address = MemorySegment.ofBuffer(chunk).address() + offset;
    while (advice != 0) {
      Posix.Result r = Posix.madvise(address, length, advice);
      if (!r.failed()) {
        return true;
      }
      if (r.errno() != Posix.EINVAL) {
        return false;
      }
      // EINVAL: locked pages refuse MADV_DONTNEED; kernels before 5.18 know no MADV_DONTNEED_LOCKED
      advice = advice == Posix.MADV_DONTNEED ? Posix.MADV_DONTNEED_LOCKED : 0;
    }
    return false;
  }

  @Override
  public boolean limitedByDirectMemory() {
    return false;
  }

  @Override
  public String kind() {
    return "mmap";
  }

  /**
   * {@code mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)}: every page the process has or will
   * touch stays in RAM, so a swap daemon is never swapped onto itself. With MCL_ONFAULT nothing is
   * touched ahead (thread stacks and reserved heap cost nothing until used). Returns null when
   * locked, else the C library's reason and errno.
   */
  static String lockAll() {
    Posix.Result r = Posix.mlockall(Posix.MCL_CURRENT | Posix.MCL_FUTURE | Posix.MCL_ONFAULT);
    return r.failed() ? Posix.strerror(r.errno()) + " (errno " + r.errno() + ")" : null;
  }
}
