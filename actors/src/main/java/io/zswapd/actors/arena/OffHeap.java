package io.zswapd.actors.arena;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Allocation and deterministic release of direct memory.
 *
 * <p>A direct {@link ByteBuffer} is normally freed when the garbage collector notices it is
 * unreachable, which may be never for a long-lived old-generation object: a swap engine would
 * then keep memory the OS asked for long after its pages were freed. So a chunk whose pages
 * are all free is released at once through the buffer's cleaner ({@code Unsafe.invokeCleaner},
 * in {@code jdk.unsupported}, present on JDK 17 through 25). The caller must make sure nothing
 * touches the buffer afterwards: {@link Chunk} is the only holder and turns any later access
 * into an exception.
 */
public final class OffHeap {
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

  private OffHeap() {}


  static ByteBuffer allocate(int bytes) {
    return ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  static void free(ByteBuffer buffer) {
    try {
      INVOKE_CLEANER.invoke(UNSAFE, buffer);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("could not release an off-heap chunk: " + e, e);
    }
  }
}
