package io.zswapd.testkit.nbd;

/** The exports most protocol tests run against: a large one, a read-only one and a 1 MiB one. */
final class StandardExports {
  static final String HOCON = """
      zswapd.pool.max-size = 256 MiB
      zswapd.exports = [
        { name = "swap0", size = 1 GiB },
        { name = "ro", size = 64 MiB, read-only = true },
        { name = "tiny", size = 1 MiB }
      ]
      zswapd.nbd.max-payload = 1 MiB
      """;

  private StandardExports() {}
}
