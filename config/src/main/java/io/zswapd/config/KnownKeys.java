package io.zswapd.config;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The keys under {@code zswapd} that exist: those the merged {@code reference.conf} files on the
 * class path define (the config module's, and any other module's that adds keys under
 * {@code zswapd}). A key outside them is a mistake, most often a misspelling, and a misspelt key
 * that was ignored would leave its setting at the default without a word, so it stops the start:
 *
 * <pre>
 * zswapd.pool.max-sise: unknown setting; did you mean zswapd.pool.max-size?
 * zswapd.pool.colour: unknown setting; allowed in zswapd.pool: accept-threshold, arena-chunk-size, ...
 * </pre>
 *
 * <p>Objects are checked key by key, at any depth; a value that is a list in the reference
 * ({@code exports}) or a plain value is left to its reader, which checks it (export entries name
 * their own unknown fields). Keys set as JVM system properties ({@code -Dzswapd.x=...}) are not
 * checked: that namespace is shared with the JVM's other properties, such as the test and
 * benchmark switches {@code -Dzswapd.test.seed} and {@code -Dzswapd.bench.rounds}.
 */
final class KnownKeys {
  private static final String ROOT = "zswapd";

  private KnownKeys() {}

  /** Throws a {@link SettingsException} for the first unknown key under {@code zswapd}, in key order. */
  static void check(ConfigObject zswapd) {
    check(zswapd, reference(), List.of(ROOT));
  }

  private static void check(ConfigObject given, ConfigObject known, List<String> path) {
    for (String name : new TreeSet<>(given.keySet())) {
      List<String> key = append(path, name);
      ConfigValue k = known.get(name);
      if (k == null) {
        if (!fromSystemProperties(key)) {
          throw new SettingsException(ConfigUtil.joinPath(key), unknownSetting(key));
        }
      } else if (k instanceof ConfigObject knownObject && given.get(name) instanceof ConfigObject givenObject) {
        check(givenObject, knownObject, key);
      }
    }
  }

  /**
   * {@code key: unknown setting; did you mean K?} with the nearest known key when one is close
   * (few edits in each part, or the same last part elsewhere), else the keys allowed at the
   * deepest level the key reaches.
   */
  static String unknownSetting(List<String> path) {
    String key = ConfigUtil.joinPath(path);
    Optional<List<String>> near = nearest(path);
    if (near.isPresent()) {
      return key + ": unknown setting; did you mean " + ConfigUtil.joinPath(near.get()) + "?";
    }
    ConfigObject level = reference();
    int depth = 1;
    while (depth < path.size() - 1 && level.get(path.get(depth)) instanceof ConfigObject next) {
      level = next;
      depth++;
    }
    return key + ": unknown setting; allowed in " + ConfigUtil.joinPath(path.subList(0, depth)) + ": "
        + String.join(", ", new TreeSet<>(level.keySet()));
  }

  /**
   * A known key with the same number of parts each within a few edits of the given one (the
   * fewest edits in all wins); failing that, one anywhere whose last part is within a few edits
   * of the given last part (a key put in the wrong section).
   */
  private static Optional<List<String>> nearest(List<String> path) {
    List<List<String>> all = new ArrayList<>();
    collect(reference(), List.of(ROOT), all);
    List<String> best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (List<String> candidate : all) {
      if (candidate.size() != path.size()) {
        continue;
      }
      int total = 0;
      for (int i = 0; i < path.size() && total != Integer.MAX_VALUE; i++) {
        int d = distance(path.get(i), candidate.get(i));
        total = d <= allowedEdits(path.get(i)) ? total + d : Integer.MAX_VALUE;
      }
      if (total < bestDistance) {
        best = candidate;
        bestDistance = total;
      }
    }
    if (best != null) {
      return Optional.of(best);
    }
    String last = path.get(path.size() - 1);
    for (List<String> candidate : all) {
      int d = distance(last, candidate.get(candidate.size() - 1));
      if (d <= allowedEdits(last) && d < bestDistance) {
        best = candidate;
        bestDistance = d;
      }
    }
    return Optional.ofNullable(best);
  }

  /** Every key of the reference, objects and values, in key order. */
  private static void collect(ConfigObject object, List<String> path, List<List<String>> out) {
    for (String name : new TreeSet<>(object.keySet())) {
      List<String> key = append(path, name);
      out.add(key);
      if (object.get(name) instanceof ConfigObject child) {
        collect(child, key, out);
      }
    }
  }

  /** How many edits still count as a misspelling: 1 for short words, up to 3 for long ones. */
  private static int allowedEdits(String word) {
    return word.length() <= 4 ? 1 : word.length() <= 8 ? 2 : 3;
  }

  /** Edits (insert, delete, substitute, swap two neighbours) from {@code a} to {@code b}. */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }

  private static boolean fromSystemProperties(List<String> key) {
    try {
      return ConfigFactory.systemProperties().hasPathOrNull(ConfigUtil.joinPath(key));
    } catch (ConfigException e) {
      return false;
    }
  }

  /**
   * The merged reference.conf files as written: {@code ConfigFactory.defaultReference()} has the
   * JVM's system properties laid over them, which would make any {@code -Dzswapd.x} a known key.
   */
  private static ConfigObject reference() {
    return ConfigFactory.defaultReferenceUnresolved(KnownKeys.class.getClassLoader()).getObject(ROOT);
  }

  private static List<String> append(List<String> path, String name) {
    List<String> out = new ArrayList<>(path);
    out.add(name);
    return out;
  }
}
