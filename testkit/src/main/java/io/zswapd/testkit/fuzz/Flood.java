package io.zswapd.testkit.fuzz;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The ways one local client can try to exhaust the daemon (issue 15, point 1), as episodes the
 * fuzzer picks among the ones it is given. Each runs on one fuzzer client for a while (its
 * {@code --flood-hold}), then drops its connections; meanwhile the other clients and the probe
 * go on, so the run shows whether everyone else is still served and the memory stays bounded.
 */
public enum Flood {
  /** Pipelined READs of the largest payload whose replies are never read. */
  UNREAD_READS("unread-reads"),
  /** {@code NBD_OPT_LIST} again and again before {@code GO}, replies never read. */
  OPTION_LIST("option-list"),
  /** Pipelined {@code WRITE_ZEROES} and {@code TRIM} of about 4 GiB each (28 bytes sent per request). */
  HUGE_ZEROES("huge-zeroes"),
  /** Connections left idle: after the greeting, after the client flags, and attached to an export. */
  IDLE("idle"),
  /** Many connections at once, each attached and idle until the flood ends. */
  MANY_CONNECTIONS("many-connections");

  private final String cliName;

  Flood(String cliName) {
    this.cliName = cliName;
  }

  /** The name on the fuzzer's command line ({@code --floods idle,many-connections}). */
  public String cliName() {
    return cliName;
  }

  /** {@code all}, {@code none}, or names separated by commas. */
  public static Set<Flood> parse(String list) {
    String s = list.strip().toLowerCase(Locale.ROOT);
    if (s.equals("all")) {
      return EnumSet.allOf(Flood.class);
    }
    Set<Flood> floods = EnumSet.noneOf(Flood.class);
    if (s.isEmpty() || s.equals("none")) {
      return floods;
    }
    for (String name : s.split(",")) {
      floods.add(Arrays.stream(values()).filter(f -> f.cliName.equals(name.strip())).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("unknown flood '" + name.strip() + "'; floods: "
              + names(EnumSet.allOf(Flood.class)) + ", all, none")));
    }
    return floods;
  }

  /** The names, comma-separated, as {@link #parse} takes them. */
  public static String names(Set<Flood> floods) {
    return floods.isEmpty() ? "none" : floods.stream().map(Flood::cliName).collect(Collectors.joining(","));
  }
}
