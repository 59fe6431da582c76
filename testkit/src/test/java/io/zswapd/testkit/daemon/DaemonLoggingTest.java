package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real jar's log: set up in code (DaemonLogging), one line per event on stderr in the format
 * OPERATIONS.md shows, with no XML parser loaded for it; an operator's own Logback file, named
 * with {@code -Dlogback.configurationFile}, still replaces it.
 */
class DaemonLoggingTest {
  /** {@code 2026-12-06 22:39:02.469 INFO  zswapd - zswapd started}. */
  private static final String STARTED_LINE =
      "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  zswapd - zswapd started";

  @TempDir
  Path dir;

  @Test
  void theDaemonLogsOneLinePerEventWithoutReadingXml() throws Exception {
    Path config = Daemon.config(dir, Daemon.freePort(), dir.resolve("z.sock"), "");
    try (Daemon d = Daemon.serve(config, List.of("-Xlog:class+load=info:file=" + dir.resolve("classes.log")))) {
      d.awaitReady();
      assertThat(d.stderr()).as(d.output()).anySatisfy(l -> assertThat(l).matches(STARTED_LINE));
      assertThat(Files.readAllLines(dir.resolve("classes.log")))
          .as("classes loaded for the daemon's logging: neither Logback's XML configurator nor the JDK's XML parser")
          .noneMatch(l -> l.contains("ch.qos.logback.classic.joran.JoranConfigurator")
              || l.contains("com.sun.org.apache.xerces"));
    }
  }

  @Test
  void anOperatorsLogbackFileReplacesTheDaemonsSetUp() throws IOException {
    Path logback = Files.writeString(dir.resolve("mine.xml"), """
        <configuration>
          <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
            <target>System.err</target>
            <encoder><pattern>MINE %level %msg%n</pattern></encoder>
          </appender>
          <root level="INFO"><appender-ref ref="OUT"/></root>
        </configuration>
        """);
    Path config = Daemon.config(dir, Daemon.freePort(), dir.resolve("z.sock"), "");
    try (Daemon d = Daemon.serve(config, List.of("-Dlogback.configurationFile=" + logback))) {
      d.awaitReady();
      assertThat(d.stderr()).as(d.output())
          .contains("MINE INFO zswapd started")
          .noneMatch(l -> l.matches(STARTED_LINE));
    }
  }
}
