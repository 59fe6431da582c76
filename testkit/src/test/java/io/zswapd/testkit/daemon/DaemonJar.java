package io.zswapd.testkit.daemon;

import static org.junit.jupiter.api.Assertions.fail;

import io.zswapd.testkit.interop.ExternalTool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Assumptions;

/**
 * The daemon jar that io-bridge's {@code package} phase builds ({@code io-bridge/target/zswapd.jar}),
 * run with the JDK that runs the tests.
 *
 * <p>Tests run a private copy, taken once per test JVM: a rebuild of io-bridge (a developer's
 * {@code mvn package} in another terminal) rewrites the jar in place, and a JVM that loads
 * classes lazily from a jar rewritten under it dies with NoClassDefFoundError half-way through a
 * test. A missing jar (running {@code -pl testkit} without packaging io-bridge) skips the daemon
 * tests, except on CI ({@code CI=true}), where it fails them.
 */
public final class DaemonJar {
  private static final String MAIN_CLASS = "io.zswapd.bridge.Main";
  private static Path copy;

  private DaemonJar() {}

  /** {@code java} of the JDK running the tests. */
  static Path java() {
    return Path.of(System.getProperty("java.home"), "bin", "java");
  }

  /** The private copy of the jar; skips or fails the test when the build has not made one. */
  public static synchronized Path path() {
    if (copy == null) {
      copy = copyOf(built());
    }
    return copy;
  }

  /** {@code java -jar zswapd.jar args...}. */
  static List<String> command(String... args) {
    return command(List.of(), args);
  }

  /** {@code java jvmOptions... -jar zswapd.jar args...}. */
  static List<String> command(List<String> jvmOptions, String... args) {
    List<String> argv = new ArrayList<>(List.of(java().toString()));
    argv.addAll(jvmOptions);
    if (Runtime.version().feature() >= 23) {
      // Akka 2.6 reads fields through sun.misc.Unsafe; from JDK 24 the JVM warns about it on
      // stderr unless told to allow it (the flag does not exist before JDK 23). README says so.
      argv.add("--sun-misc-unsafe-memory-access=allow");
    }
    // Checked memory in every test: a use after free is an exception, not a crashed daemon.
    argv.add("-Dzswapd.pool.migration.checked-memory=on");
    argv.addAll(List.of("-jar", path().toString()));
    argv.addAll(List.of(args));
    return argv;
  }

  /** Runs a command that ends by itself (help, usage and configuration errors). */
  public static ExternalTool.Result run(String... args) {
    return run(List.of(), args);
  }

  /** As {@link #run(String...)} with options for the JVM, such as {@code -XX:MaxDirectMemorySize=40m}. */
  static ExternalTool.Result run(List<String> jvmOptions, String... args) {
    return ExternalTool.run(Duration.ofSeconds(60), command(jvmOptions, args).toArray(String[]::new));
  }

  private static Path built() {
    // Surefire runs in the module directory and sets "basedir" to it.
    Path module = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
    Path jar = module.resolve("../io-bridge/target/zswapd.jar").normalize();
    if (!Files.isRegularFile(jar)) {
      String message = jar + " is missing: build it with `mvn -pl io-bridge -am package` "
          + "(mvn verify builds it before the testkit tests run)";
      if ("true".equals(System.getenv("CI"))) {
        fail(message + " (CI=true: the daemon tests must run on CI, not be skipped)");
      }
      Assumptions.abort(message);
    }
    return jar;
  }

  /** Copies the jar, retrying while a rebuild may be half-way through writing it. */
  private static Path copyOf(Path jar) {
    IOException last = null;
    for (int attempt = 0; attempt < 10; attempt++) {
      try {
        Path dir = Files.createTempDirectory("zswapd-jar");
        Path target = dir.resolve("zswapd.jar");
        Files.copy(jar, target, StandardCopyOption.REPLACE_EXISTING);
        try (JarFile j = new JarFile(target.toFile())) {
          String main = j.getManifest() == null ? null : j.getManifest().getMainAttributes().getValue("Main-Class");
          if (MAIN_CLASS.equals(main) && j.getEntry("io/zswapd/bridge/Main.class") != null) {
            target.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            return target;
          }
          last = new IOException(jar + " has Main-Class " + main + ", not " + MAIN_CLASS);
        } catch (IOException e) {
          last = e;
        }
        Files.deleteIfExists(target);
        Files.deleteIfExists(dir);
        Thread.sleep(2_000);
      } catch (IOException e) {
        last = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    throw new UncheckedIOException("cannot take a usable copy of " + jar, last);
  }
}
