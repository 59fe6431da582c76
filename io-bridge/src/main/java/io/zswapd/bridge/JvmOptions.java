package io.zswapd.bridge;

import io.zswapd.actors.arena.ChunkMemory;
import io.zswapd.actors.arena.DirectMemoryBudget;
import io.zswapd.actors.arena.OffHeap;
import io.zswapd.bridge.nbd.NbdServer;
import io.zswapd.config.ClusterSettings;
import io.zswapd.config.ExportSettings;
import io.zswapd.config.ZswapdSettings;
import java.util.ArrayList;
import java.util.List;

/**
 * The JVM flags and environment the launcher ({@code bin/zswapd}) starts the daemon with, worked
 * out from the configuration by the same JVM that will run it ({@code zswapd jvm-options}), the
 * way Elasticsearch's launcher asks a small Java tool for its JVM options.
 *
 * <pre>
 *   heap (-Xms = -Xmx, touched up front) = 32 MiB base
 *                                        + 16 B x the pages of every export (the tree entry,
 *                                          handle slot and share of class tables: 14 B measured)
 *                                        + nbd.buffer-memory (requests and replies in flight)
 *                                        + nbd.max-connections x 16 KiB (64 KiB with TLS): what
 *                                          an open connection holds besides its buffers
 *   -XX:MaxDirectMemorySize              = 64 MiB with mmap chunks (the JDK's own I/O buffers);
 *                                          with direct chunks, what DirectMemoryBudget requires
 *   -XX:+UseSerialGC                       one GC thread, no concurrent GC's memory
 *   -XX:+ExitOnOutOfMemoryError            a JVM out of heap exits (for systemd to restart it)
 * </pre>
 *
 * <p>A fixed, pre-touched heap means the daemon asks the kernel for no heap page while the
 * machine swaps to it; with {@code daemon.lock-memory} those pages are also locked.
 * {@code MALLOC_ARENA_MAX=2} keeps glibc from one arena per thread; with direct chunks
 * {@code MALLOC_MMAP_THRESHOLD_} makes freed chunks go back to the OS (docs/OPERATIONS.md).
 *
 * <p>Printed one per line: {@code ENV NAME=VALUE} for the environment, then the flags.
 */
final class JvmOptions {
  /** Heap of an idle daemon (8 MiB live after a GC) and room for the young generation. */
  static final long HEAP_BASE = NbdServer.HEAP_BESIDE_BUFFERS;
  /** Heap per page of an export, full: 14 B measured (docs/BENCHMARKS.md), rounded up. */
  static final long HEAP_PER_PAGE = 16;
  /** Pages a memory node may hold per page of its pool: compressed 4 to 1. */
  static final long HOSTED_PAGES_PER_POOL_PAGE = 4;
  /** Direct memory the JDK's own socket and file I/O takes when chunks are mmap'ed. */
  static final long JDK_DIRECT = 64L << 20;

  private JvmOptions() {}

  /** The heap the daemon is started with for {@code settings}, in bytes (a whole MiB). */
  static long heapBytes(ZswapdSettings settings) {
    long pages = 0;
    for (ExportSettings e : settings.exports()) {
      pages += e.pages();
    }
    if (settings.cluster().role() == ClusterSettings.Role.MEMORY) {
      // the entries of other nodes' pages it holds: a full pool of pages compressed 4 to 1
      pages += HOSTED_PAGES_PER_POOL_PAGE * (settings.pool().maxSizeBytes() / ZswapdSettings.PAGE_SIZE);
    }
    long bytes = HEAP_BASE + HEAP_PER_PAGE * pages + settings.nbd().bufferBytes()
        + NbdServer.connectionsHeapBytes(settings.nbd());
    return (bytes + (1 << 20) - 1) >> 20 << 20;
  }

  /** The lines {@code zswapd jvm-options} prints for this JVM. */
  static List<String> lines(ZswapdSettings settings) {
    List<String> out = new ArrayList<>();
    ChunkMemory memory = OffHeap.choose(settings.pool().offHeap(), false);
    out.add("ENV MALLOC_ARENA_MAX=2");
    if (memory.limitedByDirectMemory()) {
      out.add("ENV MALLOC_MMAP_THRESHOLD_=131072");
    }
    long heapMib = heapBytes(settings) >> 20;
    out.add("-Xms" + heapMib + "m");
    out.add("-Xmx" + heapMib + "m");
    out.add("-XX:+AlwaysPreTouch");
    out.add("-XX:+UseSerialGC");
    out.add("-XX:+ExitOnOutOfMemoryError"); // exit for systemd to restart rather than linger half-alive
    long direct = memory.limitedByDirectMemory()
        ? DirectMemoryBudget.required(settings.pool().maxSizeBytes()) : JDK_DIRECT;
    out.add("-XX:MaxDirectMemorySize=" + ((direct + (1 << 20) - 1) >> 20) + "m");
    int feature = Runtime.version().feature();
    if (feature >= 22) {
      out.add("--enable-native-access=ALL-UNNAMED"); // mmap, madvise, mlockall
    }
    if (feature >= 23) {
      out.add("--sun-misc-unsafe-memory-access=allow"); // Akka 2.6 and lz4-java use sun.misc.Unsafe
    }
    return out;
  }
}
