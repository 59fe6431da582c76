package io.zswapd.testkit.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon and files at its backing-file path: a user's file stops the start with one line and
 * is left as it was; a file a running daemon holds is refused to a second daemon, which cannot
 * touch it; the running one removes its file when it stops.
 */
class DaemonBackingFileTest {
  private static final Duration GIVE_UP = Duration.ofSeconds(60);

  private static String backing(Path file) {
    return "zswapd.exports = [ { name = \"swap0\", size = 256 MiB, backing-file = \"" + file + "\" } ]";
  }

  @Test
  void usersFileAtTheBackingPathStopsTheDaemonWithOneLineAndIsLeftAlone(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("swap0.wb"), "the user's data\n");
    try (Daemon daemon = Daemon.serve(Daemon.config(dir, Daemon.freePort(), dir.resolve("zswapd.sock"),
        backing(file)))) {
      int status = daemon.awaitExit(GIVE_UP);
      SoftAssertions soft = new SoftAssertions();
      soft.assertThat(status).as("exit status\n%s", daemon.output()).isEqualTo(1);
      soft.assertThat(daemon.stderr()).as("one line naming the export, the file and why").containsExactly(
          "zswapd: export \"swap0\": backing file " + file + ": exists and is not a zswapd backing file (no zswapd"
              + " header); zswapd only writes into a file it created: remove it, or name a path where no file exists");
      soft.assertThat(daemon.stdout()).as("no banner").isEmpty();
      soft.assertThat(Files.readString(file)).as("the file is untouched").isEqualTo("the user's data\n");
      soft.assertAll();
    }
  }

  @Test
  void fileARunningDaemonHoldsIsRefusedToASecondDaemon(@TempDir Path first, @TempDir Path second)
      throws IOException {
    Path file = first.resolve("swap0.wb");
    try (Daemon running = Daemon.serve(Daemon.config(first, Daemon.freePort(), first.resolve("zswapd.sock"),
        backing(file)))) {
      running.awaitReady();
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS)))
          .isEqualTo("rw-------");
      byte[] before = Files.readAllBytes(file);
      try (Daemon other = Daemon.serve(Daemon.config(second, Daemon.freePort(), second.resolve("zswapd.sock"),
          backing(file)))) {
        int status = other.awaitExit(GIVE_UP);
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(status).as("exit status\n%s", other.output()).isEqualTo(1);
        soft.assertThat(other.stderr()).as("one line").containsExactly("zswapd: export \"swap0\": backing file "
            + file + ": locked by another process (is another zswapd using it?)");
        soft.assertThat(Files.readAllBytes(file)).as("the running daemon's header is untouched").isEqualTo(before);
        soft.assertAll();
      }
      assertThat(running.isAlive()).isTrue();
      running.terminate();
      assertThat(running.awaitExit(GIVE_UP)).as(running.output()).isEqualTo(143); // 128 + SIGTERM, see DaemonShutdownTest
    }
    assertThat(file).as("removed by the daemon that created it").doesNotExist();
  }
}
