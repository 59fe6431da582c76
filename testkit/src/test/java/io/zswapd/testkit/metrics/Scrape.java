package io.zswapd.testkit.metrics;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeSet;

/**
 * One scrape of a Prometheus text endpoint, parsed into samples.
 *
 * <pre>{@code
 * Scrape s = Scrape.of(zswapd.metricsAddress().orElseThrow());
 * double stored = s.value("zswapd_stored_pages", Map.of("export", "swap0")).orElseThrow();
 * }</pre>
 */
public final class Scrape {
  /** One line {@code name{k="v",...} value}. */
  record Sample(String name, Map<String, String> labels, double value) {}

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final String text;
  private final List<Sample> samples;

  Scrape(String text) {
    this.text = text;
    this.samples = parse(text);
  }

  /**
   * GET http://HOST:PORT/metrics; fails unless the answer is 200. Failures are
   * {@link AssertionError}s, so an Awaitility {@code untilAsserted} retries them.
   */
  public static Scrape of(InetSocketAddress at) {
    HttpResponse<String> r = get(at, "/metrics");
    if (r.statusCode() != 200) {
      throw new AssertionError("GET /metrics answered " + r.statusCode() + ": " + r.body());
    }
    return new Scrape(r.body());
  }

  public static HttpResponse<String> get(InetSocketAddress at, String path) {
    HttpRequest request = HttpRequest.newBuilder(
        URI.create("http://" + at.getHostString() + ":" + at.getPort() + path)).timeout(Duration.ofSeconds(10)).build();
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AssertionError("GET " + path + " on " + at + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  String text() {
    return text;
  }

  List<Sample> samples() {
    return samples;
  }

  /** Every sample name in the scrape. */
  public Set<String> names() {
    Set<String> names = new TreeSet<>();
    samples.forEach(s -> names.add(s.name()));
    return names;
  }

  /** The value of the one sample named {@code name} whose labels include {@code labels}. */
  public OptionalDouble value(String name, Map<String, String> labels) {
    List<Sample> found = samples.stream()
        .filter(s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet())).toList();
    if (found.size() > 1) {
      throw new IllegalStateException(found.size() + " samples " + name + labels + ": " + found);
    }
    return found.isEmpty() ? OptionalDouble.empty() : OptionalDouble.of(found.get(0).value());
  }

  /** The sum of every sample named {@code name} whose labels include {@code labels} (0 when none). */
  public double sum(String name, Map<String, String> labels) {
    return samples.stream().filter(s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet()))
        .mapToDouble(Sample::value).sum();
  }

  /** {@link #value} as a long; fails when there is no such sample. */
  public long longValue(String name, Map<String, String> labels) {
    double v = value(name, labels).orElseThrow(() -> new AssertionError("no sample " + name + labels
        + " in a scrape of " + samples.size() + " samples:\n" + text));
    return Math.round(v);
  }

  private static List<Sample> parse(String text) {
    List<Sample> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.lastIndexOf(' ');
      Map<String, String> labels = new LinkedHashMap<>();
      String name;
      if (brace >= 0 && brace < space) {
        name = line.substring(0, brace);
        String body = line.substring(brace + 1, line.lastIndexOf('}'));
        int i = 0;
        while (i < body.length()) {
          int eq = body.indexOf('=', i);
          int open = body.indexOf('"', eq);
          int close = body.indexOf('"', open + 1);
          labels.put(body.substring(i, eq), body.substring(open + 1, close));
          i = close + 1;
          if (i < body.length() && body.charAt(i) == ',') {
            i++;
          }
        }
      } else {
        name = line.substring(0, space);
      }
      out.add(new Sample(name, Map.copyOf(labels), Double.parseDouble(line.substring(space + 1))));
    }
    return out;
  }
}
