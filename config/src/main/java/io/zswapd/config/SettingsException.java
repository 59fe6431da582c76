package io.zswapd.config;

/**
 * A setting a user got wrong, reported as one line that names the key, the value given and what
 * is allowed, for example:
 *
 * <pre>
 * zswapd.pool.compressor = "snappy": unknown compressor; allowed: lz4, lz4hc, zstd
 * </pre>
 *
 * <p>The message is meant to be printed as is (a daemon prints it and exits), so it never needs
 * the stack trace; the typesafe exception, when there was one, is kept as the cause for debugging.
 */
public final class SettingsException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String key;

  public SettingsException(String key, String message) {
    this(key, message, null);
  }

  public SettingsException(String key, String message, Throwable cause) {
    super(message, cause);
    this.key = key;
  }

  /**
   * The full key of the offending setting, such as {@code zswapd.exports[1].name}. When the
   * document itself cannot be read (a missing file, a HOCON syntax error) there is no single
   * setting to blame, and the key is the file path, or {@code <string>} for {@link
   * ZswapdSettings#parse(String)}.
   */
  public String key() {
    return key;
  }
}
