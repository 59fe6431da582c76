package io.zswapd.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One HOCON object ({@code zswapd.pool}, {@code zswapd.exports[1]}, ...) read field by field.
 *
 * <p>Every read knows the full key of the field and the rule it must meet, so any failure, including
 * typesafe's own type errors, becomes one {@link SettingsException} line of the form {@code key =
 * value: reason}. The key is built here rather than taken from typesafe because typesafe cannot name
 * list elements ({@code exports[1]}) and prefixes its messages with origins users do not need.
 */
final class Section {
  private static final Pattern PERCENT = Pattern.compile("\\s*([+-]?[0-9]+(?:\\.[0-9]+)?)\\s*%\\s*");
  private static final ConfigRenderOptions ONE_LINE = ConfigRenderOptions.concise();

  private final String key;
  private final ConfigObject object;

  Section(String key, ConfigObject object) {
    this.key = key;
    this.object = object;
  }

  /** The object at {@code path} of a whole configuration, e.g. {@code of(config, "zswapd")}. */
  static Section of(Config config, String path) {
    try {
      return new Section(path, config.getObject(path));
    } catch (ConfigException e) {
      throw new SettingsException(path, path + ": must be an object { ... }", e);
    }
  }

  String key(String name) {
    return key + "." + name;
  }

  ConfigObject object() {
    return object;
  }

  /** Whether the field is present with a non-null value. */
  boolean has(String name) {
    ConfigValue v = object.get(name);
    return v != null && v.valueType() != ConfigValueType.NULL;
  }

  Section section(String name) {
    ConfigValue v = required(name, "must be an object { ... }");
    if (!(v instanceof ConfigObject)) {
      throw invalid(name, "must be an object { ... }");
    }
    return new Section(key(name), (ConfigObject) v);
  }

  List<? extends ConfigValue> list(String name, String rule) {
    required(name, rule);
    try {
      return object.toConfig().getList(name);
    } catch (ConfigException e) {
      throw invalid(name, "not a list; " + rule, e);
    }
  }

