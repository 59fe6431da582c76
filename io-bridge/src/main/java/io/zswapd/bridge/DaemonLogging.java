package io.zswapd.bridge;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The daemon's logging, set up in code: everything at INFO and above to stderr, one line each,
 * Akka at WARN, and Akka's TCP listener silent (a port in use is reported by the daemon in one
 * line; Akka's own stack trace is noise).
 *
 * <p>Logback finds this class as a service ({@code META-INF/services}) before it looks for an XML
 * file. Reading XML would load Logback's XML configurator and the JDK's XML parser, 523 classes
 * that stay loaded for the daemon's life (a swap daemon keeps its memory small). A file of the
 * operator's own still wins: with {@code -Dlogback.configurationFile=...}, or a
 * {@code logback.xml} or {@code logback-test.xml} on the class path, this configures nothing and
 * Logback reads that file as usual.
 */
public final class DaemonLogging extends ContextAwareBase implements Configurator {
  /** The line format: {@code 2026-12-06 22:39:02.469 INFO  zswapd - zswapd started}. */
  static final String PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level %logger{20} - %msg%n";

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (System.getProperty("logback.configurationFile") != null || onClassPath("logback-test.xml")
        || onClassPath("logback.xml")) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(PATTERN);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(stderr);
    context.getLogger("akka").setLevel(Level.WARN);
    context.getLogger("akka.io.TcpListener").setLevel(Level.OFF);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  private static boolean onClassPath(String resource) {
    ClassLoader loader = DaemonLogging.class.getClassLoader();
    return loader != null && loader.getResource(resource) != null;
  }
}
