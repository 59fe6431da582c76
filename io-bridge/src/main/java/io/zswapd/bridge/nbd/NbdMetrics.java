package io.zswapd.bridge.nbd;

import io.zswapd.actors.metrics.MetricNames;
import io.zswapd.protocol.nbd.Nbd;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Gauge;
import kamon.metric.Instrument;
import kamon.metric.MeasurementUnit;
import kamon.tag.TagSet;

/**
 * The NBD server's figures per export, as Kamon instruments: requests by command, payload bytes
 * by direction, error replies by code, and open connections.
 *
 * <p>Connection stages record on every request, so every instrument is resolved (name and
 * tags) here, once, when the server starts; a stage then only increments a ready counter, which
 * neither allocates nor blocks. The map is immutable after construction.
 *
 * <pre>
 *   zswapd_nbd_requests_total{engine, export, command}   read, write, disc, flush, trim, cache,
 *                                                        write_zeroes, block_status, other
 *   zswapd_nbd_bytes_total{engine, export, direction}    read (sent), write (received), on success
 *   zswapd_nbd_errors_total{engine, export, code}        EPERM, EIO, ENOMEM, EINVAL, ENOSPC,
 *                                                        EOVERFLOW, ENOTSUP, ESHUTDOWN, other
 *   zswapd_nbd_connections{engine, export}               connections in transmission on the export
 *   zswapd_nbd_buffer_bytes{engine}                      buffer-memory granted to connections
 *   zswapd_nbd_connections_refused_total{engine}         connections closed at max-connections
 *   zswapd_nbd_connections_closed_total{engine, reason}  handshake_timeout, send_timeout, idle_timeout
 * </pre>
 */
final class NbdMetrics {
  static final String REQUESTS = "zswapd_nbd_requests";
  static final String BYTES = "zswapd_nbd";
  static final String ERRORS = "zswapd_nbd_errors";
  static final String CONNECTIONS = "zswapd_nbd_connections";
  static final String BUFFER = "zswapd_nbd_buffer";
  static final String REFUSED = "zswapd_nbd_connections_refused";
  static final String CLOSED = "zswapd_nbd_connections_closed";

  /** Why the server closed a connection on its own; the {@code reason} label. */
  enum Closed {
    HANDSHAKE_TIMEOUT, SEND_TIMEOUT, IDLE_TIMEOUT;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** Command label by NBD command type; types past the table are "other". */
  private static final String[] COMMANDS = {"read", "write", "disc", "flush", "trim", "cache", "write_zeroes",
      "block_status", "other"};
  private static final int[] ERROR_CODES = {Nbd.EPERM, Nbd.EIO, Nbd.ENOMEM, Nbd.EINVAL, Nbd.ENOSPC, Nbd.EOVERFLOW,
      Nbd.ENOTSUP, Nbd.ESHUTDOWN};

  /** One export's instruments. */
  static final class ExportInstruments {
    private final Counter[] requests = new Counter[COMMANDS.length];
    private final Counter[] errors = new Counter[ERROR_CODES.length + 1];
    private final Counter bytesRead;
    private final Counter bytesWritten;
    private final Gauge connections;

    private ExportInstruments(TagSet tags) {
      for (int i = 0; i < COMMANDS.length; i++) {
        requests[i] = Kamon.counter(REQUESTS, "NBD requests received, by command").withTags(
            tags.withTag("command", COMMANDS[i]));
      }
      for (int i = 0; i <= ERROR_CODES.length; i++) {
        String code = i < ERROR_CODES.length ? Nbd.errorName(ERROR_CODES[i]).substring("NBD_".length()) : "other";
        errors[i] = Kamon.counter(ERRORS, "NBD error replies, by error code").withTags(tags.withTag("code", code));
      }
      MeasurementUnit bytes = MeasurementUnit.information().bytes();
      bytesRead = Kamon.counter(BYTES, "NBD payload bytes, by direction", bytes).withTags(
          tags.withTag("direction", "read"));
      bytesWritten = Kamon.counter(BYTES, "NBD payload bytes, by direction", bytes).withTags(
          tags.withTag("direction", "write"));
      connections = Kamon.gauge(CONNECTIONS, "NBD connections in transmission").withTags(tags);
    }

    void request(int command) {
      requests[command >= 0 && command < COMMANDS.length - 1 ? command : COMMANDS.length - 1].increment();
    }

    void error(int code) {
      int i = 0;
      while (i < ERROR_CODES.length && ERROR_CODES[i] != code) {
        i++;
      }
      errors[i].increment();
    }

    void bytesRead(long n) {
      bytesRead.increment(n);
    }

    void bytesWritten(long n) {
      bytesWritten.increment(n);
    }

    void connected() {
      connections.increment();
    }

    void disconnected() {
      connections.decrement();
    }

    private List<Instrument<?, ?>> all() {
      List<Instrument<?, ?>> all = new ArrayList<>(List.of(requests));
      all.addAll(List.of(errors));
      all.addAll(List.of(bytesRead, bytesWritten, connections));
      return all;
    }
  }

  private final Map<String, ExportInstruments> byExport;
  private final Gauge buffer;
  private final Counter refused;
  private final Counter[] closed = new Counter[Closed.values().length];

  private NbdMetrics(Map<String, ExportInstruments> byExport, TagSet server) {
    this.byExport = Map.copyOf(byExport);
    this.buffer = Kamon.gauge(BUFFER, "NBD buffer-memory granted to connections",
        MeasurementUnit.information().bytes()).withTags(server);
    this.refused = Kamon.counter(REFUSED, "NBD connections closed at once: max-connections were served")
        .withTags(server);
    for (Closed c : Closed.values()) {
      closed[c.ordinal()] = Kamon.counter(CLOSED, "NBD connections the server closed, by reason")
          .withTags(server.withTag("reason", c.label()));
    }
  }

  static NbdMetrics of(String engine, Iterable<String> exports) {
    Map<String, ExportInstruments> m = new HashMap<>();
    for (String export : exports) {
      m.put(export, new ExportInstruments(TagSet.of(MetricNames.ENGINE, engine).withTag(MetricNames.EXPORT, export)));
    }
    return new NbdMetrics(m, TagSet.of(MetricNames.ENGINE, engine));
  }

  /** The bytes of buffer-memory granted to connections now (set by {@link Connections}, its owner). */
  void bufferInUse(long bytes) {
    buffer.update(bytes);
  }

  void refused() {
    refused.increment();
  }

  void closed(Closed reason) {
    closed[reason.ordinal()].increment();
  }

  /** The export's instruments, or null for a name the server does not serve. */
  ExportInstruments export(String name) {
    return byExport.get(name);
  }

  /** Removes every instrument from Kamon (the server stopped). */
  void close() {
    byExport.values().forEach(e -> e.all().forEach(Instrument::remove));
    buffer.remove();
    refused.remove();
    for (Counter c : closed) {
      c.remove();
    }
  }
}
