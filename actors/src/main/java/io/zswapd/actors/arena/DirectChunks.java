package io.zswapd.actors.arena;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Chunks as direct {@link ByteBuffer}s: the JDK 17 kind of {@link ChunkMemory}.
 *
 * <p>A direct buffer is normally freed when the garbage collector notices it is unreachable,
 * which may be never for a long-lived old-generation object: a swap engine would then keep
 * memory the OS asked for long after its pages were freed. So an unchecked chunk is released at
 * once through the buffer's cleaner ({@code Unsafe.invokeCleaner}, in {@code jdk.unsupported},
 * present on JDK 17 through 25). A checked chunk is only dropped: the GC frees it once no thread
 * can still hold it.
 *
 * <p>The JDK zeroes every byte of a direct buffer when it allocates it, so a chunk is resident
 * in full from its first page on, and glibc serves 2 MiB with {@code mmap} only with
 * {@code MALLOC_MMAP_THRESHOLD_} set (docs/OPERATIONS.md).
 */
final class DirectChunks implements ChunkMemory {
  private static final Object UNSAFE;
  private static final Method INVOKE_CLEANER;

  static {
    try {
      Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
      Field field = unsafeClass.getDeclaredField("theUnsafe");
      field.setAccessible(true);
      UNSAFE = field.get(null);
      INVOKE_CLEANER = unsafeClass.getMethod("invokeCleaner", ByteBuffer.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(
          "zswapd needs sun.misc.Unsafe.invokeCleaner (module jdk.unsupported) to free off-heap chunks: " + e);
    }
  }

  private final boolean checked;

  DirectChunks(boolean checked) {
    this.checked = checked;
  }

  @Override
  public ByteBuffer allocate(int bytes) {
    return ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public void free(ByteBuffer chunk) {
    if (checked) {
      return;
    }
    try {
      INVOKE_CLEANER.invoke(UNSAFE, chunk);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("could not release an off-heap chunk: " + e, e);
    }
  }

  @Override
  public boolean canDiscard() {
    return false;
  }

  @Override
  public boolean discard(ByteBuffer chunk, int offset, int length) {
    return false;
  }

  @Override
  public boolean limitedByDirectMemory() {
    return true;
  }

  @Override
  public String kind() {
    return "direct";
  }
}
