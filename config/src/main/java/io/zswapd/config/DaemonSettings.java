package io.zswapd.config;

/**
 * {@code zswapd.daemon}: what only the daemon ({@code zswapd serve}) does to its own process. An
 * engine embedded in an application never reads it: the process is the application's.
 *
 * <pre>{@code
 * if (ZswapdSettings.load().daemon().lockMemory()) OffHeap.lockAll().ifPresent(LOG::warn);
 * }</pre>
 *
 * @param lockMemory keep every page of the daemon in RAM ({@code mlockall}, JDK 22+), so that a
 *                   swap daemon is never swapped out onto itself
 */
public record DaemonSettings(boolean lockMemory) {

  static DaemonSettings read(Section daemon) {
    return new DaemonSettings(daemon.bool("lock-memory", "must be on or off"));
  }
}
