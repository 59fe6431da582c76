package io.zswapd.testkit.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A full pool refusing page after page gives warning lines from the metrics tick, at most one
 * per tick, naming the counts; never one line per refused page.
 */
class LimitWarningLogTest {
  private static final long TICK_MS = 300;

  @Test
  void refusedStoresGiveAtMostOneWarningPerTickNotOnePerPage() {
    Logger limits = (Logger) LoggerFactory.getLogger("io.zswapd.limits");
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    limits.addAppender(lines);
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 1 MiB\n"
        + "zswapd.metrics.tick-interval = " + TICK_MS + "ms\n")) {
      PageGenerator gen = new PageGenerator(17);
      long started = System.nanoTime();
      int refused = 0;
      for (int i = 0; i < 600; i++) {
        try {
          EngineFixture.await(engine.zswapd().store("swap0", i, gen.page(i, PageGenerator.Kind.RANDOM)));
        } catch (ZswapdException e) {
          refused++;
        }
      }
      assertThat(refused).as("a 1 MiB pool refuses most of 600 raw pages").isGreaterThan(300);
      await().atMost(Duration.ofSeconds(10)).until(() -> !snapshot(lines).isEmpty());
      long elapsedMs = (System.nanoTime() - started) / 1_000_000 + TICK_MS;
      List<ILoggingEvent> warnings = snapshot(lines);
      assertThat(warnings).allSatisfy(e -> {
        assertThat(e.getLevel()).isEqualTo(Level.WARN);
        assertThat(e.getFormattedMessage()).contains("stores refused: pool full (reject_alloc_fail)")
            .contains("pool limit hit");
      });
      // +2: the first tick, and one that may land between the clock reading and the snapshot
      assertThat(warnings.size()).as("at most one line per tick").isLessThanOrEqualTo((int) (elapsedMs / TICK_MS) + 2)
          .isLessThan(refused);
      long reported = warnings.stream().mapToLong(e -> leadingCount(e.getFormattedMessage())).sum();
      assertThat(reported).as("the lines add up to the stores refused so far").isLessThanOrEqualTo(refused);
    } finally {
      limits.detachAppender(lines);
    }
  }

  private static List<ILoggingEvent> snapshot(ListAppender<ILoggingEvent> a) {
    synchronized (a.list) {
      return List.copyOf(a.list);
    }
  }

  /** N of "...; N stores refused: pool full..." */
  private static long leadingCount(String line) {
    String before = line.substring(0, line.indexOf(" stores refused: pool full"));
    return Long.parseLong(before.substring(before.lastIndexOf(' ') + 1));
  }
}
