package io.zswapd.testkit.interop;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs the NBD tools of the host (libnbd's nbdinfo, nbdsh and nbdcopy, qemu-io, fio) from tests.
 *
 * <p>A tool that is not installed skips the test on a developer machine and fails it on CI
 * ({@code CI=true}), where a skipped interop suite would pass unnoticed; both messages name
 * the Debian package to install.
 *
 * <pre>{@code
 * ExternalTool.require("nbdinfo");
 * ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(30), "nbdinfo", "--json", fixture.tcpUri("swap0"));
 * assertThat(r.exitCode()).as(r.describe()).isZero();
 * }</pre>
 *
 * <p>This lives in the test tree, not next to NbdFixture in testkit main, because JUnit (whose
 * {@code Assumptions} make the skip) is a test-scoped dependency of the testkit module.
 */
public final class ExternalTool {
  /** Executable -> the Debian package that installs it. */
  private static final Map<String, String> PACKAGES = Map.of(
      "nbdinfo", "libnbd-bin",
      "nbdcopy", "libnbd-bin",
      "nbdsh", "python3-libnbd",
      "qemu-io", "qemu-utils",
      "qemu-img", "qemu-utils",
      "fio", "fio",
      "qemu-system-x86_64", "qemu-system-x86",
      "nbdkit", "nbdkit",
      "openssl", "openssl");
  private static final Pattern PATH_SEPARATOR = Pattern.compile(Pattern.quote(File.pathSeparator));

  private ExternalTool() {}

  /** What a finished process left: its exit status and everything it printed. */
  public record Result(List<String> command, int exitCode, String stdout, String stderr) {
    /** The command, its status and its output, for assertion messages. */
    public String describe() {
      return String.join(" ", command) + "\nexit status " + exitCode + "\n--- stdout\n" + stdout
          + "\n--- stderr\n" + stderr;
    }
  }

  /**
   * The executable's path on PATH; if there is none, aborts the test (or fails it when
   * {@code CI=true}) with the package to install.
   */
  public static Path require(String executable) {
    Optional<Path> found = find(executable);
    if (found.isEmpty()) {
      unavailable(executable, "not installed");
    }
    return found.orElseThrow();
  }

  /**
   * Aborts the test (fails it when {@code CI=true}) because {@code executable} cannot be used,
   * for example when it is installed but a part it loads is missing.
   */
  public static void unavailable(String executable, String why) {
    skipOrFail(executable + " " + why + "; apt-get install "
        + PACKAGES.getOrDefault(executable, "the package providing " + executable));
  }

  /**
   * Aborts the test with {@code message}, which should say what is missing and how to get it;
   * fails it instead when {@code CI=true}.
   */
  public static void skipOrFail(String message) {
    if ("true".equals(System.getenv("CI"))) {
      fail(message + " (CI=true: interop tests must run on CI, not be skipped)");
    }
    Assumptions.abort(message);
  }

  /** The first {@code executable} on PATH. */
  public static Optional<Path> find(String executable) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : PATH_SEPARATOR.split(path)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, executable);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** Runs {@code command} to completion; kills it and fails the test if it outlives {@code timeout}. */
  public static Result run(Duration timeout, String... command) {
    return run(timeout, Map.of(), command);
  }

  /** As {@link #run(Duration, String...)}, with {@code environment} added to (or replacing in) the inherited one. */
  public static Result run(Duration timeout, Map<String, String> environment, String... command) {
    ProcessBuilder pb = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().putAll(environment);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + String.join(" ", command), e);
    }
    Drain out = new Drain(p.getInputStream(), command[0] + "-stdout");
    Drain err = new Drain(p.getErrorStream(), command[0] + "-stderr");
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        kill(p);
        fail(String.join(" ", command) + " did not finish within " + timeout + "; killed it\n--- stdout\n"
            + out.text() + "\n--- stderr\n" + err.text());
      }
      return new Result(List.of(command), p.exitValue(), out.text(), err.text());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command[0], e);
    } finally {
      kill(p);
    }
  }

  /** Kills the process and anything it started, and waits briefly for it to go. */
  public static void kill(Process p) {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
    try {
      p.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Reads one output stream to its end on its own thread, so a chatty tool never blocks on a full pipe. */
  private static final class Drain {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final Thread thread;

    Drain(InputStream in, String name) {
      thread = new Thread(() -> {
        byte[] buf = new byte[8192];
        try (in) {
          int n;
          while ((n = in.read(buf)) >= 0) {
            synchronized (bytes) {
              bytes.write(buf, 0, n);
            }
          }
        } catch (IOException e) {
          // the process was killed; keep what arrived
        }
      }, name);
      thread.setDaemon(true);
      thread.start();
    }

    /** Everything read so far; waits a moment for the reader to reach the end of a finished process. */
    String text() {
      try {
        thread.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (bytes) {
        return bytes.toString(StandardCharsets.UTF_8);
      }
    }
  }
}
