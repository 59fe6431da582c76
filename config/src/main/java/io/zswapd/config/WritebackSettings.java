package io.zswapd.config;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code zswapd.pool.writeback}: when compressed pages leave RAM for an export's backing file
 * (see reference.conf for each setting and its kernel analogue).
 *
 * <pre>{@code
 * WritebackSettings wb = ZswapdSettings.load().pool().writeback();
 * wb.idleAfter().ifPresent(age -> scheduleIdleScan(age));
 * Duration patience = wb.reclaimTimeout();   // 10 s by default
 * }</pre>
 *
 * @param idleAfter      pages untouched this long are written back in the background (zram's
 *                       idle writeback), 1 s..30 d; empty when "off"
 * @param reclaimTimeout how long a store may wait for writeback to make room in a full pool
 *                       before it is refused, 100 ms..5 min
 */
public record WritebackSettings(Optional<Duration> idleAfter, Duration reclaimTimeout) {

  private static final Duration MIN_IDLE = Duration.ofSeconds(1);
  private static final Duration MAX_IDLE = Duration.ofDays(30);
  private static final Duration MIN_RECLAIM = Duration.ofMillis(100);
  private static final Duration MAX_RECLAIM = Duration.ofMinutes(5);

  public WritebackSettings {
    Objects.requireNonNull(idleAfter, "idleAfter");
    Objects.requireNonNull(reclaimTimeout, "reclaimTimeout");
  }

  static WritebackSettings read(Section writeback) {
    return new WritebackSettings(idleAfter(writeback), reclaimTimeout(writeback));
  }

  static Optional<Duration> idleAfter(Section writeback) {
    String name = "idle-after";
    String rule = "must be \"off\" or a duration from 1s to 30d";
    if (writeback.isOff(name)) {
      return Optional.empty();
    }
    Duration idle = writeback.duration(name, rule);
    if (idle.compareTo(MIN_IDLE) < 0 || idle.compareTo(MAX_IDLE) > 0) {
      throw writeback.invalid(name, rule);
    }
    return Optional.of(idle);
  }

  static Duration reclaimTimeout(Section writeback) {
    String name = "reclaim-timeout";
    String rule = "must be a duration from 100ms to 5m";
    Duration timeout = writeback.duration(name, rule);
    if (timeout.compareTo(MIN_RECLAIM) < 0 || timeout.compareTo(MAX_RECLAIM) > 0) {
      throw writeback.invalid(name, rule);
    }
    return timeout;
  }
}
