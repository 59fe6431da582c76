package io.zswapd.actors.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import kamon.Kamon;
import kamon.module.Module;
import kamon.prometheus.PrometheusReporter;

/**
 * The Prometheus scrape endpoint: {@code GET /metrics} on the address of
 * {@code zswapd.metrics.prometheus}, answering with the text Kamon's {@link PrometheusReporter}
 * prepares from every Kamon instrument in the JVM (zswapd's and the application's own).
 *
 * <p>Why not the reporter's own embedded server: it is configured JVM-wide under
 * {@code kamon.prometheus} (default {@code 0.0.0.0:9095}), so it would listen on every interface
 * and could not follow zswapd's setting, and it cannot report the port it got for port 0. Here the
 * reporter is registered as one more Kamon module, reading its settings from
 * {@code zswapd-kamon-prometheus} (never starting a server of its own), and a JDK
 * {@link HttpServer} bound exactly where the setting says serves its scrape data.
 *
 * <p>Kamon hands reporters a snapshot every {@code kamon.metric.tick-interval} (60 s by
 * default); the endpoint sets that to {@code zswapd.metrics.tick-interval}, which is JVM-wide.
 */
public final class PrometheusEndpoint {
  /** The reporter's settings: kamon.prometheus's, with finer buckets and no server of its own. */
  static final String REPORTER_CONFIG = "zswapd-kamon-prometheus";

  private final HttpServer server;
  private final Duration tickInterval;
  /** Set by {@link #serve()}; null while only bound. */
  private volatile Module.Registration registration;
  /** Stopping twice (coordinated shutdown, then termination) must be harmless. */
  private final AtomicBoolean stopped = new AtomicBoolean();

  private PrometheusEndpoint(HttpServer server, Duration tickInterval) {
    this.server = server;
    this.tickInterval = tickInterval;
  }

  /**
   * Binds {@code address} and nothing else: no thread, no Kamon module. The engine binds first,
   * so that an address in use stops its start before it has opened anything, and serves last
   * ({@link #serve()}), once nothing else can fail; {@link #stop()} releases the port either way.
   *
   * @throws IllegalStateException naming the address when it cannot be bound (in use, not local)
   */
  public static PrometheusEndpoint bind(InetSocketAddress address, Duration tickInterval) {
    try {
      return new PrometheusEndpoint(HttpServer.create(address, 16), tickInterval);
    } catch (IOException e) {
      throw new IllegalStateException("cannot serve metrics on " + address.getHostString() + ":" + address.getPort()
          + " (zswapd.metrics.prometheus): " + e.getMessage(), e);
    }
  }

  /** Starts serving {@code /metrics} on the bound address: Kamon's tick and ticker, the reporter, the server's thread. */
  public void serve() {
    alignKamonTick(tickInterval);
    startKamonTicker();
    PrometheusReporter reporter = new PrometheusReporter(REPORTER_CONFIG, Kamon.config());
    InetSocketAddress bound = server.getAddress();
    registration = Kamon.addReporter("zswapd-prometheus-" + bound.getHostString() + ":" + bound.getPort(), reporter);
    server.createContext("/metrics", exchange -> answer(exchange, reporter));
    server.setExecutor(null); // the server's own thread: a scrape is a string copy
    server.start();
  }

  /** Where it listens (the real port when the setting said port 0). */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** Stops listening and unregisters the reporter; later calls do nothing. */
  public void stop() {
    if (stopped.compareAndSet(false, true)) {
      if (registration != null) {
        registration.cancel();
      } else {
        // Bound, never served: the JDK server closes its socket from its dispatcher thread
        // (a channel registered with a selector is closed at the next select), so run that
        // thread for the stop; stop(0) joins it.
        server.start();
      }
      server.stop(0);
    }
  }

  private static void answer(HttpExchange exchange, PrometheusReporter reporter) throws IOException {
    try (exchange) {
      if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      byte[] body = reporter.scrapeData().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      boolean head = exchange.getRequestMethod().equals("HEAD");
      exchange.sendResponseHeaders(200, head ? -1 : body.length);
      if (!head) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
    }
  }

  /**
   * Kamon hands snapshots to reporters only once its module registry has been started, which
   * {@code Kamon.init()} does. zswapd never calls {@code Kamon.init()}: that would also load
   * every module named in {@code kamon.modules} (Kamon's own Prometheus reporter, on
   * 0.0.0.0:9095) and try to attach the instrumentation agent. It starts just the registry's
   * ticker, and only when no one has (an application that runs Kamon itself has).
   */
  private static void startKamonTicker() {
    boolean running = Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.isAlive() && t.getName().startsWith("kamon-ticker"));
    if (!running) {
      kamon.Kamon$.MODULE$.moduleRegistry().init(); // Scala-private in spirit, public in bytecode
    }
  }

  /** Kamon snapshots its instruments for reporters once a tick; make that tick ours. */
  private static void alignKamonTick(Duration tick) {
    Config current = Kamon.config();
    if (!current.getDuration("kamon.metric.tick-interval").equals(tick)) {
      Kamon.reconfigure(ConfigFactory.parseString("kamon.metric.tick-interval = " + tick.toMillis() + "ms")
          .withFallback(current));
    }
  }
}
