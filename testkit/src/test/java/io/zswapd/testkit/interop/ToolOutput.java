package io.zswapd.testkit.interop;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;

/** Reads the JSON the tools print (nbdinfo --json, fio --output-format=json) with the config library already on the classpath. */
public final class ToolOutput {
  private ToolOutput() {}

  /**
   * The JSON object in {@code stdout}, skipping any lines a tool prints before it (fio's nbd
   * engine writes "fio: connected to NBD server" to stdout ahead of the report).
   */
  public static Config json(String stdout) {
    int start = stdout.indexOf('{');
    if (start < 0) {
      throw new AssertionError("no JSON object in the tool's output:\n" + stdout);
    }
    return ConfigFactory.parseString(stdout.substring(start), ConfigParseOptions.defaults().setSyntax(ConfigSyntax.JSON));
  }
}
