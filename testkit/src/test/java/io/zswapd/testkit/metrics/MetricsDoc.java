package io.zswapd.testkit.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** docs/METRICS.md as the tests read it: the series names it documents, section by section. */
public final class MetricsDoc {
  private static final Path DOCS = Path.of(System.getProperty("basedir", System.getProperty("user.dir")))
      .resolve("../docs").normalize();
  private static final Pattern NAME = Pattern.compile("`(zswapd_[a-z0-9_]+)`");
  private static final Pattern HISTOGRAM_PART = Pattern.compile("_(bucket|count|sum)$");

  private MetricsDoc() {}

  /** docs/METRICS.md. */
  public static String text() throws IOException {
    return Files.readString(DOCS.resolve("METRICS.md"));
  }

  /** The {@code zswapd_*} names {@code text} documents (in backquotes). */
  public static Set<String> documentedNames(String text) {
    Set<String> documented = new TreeSet<>();
    Matcher m = NAME.matcher(text);
    while (m.find()) {
      documented.add(m.group(1));
    }
    return documented;
  }

  /** The part about memory nodes (zswapd.cluster): from its heading line to the NBD server's table. */
  public static String clusterSection(String doc) {
    int from = doc.indexOf("Memory nodes (`zswapd.cluster`");
    assertThat(from).as("METRICS.md's memory-node section").isNotNegative();
    return doc.substring(from, doc.indexOf("NBD server (the daemon)", from));
  }

  /** Scraped names as METRICS.md lists them: a histogram's _bucket, _count and _sum by its base name. */
  public static Set<String> asDocumented(Set<String> scraped, Set<String> documented) {
    Set<String> bases = new TreeSet<>();
    for (String name : scraped) {
      String base = HISTOGRAM_PART.matcher(name).replaceFirst("");
      bases.add(documented.contains(base) ? base : name);
    }
    return bases;
  }
}
