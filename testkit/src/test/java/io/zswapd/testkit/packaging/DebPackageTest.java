package io.zswapd.testkit.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import io.zswapd.testkit.interop.ExternalTool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The .deb an operator installs ({@code packaging/deb/build-deb.sh}): built from this build's
 * jar, installed with {@code dpkg -i}, its systemd unit checked by {@code systemd-analyze}, the
 * daemon started from the installed files as the {@code zswapd} user (no systemd here), reached
 * with {@code nbdinfo} and the admin command, then removed and purged without a trace.
 *
 * <p>It installs a package system-wide, so it runs only in CI ({@code CI=true}, where a missing
 * tool fails it) or when asked ({@code ZSWAPD_TEST_DEB=1}), as root.
 */
class DebPackageTest {
  private static final Duration STEP = Duration.ofMinutes(3);

  @TempDir
  Path dir;

  private static Path root() {
    return Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).resolve("..").normalize();
  }

  private static boolean ci() {
    return "true".equals(System.getenv("CI"));
  }

  private static void require(boolean ok, String what) {
    if (!ok) {
      if (ci()) {
        fail(what + " (CI=true)");
      }
      Assumptions.abort(what);
    }
  }

  private static ExternalTool.Result run(String... argv) {
    return ExternalTool.run(STEP, argv);
  }

  private static ExternalTool.Result ok(String... argv) {
    ExternalTool.Result r = run(argv);
    assertThat(r.exitCode()).as(r.describe()).isZero();
    return r;
  }

  @Test
  void installsServesAndGoesAwayCleanly() throws Exception {
    Assumptions.assumeTrue(ci() || "1".equals(System.getenv("ZSWAPD_TEST_DEB")),
        "installs a .deb system-wide: runs in CI (CI=true) or with ZSWAPD_TEST_DEB=1");
    require("root".equals(System.getProperty("user.name")), "dpkg -i needs root");
    for (String[] tool : new String[][] {{"dpkg-deb", "dpkg"}, {"systemd-analyze", "systemd"},
        {"nbdinfo", "libnbd-bin"}, {"runuser", "util-linux"}}) {
      require(ExternalTool.find(tool[0]).isPresent(), tool[0] + " is missing (Debian: apt-get install " + tool[1] + ")");
    }
    require(Files.isExecutable(Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/jlink")),
        "no Temurin 25 jlink at /usr/lib/jvm/temurin-25-jdk-amd64 (the runtime the .deb ships)");
    Path jar = root().resolve("io-bridge/target/zswapd.jar");
    require(Files.isRegularFile(jar), jar + " is missing: mvn verify builds it before testkit");
    assertThat(run("dpkg", "-s", "zswapd").exitCode()).as("zswapd is already installed here: not touching it")
        .isNotZero();

    ExternalTool.Result built = ExternalTool.run(STEP, Map.of("ZSWAPD_JAR", jar.toString()),
        root().resolve("packaging/deb/build-deb.sh").toString(), dir.toString());
    assertThat(built.exitCode()).as(built.describe()).isZero();
    Path deb = Path.of(built.stdout().strip());
    assertThat(deb.getFileName().toString()).matches("zswapd_\\d+\\.\\d+\\.\\d+(~SNAPSHOT)?_amd64\\.deb");

    Process daemon = null;
    try {
      ok("dpkg", "-i", deb.toString());
      assertThat(ok("dpkg", "-L", "zswapd").stdout().lines().toList()).contains("/usr/bin/zswapd",
          "/usr/lib/zswapd/lib/zswapd.jar", "/usr/lib/zswapd/runtime/bin/java", "/etc/zswapd/zswapd.conf",
          "/lib/systemd/system/zswapd.service", "/lib/systemd/system/zswapd-swap.service",
          "/usr/lib/sysusers.d/zswapd.conf");
      ok("id", "zswapd");
      assertThat(ok("/usr/bin/zswapd", "--version").stdout())
          .as("the bundled runtime, mmap chunks").contains("on Java 25", "off-heap: mmap");

      ExternalTool.Result verify = run("systemd-analyze", "verify", "/lib/systemd/system/zswapd.service");
      assertThat(verify.exitCode()).as(verify.describe()).isZero();
      assertThat(verify.stdout() + verify.stderr()).as("no ordering cycle").doesNotContain("cycle");
      ExternalTool.Result security = run("systemd-analyze", "security", "--offline=yes", "--threshold=30",
          "/lib/systemd/system/zswapd.service");
      assertThat(security.exitCode()).as("exposure at most 3.0\n%s", security.describe()).isZero();

      // as systemd would: /run/zswapd for the sockets, /var/lib/zswapd to work in, the zswapd user
      ok("install", "-d", "-o", "zswapd", "-g", "zswapd", "-m", "0700", "/run/zswapd");
      Path log = dir.resolve("daemon.log");
      daemon = new ProcessBuilder("runuser", "-u", "zswapd", "--", "/usr/bin/zswapd", "serve", "--config",
          "/etc/zswapd/zswapd.conf").directory(Path.of("/var/lib/zswapd").toFile())
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      String uri = "nbd+unix:///swap0?socket=/run/zswapd/zswapd.sock";
      long deadline = System.nanoTime() + STEP.toNanos();
      ExternalTool.Result info;
      do {
        if (!daemon.isAlive()) {
          fail("the installed daemon exited with " + daemon.exitValue() + "\n" + Files.readString(log));
        }
        if (System.nanoTime() > deadline) {
          fail("the installed daemon did not serve within " + STEP + "\n" + Files.readString(log));
        }
        Thread.sleep(200);
        info = run("nbdinfo", uri);
      } while (info.exitCode() != 0);
      assertThat(info.stdout()).contains("export-size: 4294967296");
      assertThat(ok("runuser", "-u", "zswapd", "--", "/usr/bin/zswapd", "stats", "--admin",
          "/run/zswapd/zswapd-admin.sock").stdout()).contains("off_heap", "mmap");
      assertThat(Files.readString(log)).as("the runtime and flags from the launcher")
          .contains("arena chunks of 2.0 MiB (mmap)").doesNotContain("WARNING:");
      daemon.destroy();
      assertThat(daemon.waitFor(60, TimeUnit.SECONDS)).as(Files.readString(log)).isTrue();

      ok("dpkg", "-r", "zswapd");
      assertThat(Path.of("/usr/bin/zswapd")).doesNotExist();
      assertThat(Path.of("/usr/lib/zswapd")).doesNotExist();
      assertThat(Path.of("/etc/zswapd/zswapd.conf")).as("a conffile stays until purge").exists();
      ok("dpkg", "-P", "zswapd");
      assertThat(Path.of("/etc/zswapd")).doesNotExist();
      assertThat(Path.of("/var/lib/zswapd")).doesNotExist();
      assertThat(run("dpkg", "-s", "zswapd").exitCode()).isNotZero();
    } finally {
      if (daemon != null) {
        daemon.destroyForcibly();
      }
      run("dpkg", "-P", "zswapd");
      run("rm", "-rf", "/run/zswapd");
    }
  }
}
