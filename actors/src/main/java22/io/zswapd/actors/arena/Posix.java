package io.zswapd.actors.arena;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls zswapd makes itself, through the Foreign Function &amp; Memory API (JDK 22+):
 * {@code mmap}, {@code munmap}, {@code madvise} and {@code mlockall}, each with {@code errno}
 * captured. Compiled for Java 22 (src/main/java22) and loaded only by {@link OffHeap} when the
 * running JDK has the API; on JDK 17 this class is never touched.
 *
 * <p>The constants are Linux's generic ones, the same on x86-64 and aarch64, the two
 * architectures {@link OffHeap} allows this class on.
 */
final class Posix {
  static final int PROT_READ = 0x1;
  static final int PROT_WRITE = 0x2;
  static final int MAP_PRIVATE = 0x02;
  static final int MAP_ANONYMOUS = 0x20;
  static final int MAP_NORESERVE = 0x4000;
  static final int MADV_DONTNEED = 4;
  /** Linux 5.18+: as MADV_DONTNEED, also on locked pages. */
  static final int MADV_DONTNEED_LOCKED = 24;
  static final int MCL_CURRENT = 1;
  static final int MCL_FUTURE = 2;
  /** Linux 4.4+: lock pages when they are first touched, not all at once. */
  static final int MCL_ONFAULT = 4;
  static final int EINVAL = 22;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final MethodHandle MMAP = withErrno("mmap",
      FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
  private static final MethodHandle MUNMAP = withErrno("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
  private static final MethodHandle MADVISE =
      withErrno("madvise", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
  private static final MethodHandle MLOCKALL = withErrno("mlockall", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  private static final MethodHandle STRERROR = LINKER.downcallHandle(
      LINKER.defaultLookup().find("strerror").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_INT));

  private Posix() {}

  private static MethodHandle withErrno(String name, FunctionDescriptor descriptor) {
    MemorySegment symbol = LINKER.defaultLookup().find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    return LINKER.downcallHandle(symbol, descriptor, Linker.Option.captureCallState("errno"));
  }

  /** What a call returned, and errno when it failed. */
  record Result(long value, int errno) {
    boolean failed() {
      return value == -1;
    }
  }

  /** An anonymous private read-write mapping of {@code bytes}, or the errno of the refusal. */
  static Result mmapAnonymous(long bytes) {
    try (Arena call = Arena.ofConfined()) {
      MemorySegment state = call.allocate(CALL_STATE);
      MemorySegment address = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, bytes,
          PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
      return new Result(address.address(), (int) ERRNO.get(state, 0L));
    } catch (Throwable t) {
      throw new IllegalStateException("mmap call failed: " + t, t);
    }
  }

  static Result munmap(long address, long bytes) {
    try (Arena call = Arena.ofConfined()) {
      MemorySegment state = call.allocate(CALL_STATE);
      int rc = (int) MUNMAP.invokeExact(state, MemorySegment.ofAddress(address), bytes);
      return new Result(rc, (int) ERRNO.get(state, 0L));
    } catch (Throwable t) {
      throw new IllegalStateException("munmap call failed: " + t, t);
    }
  }

  static Result madvise(long address, long bytes, int advice) {
    try (Arena call = Arena.ofConfined()) {
      MemorySegment state = call.allocate(CALL_STATE);
      int rc = (int) MADVISE.invokeExact(state, MemorySegment.ofAddress(address), bytes, advice);
      return new Result(rc, (int) ERRNO.get(state, 0L));
    } catch (Throwable t) {
      throw new IllegalStateException("madvise call failed: " + t, t);
    }
  }

  static Result mlockall(int flags) {
    try (Arena call = Arena.ofConfined()) {
      MemorySegment state = call.allocate(CALL_STATE);
      int rc = (int) MLOCKALL.invokeExact(state, flags);
      return new Result(rc, (int) ERRNO.get(state, 0L));
    } catch (Throwable t) {
      throw new IllegalStateException("mlockall call failed: " + t, t);
    }
  }

  /** The C library's text for an errno, e.g. "Cannot allocate memory". */
  static String strerror(int errno) {
    try {
      MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
      return text.reinterpret(256).getString(0);
    } catch (Throwable t) {
      return "errno " + errno;
    }
  }
}
