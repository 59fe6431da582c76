package io.zswapd.testkit.daemon;

import static org.junit.jupiter.api.Assertions.fail;

import io.zswapd.testkit.interop.ExternalTool;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One {@code java -jar zswapd.jar serve --config FILE} process, its stdout and stderr collected
 * line by line as they arrive. Every wait has a deadline; {@link #close()} kills the process if
 * it is still running, so use it in try-with-resources or an {@code @AfterAll}.
 *
 * <pre>{@code
 * Path config = Daemon.config(dir, Daemon.freePort(), dir.resolve("zswapd.sock"), "");
 * try (Daemon d = Daemon.serve(config)) {
 *   d.awaitReady();
 *   ...
 *   d.terminate();                                   // SIGTERM
 *   assertThat(d.awaitExit(Duration.ofSeconds(60))).isEqualTo(143);
 * }
 * }</pre>
 *
 * <p>Public for the tests of other packages that need the real daemon (the VM test).
 */
public final class Daemon implements AutoCloseable {
  static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  /** The last line of the banner; the whole banner is printed before it. */
  static final String BANNER_END = "Stop with SIGTERM or Ctrl-C.";

  private final Process process;
  private final Lines stdout;
  private final Lines stderr;

  private Daemon(Process process) {
    this.process = process;
    this.stdout = new Lines(process.getInputStream(), "zswapd-stdout");
    this.stderr = new Lines(process.getErrorStream(), "zswapd-stderr");
  }

  public static Daemon serve(Path config) {
    return serve(config, true);
  }

  /** As the README runs it ({@code withMallocThreshold}), or with glibc's default mmap threshold. */
  static Daemon serve(Path config, boolean withMallocThreshold) {
    return serve(config, withMallocThreshold, List.of());
  }

  /** With JVM options before {@code -jar} ({@code -Xmx256m}). */
  public static Daemon serve(Path config, List<String> jvmOptions) {
    return serve(config, true, jvmOptions);
  }

  private static Daemon serve(Path config, boolean withMallocThreshold, List<String> jvmOptions) {
    ProcessBuilder pb = new ProcessBuilder(DaemonJar.command(jvmOptions, "serve", "--config", config.toString()))
        .directory(config.getParent().toFile());
    if (withMallocThreshold) {
      pb.environment().put("MALLOC_MMAP_THRESHOLD_", "131072");
    } else {
      pb.environment().remove("MALLOC_MMAP_THRESHOLD_");
    }
    try {
      return new Daemon(pb.start());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the daemon", e);
    }
  }

  /** Any command that starts the daemon, such as the launcher {@code bin/zswapd serve}, in {@code dir}. */
  public static Daemon launch(List<String> argv, java.util.Map<String, String> environment, Path dir) {
    ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile());
    pb.environment().putAll(environment);
    try {
      return new Daemon(pb.start());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + argv, e);
    }
  }

  /**
   * A config file in {@code dir}: TCP on 127.0.0.1:{@code port}, the Unix socket at
   * {@code socket}, no metrics endpoint, a small pool and one 256 MiB export "swap0", then
   * {@code extra} (later keys win).
   */
  public static Path config(Path dir, int port, Path socket, String extra) {
    String text = """
        zswapd.pool.max-size = 64 MiB
        zswapd.exports = [ { name = "swap0", size = 256 MiB } ]
        zswapd.nbd.tcp = "127.0.0.1:%d"
        zswapd.nbd.unix-socket = "%s"
        zswapd.metrics.prometheus = off
        %s
        """.formatted(port, socket, extra);
    try {
      return Files.writeString(dir.resolve("zswapd.conf"), text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A TCP port nothing listens on right now (the kernel's choice for an ephemeral bind). */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits for the whole banner; fails with everything printed if the daemon exits or takes too long. */
  public void awaitReady() {
    awaitStdout(BANNER_END::equals, START_TIMEOUT);
  }

  /** Waits for a stdout line matching {@code line}; fails if the process exits first or after {@code timeout}. */
  void awaitStdout(Predicate<String> line, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (stdout.snapshot().stream().noneMatch(line)) {
      if (!process.isAlive() && stdout.finished()) {
        fail("the daemon exited with status " + process.exitValue() + " before printing the expected line\n" + output());
      }
      if (System.nanoTime() > deadline) {
        fail("the daemon did not print the expected line within " + timeout + "\n" + output());
      }
      sleep(20);
    }
  }

  /** Sends SIGTERM ({@link Process#destroy()} on Linux). */
  void terminate() {
    process.destroy();
  }

  /** The exit status; fails (the process is killed on close) if it is still running after {@code timeout}. */
  public int awaitExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        fail("the daemon still runs " + timeout + " later\n" + output());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    stdout.awaitEnd();
    stderr.awaitEnd();
    return process.exitValue();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public long pid() {
    return process.pid();
  }

  public List<String> stdout() {
    return stdout.snapshot();
  }

  public List<String> stderr() {
    return stderr.snapshot();
  }

  /** Both streams, for failure messages. */
  public String output() {
    return "--- stdout\n" + String.join("\n", stdout()) + "\n--- stderr\n" + String.join("\n", stderr());
  }

  /** The last {@code lines} lines of {@link #output()}, for failure messages of long runs. */
  public String outputTail(int lines) {
    List<String> all = output().lines().toList();
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      ExternalTool.kill(process);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The lines of one stream, read on a thread of their own. */
  private static final class Lines {
    private final List<String> lines = new ArrayList<>();
    private final Thread reader;

    Lines(InputStream in, String name) {
      reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
          String line;
          while ((line = r.readLine()) != null) {
            synchronized (lines) {
              lines.add(line);
            }
          }
        } catch (IOException e) {
          // the process is gone; keep what arrived
        }
      }, name);
      reader.setDaemon(true);
      reader.start();
    }

    List<String> snapshot() {
      synchronized (lines) {
        return List.copyOf(lines);
      }
    }

    boolean finished() {
      return !reader.isAlive();
    }

    void awaitEnd() {
      try {
        reader.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
