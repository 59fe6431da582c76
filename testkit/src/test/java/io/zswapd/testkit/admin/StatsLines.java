package io.zswapd.testkit.admin;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The figures of {@code zswapd stats} output read back as numbers, keyed {@code pool.NAME} or
 * {@code EXPORT.NAME} (the second column of each figure line), as a script would read them.
 */
public final class StatsLines {
  private StatsLines() {}

  public static Map<String, String> parse(List<String> lines) {
    Map<String, String> figures = new HashMap<>();
    String section = null;
    for (String line : lines) {
      if (line.equals("pool")) {
        section = "pool";
      } else if (line.startsWith("export ")) {
        section = line.substring("export ".length());
      } else if (line.startsWith("  ") && section != null) {
        String[] words = line.trim().split("\\s+");
        if (words.length >= 2) {
          figures.put(section + "." + words[0], words[1]);
        }
      }
    }
    return figures;
  }

  public static long number(Map<String, String> figures, String key) {
    String v = figures.get(key);
    if (v == null) {
      throw new AssertionError("no figure " + key + " in " + figures.keySet());
    }
    return Long.parseLong(v);
  }
}
