package io.zswapd.actors.arena;

import io.zswapd.config.OffHeapKind;
import io.zswapd.config.SettingsException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Locale;
import java.util.Optional;

/**
 * Which {@link ChunkMemory} this JVM uses ({@code zswapd.pool.off-heap}), and
 * {@code mlockall} for the daemon.
 *
 * <p>The {@code mmap} kind needs the Foreign Function &amp; Memory API of JDK 22+: its classes
 * ({@code MappedChunks}, {@code Posix}) are compiled for Java 22 from {@code src/main/java22}
 * and loaded here by name, so on JDK 17 nothing links against them and the library stays Java
 * 17 bytecode. {@code auto} takes {@code mmap} wherever it is available (JDK 22+ on Linux x86-64
 * or aarch64, with native access enabled: {@code --enable-native-access=ALL-UNNAMED}, which
 * the daemon's launcher and jar manifest give), else {@code direct}.
 *
 * <pre>{@code
 * ChunkMemory memory = OffHeap.choose(OffHeapKind.AUTO, false);   // "mmap" on JDK 25
 * OffHeap.lockAll();   // Optional.empty() when locked, else why not
 * }</pre>
 */
public final class OffHeap {
  private static final String KEY = "zswapd.pool.off-heap";
  private static final String MAPPED = "io.zswapd.actors.arena.MappedChunks";
  /** Why mmap chunks cannot be used here, or null when they can. */
  private static final String MMAP_UNAVAILABLE = mmapUnavailable();

  private OffHeap() {}

  private static String mmapUnavailable() {
    int feature = Runtime.version().feature();
    if (feature < 22) {
      return "this JVM is Java " + Runtime.version() + "; mmap chunks need JDK 22 or later (the Foreign Function"
          + " & Memory API)";
    }
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "");
    if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"))) {
      return "mmap chunks are built for Linux on x86-64 and aarch64, not " + os + " on " + arch;
    }
    try {
      Class.forName(MAPPED, false, OffHeap.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      return "this build of zswapd has no mmap chunks (src/main/java22 was not compiled: " + e + ")";
    }
    if (!nativeAccessEnabled()) {
      // Without it the JVM warns on stderr at the first downcall (JDK 22-25) or refuses it: an
      // application embedding zswapd chooses, the daemon's jar and bin/zswapd enable it.
      return "native access is not enabled for zswapd's classes (start java with"
          + " --enable-native-access=ALL-UNNAMED, as bin/zswapd and the daemon jar's manifest do)";
    }
    return null;
  }

  /** {@code Module.isNativeAccessEnabled()} (JDK 22+) for the module of these classes. */
  private static boolean nativeAccessEnabled() {
    try {
      Module module = OffHeap.class.getModule();
      return (Boolean) Module.class.getMethod("isNativeAccessEnabled").invoke(module);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return false;
    }
  }

  /** Whether {@code mmap} chunks can be used in this JVM. */
  public static boolean mmapAvailable() {
    return MMAP_UNAVAILABLE == null;
  }

  /** Why {@code mmap} chunks cannot be used in this JVM, or empty when they can. */
  public static Optional<String> whyNoMmap() {
    return Optional.ofNullable(MMAP_UNAVAILABLE);
  }

  /**
   * The chunk memory for {@code kind}.
   *
   * @param checked a released chunk is left to the GC rather than freed at once ({@link Chunk})
   * @throws SettingsException (key {@code zswapd.pool.off-heap}) when {@code mmap} is asked for
   *                           and this JVM cannot give it
   */
  public static ChunkMemory choose(OffHeapKind kind, boolean checked) {
    if (kind == OffHeapKind.DIRECT || (kind == OffHeapKind.AUTO && MMAP_UNAVAILABLE != null)) {
      return new DirectChunks(checked);
    }
    if (MMAP_UNAVAILABLE != null) {
      throw new SettingsException(KEY, KEY + " = mmap cannot be used: " + MMAP_UNAVAILABLE
          + "; allowed here: auto, direct");
    }
    try {
      Constructor<?> c = Class.forName(MAPPED).getDeclaredConstructor(boolean.class);
      return (ChunkMemory) c.newInstance(checked);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("could not make mmap chunks: " + e, e);
    }
  }

  /**
   * Locks every page the process has or will touch in RAM ({@code mlockall(MCL_CURRENT |
   * MCL_FUTURE | MCL_ONFAULT)}), so that the process is never swapped out: a swap daemon would
   * otherwise be swapped onto itself. Returns empty when locked, else one line saying why not
   * (JDK 17; the OS refused, e.g. {@code RLIMIT_MEMLOCK}) and what to do.
   */
  public static Optional<String> lockAll() {
    if (MMAP_UNAVAILABLE != null) {
      return Optional.of("memory not locked: " + MMAP_UNAVAILABLE + "; on JDK 17 the daemon can be kept out of"
          + " swap only from outside (systemd MemorySwapMax=0, or a cgroup with memory.swap.max = 0)");
    }
    String failure;
    try {
      Method lock = Class.forName(MAPPED).getDeclaredMethod("lockAll");
      lock.setAccessible(true);
      failure = (String) lock.invoke(null);
    } catch (InvocationTargetException e) {
      failure = e.getCause().toString();
    } catch (ReflectiveOperationException e) {
      failure = e.toString();
    }
    if (failure == null) {
      return Optional.empty();
    }
    return Optional.of("memory not locked: mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT) failed: " + failure
        + "; the limit on locked memory (RLIMIT_MEMLOCK) is " + memlockLimit() + ": run as root, with"
        + " CAP_IPC_LOCK, or with the limit raised (systemd LimitMEMLOCK=infinity, or ulimit -l unlimited)");
  }

  /** "Max locked memory" from /proc/self/limits, e.g. "8388608 bytes", or "unknown". */
  static String memlockLimit() {
    try {
      for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/limits"))) {
        if (line.startsWith("Max locked memory")) {
          String[] f = line.substring("Max locked memory".length()).trim().split("\\s+");
          return f[0].equals("unlimited") ? "unlimited" : f[0] + " " + (f.length > 2 ? f[2] : "bytes");
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      // not Linux, or /proc not mounted
    }
    return "unknown";
  }
}
