package io.zswapd.testkit.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.NbdFixture;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * libnbd's Python binding (nbdsh) drives every data command against a real export and sees the
 * errors the spec names for requests past the end, with libnbd's own range checks switched off
 * so the requests reach the server.
 */
class NbdshInteropTest {
  /**
   * Each check prints "name value"; the test compares the lines, so a failure names the check.
   * h.pread(count, offset), h.pwrite(buf, offset), h.trim(count, offset), h.zero(count, offset).
   */
  private static final String SCRIPT = """
      size = h.get_size()
      page = bytes(range(256)) * 16
      h.pwrite(page * 4, 8192)
      print("write-read", h.pread(16384, 8192) == page * 4)
      h.pwrite(b"zswapd", 8192 + 100)
      print("unaligned-write", h.pread(4096, 8192) == page[:100] + b"zswapd" + page[106:])
      h.flush()
      h.trim(8192, 8192)
      print("trim-zeroes-whole-pages", h.pread(8192, 8192) == bytes(8192))
      print("trim-keeps-the-rest", h.pread(8192, 16384) == page * 2)
      h.zero(4096, 16384)
      print("zero-reads-zeros", h.pread(4096, 16384) == bytes(4096))
      print("zero-keeps-next-page", h.pread(4096, 20480) == page)
      print("last-page", h.pread(4096, size - 4096) == bytes(4096))
      h.set_strict_mode(0)
      for name, request in [("read-past-end", lambda: h.pread(8192, size - 4096)),
                            ("read-beyond-end", lambda: h.pread(4096, size + 4096)),
                            ("write-past-end", lambda: h.pwrite(page * 2, size - 4096))]:
          try:
              request()
              print(name, "no-error")
          except nbd.Error as e:
              print(name, e.errno)
      print("still-usable", h.pread(4096, 20480) == page)
      """;

  private static NbdFixture nbd;
  private static Map<String, String> environment;

  @BeforeAll
  static void start() {
    Path nbdsh = ExternalTool.require("nbdsh");
    // nbdsh is a shell script that runs "python3 -m nbd" from PATH; a python3 ahead of the
    // system one (pyenv, a venv) lacks the Debian module, so put nbdsh's own directory first.
    environment = Map.of("PATH", nbdsh.getParent() + ":" + System.getenv("PATH"));
    ExternalTool.Result probe = ExternalTool.run(Duration.ofSeconds(30), environment, "nbdsh", "-c", "print(nbd.__name__)");
    if (probe.exitCode() != 0) {
      ExternalTool.unavailable("nbdsh", "cannot load its Python module (" + probe.stderr().strip() + ")");
    }
    nbd = NbdFixture.start("""
        zswapd.pool.max-size = 64 MiB
        zswapd.exports = [ { name = "swap0", size = 64 MiB } ]
        """);
  }

  @AfterAll
  static void stop() {
    if (nbd != null) {
      nbd.close();
    }
  }

  @Test
  void dataCommandsOverTcpDoWhatTheSpecSays() {
    assertChecks(nbd.tcpUri("swap0"));
  }

  @Test
  void dataCommandsOverTheUnixSocketDoWhatTheSpecSays() {
    assertChecks(nbd.unixUri("swap0"));
  }

  private static void assertChecks(String uri) {
    ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(60), environment, "nbdsh", "-u", uri, "-c", SCRIPT);
    assertThat(r.exitCode()).as(r.describe()).isZero();
    List<String> lines = Arrays.asList(r.stdout().strip().split("\n"));
    assertThat(lines).as(r.describe()).containsExactly(
        "write-read True",
        "unaligned-write True",
        "trim-zeroes-whole-pages True",
        "trim-keeps-the-rest True",
        "zero-reads-zeros True",
        "zero-keeps-next-page True",
        "last-page True",
        "read-past-end EINVAL",
        "read-beyond-end EINVAL",
        "write-past-end ENOSPC",
        "still-usable True");
  }
}