  /**
   * A list of objects ({@code exports}, {@code overflow.namespaces}), each as a section keyed
   * {@code name[i]}; an entry that is not an object is refused naming it, with {@code example}.
   */
  List<Section> objects(String name, String rule, String what, String example) {
    List<? extends ConfigValue> entries = list(name, rule);
    List<Section> sections = new java.util.ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      String key = key(name) + "[" + i + "]";
      if (!(entries.get(i) instanceof ConfigObject o)) {
        throw new SettingsException(key, key + " = " + render(entries.get(i)) + ": each " + what + " must be an object "
            + example);
      }
      sections.add(new Section(key, o));
    }
    return sections;
  }

  /** Refuses a field outside {@code allowed}: a misspelt optional field would otherwise be ignored. */
  void onlyFields(String what, List<String> allowed) {
    for (String field : object.keySet()) {
      if (!allowed.contains(field)) {
        throw invalid(field, "unknown " + what + " setting; allowed: " + String.join(", ", allowed));
      }
    }
  }

  private static final java.util.regex.Pattern ENTRY_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1,64}");

  /** A list entry's {@code name}: 1 to 64 characters of {@code [A-Za-z0-9._-]}. */
  String entryName() {
    String rule = "must be 1 to 64 characters of A-Z a-z 0-9 . _ -";
    String name = string("name", rule);
    if (!ENTRY_NAME.matcher(name).matches()) {
      throw invalid("name", rule);
    }
    return name;
  }

  String string(String name, String rule) {
    required(name, rule);
    try {
      return object.toConfig().getString(name);
    } catch (ConfigException e) {
      throw invalid(name, "not a string; " + rule, e);
    }
  }

  long bytes(String name, String rule) {
    ConfigValue v = required(name, rule);
    try {
      return object.toConfig().getBytes(name);
    } catch (ConfigException e) {
      // typesafe refuses negative sizes here too; those are sizes, just out of range
      boolean negative = String.valueOf(v.unwrapped()).trim().startsWith("-");
      throw invalid(name, negative ? rule : "not a byte size; " + rule, e);
    }
  }

  /** An integer; unlike typesafe's getInt, a fraction such as 4.5 is an error, not truncated. */
  int integer(String name, String rule) {
    ConfigValue v = required(name, rule);
    Object raw = v.unwrapped();
    if (raw instanceof Integer i) {
      return i;
    }
    if (raw instanceof String s && s.trim().matches("[+-]?[0-9]{1,9}")) {
      return Integer.parseInt(s.trim());
    }
    throw invalid(name, "not an integer; " + rule);
  }

  boolean bool(String name, String rule) {
    required(name, rule);
    try {
      return object.toConfig().getBoolean(name);
    } catch (ConfigException e) {
      throw invalid(name, "not a boolean; " + rule, e);
    }
  }

  Duration duration(String name, String rule) {
    required(name, rule);
    try {
      return object.toConfig().getDuration(name);
    } catch (ConfigException e) {
      throw invalid(name, "not a duration; " + rule, e);
    }
  }

  /** The number N when the field is a string "N%", otherwise empty (the caller decides if that is wrong). */
  Optional<BigDecimal> percent(String name) {
    ConfigValue v = object.get(name);
    if (v != null && v.valueType() == ConfigValueType.STRING) {
      Matcher m = PERCENT.matcher((String) v.unwrapped());
      if (m.matches()) {
        return Optional.of(new BigDecimal(m.group(1)));
      }
    }
    return Optional.empty();
  }

  /** Whether a listener field is switched off: the string "off", or the boolean false. */
  boolean isOff(String name) {
    Object raw = object.get(name) == null ? null : object.get(name).unwrapped();
    return Boolean.FALSE.equals(raw) || (raw instanceof String s && "off".equalsIgnoreCase(s.trim()));
  }

  /**
   * A listen address "host:port", "[v6-literal]:port" or "off". The host is resolved here (a
   * literal resolves without DNS) so that a name that cannot be bound fails at startup with the
   * key in the message rather than later at bind time.
   */
  Optional<InetSocketAddress> listenAddress(String name) {
    String rule = "must be \"off\" or host:port with a port from 0 to 65535,"
        + " e.g. \"127.0.0.1:10809\" or \"[::1]:10809\"";
    if (isOff(name)) {
      return Optional.empty();
    }
    String text = string(name, rule).trim();
    String host;
    String port;
    if (text.startsWith("[")) {
      int end = text.indexOf("]:");
      if (end < 0) {
        throw invalid(name, rule);
      }
      host = text.substring(1, end);
      port = text.substring(end + 2);
    } else {
      int colon = text.indexOf(':');
      // a second colon means a bare IPv6 literal, whose port cannot be told apart without brackets
      if (colon < 0 || text.indexOf(':', colon + 1) >= 0) {
        throw invalid(name, rule);
      }
      host = text.substring(0, colon);
      port = text.substring(colon + 1);
    }
    if (host.isEmpty() || !port.matches("[0-9]{1,5}") || Integer.parseInt(port) > 65535) {
      throw invalid(name, rule);
    }
    InetSocketAddress address = new InetSocketAddress(host, Integer.parseInt(port));
    if (address.isUnresolved()) {
      throw invalid(name, "unknown host \"" + host + "\"; " + rule);
    }
    return Optional.of(address);
  }

  /** {@code key = value: reason}, the one-line form every settings error takes. */
  SettingsException invalid(String name, String reason) {
    return invalid(name, reason, null);
  }

  SettingsException invalid(String name, String reason, Throwable cause) {
    ConfigValue v = object.get(name);
    String given = v == null ? "" : " = " + render(v);
    return new SettingsException(key(name), key(name) + given + ": " + reason, cause);
  }

  /** A value as the user would write it, on one line: strings quoted, lists and objects as JSON. */
  static String render(ConfigValue value) {
    return value.render(ONE_LINE);
  }

  private ConfigValue required(String name, String rule) {
    ConfigValue v = object.get(name);
    if (v == null) {
      throw new SettingsException(key(name), key(name) + ": missing; " + rule);
    }
    if (v.valueType() == ConfigValueType.NULL) {
      throw invalid(name, rule);
    }
    return v;
  }
}
