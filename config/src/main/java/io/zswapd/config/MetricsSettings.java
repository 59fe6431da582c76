package io.zswapd.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code zswapd.metrics}: the Prometheus endpoint and how often pool figures are sampled.
 *
 * <pre>{@code
 * MetricsSettings metrics = ZswapdSettings.load().metrics();
 * metrics.prometheus().ifPresent(address -> startExporter(address));
 * }</pre>
 *
 * @param prometheus   HTTP listen address of the scrape endpoint; empty when "off"
 * @param tickInterval sampling period of the gauges, 100 ms..1 h
 */
public record MetricsSettings(Optional<InetSocketAddress> prometheus, Duration tickInterval) {

  private static final Duration MIN_TICK = Duration.ofMillis(100);
  private static final Duration MAX_TICK = Duration.ofHours(1);

  public MetricsSettings {
    Objects.requireNonNull(prometheus, "prometheus");
    Objects.requireNonNull(tickInterval, "tickInterval");
  }

  static MetricsSettings read(Section metrics) {
    String rule = "must be a duration from 100ms to 1h";
    Duration tick = metrics.duration("tick-interval", rule);
    if (tick.compareTo(MIN_TICK) < 0 || tick.compareTo(MAX_TICK) > 0) {
      throw metrics.invalid("tick-interval", rule);
    }
    return new MetricsSettings(metrics.listenAddress("prometheus"), tick);
  }
}
