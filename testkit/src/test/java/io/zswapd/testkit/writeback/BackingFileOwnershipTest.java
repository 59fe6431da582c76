package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.config.SettingsException;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Through the embedded API: the engine writes swapped pages only into a backing file it created
 * (0600) or one a crashed run of zswapd left; a user's file or a link at the path stops the start
 * and is left as it was; two exports cannot share a file; and shutdown removes only the file the
 * run opened, not whatever is at the path by then.
 */
class BackingFileOwnershipTest {
  private static final PageGenerator GEN = new PageGenerator(4);

  private static String config(Path... files) {
    StringBuilder exports = new StringBuilder("zswapd.pool.max-size = 16 MiB\nzswapd.exports = [");
    for (int i = 0; i < files.length; i++) {
      exports.append(i == 0 ? "" : ", ").append("{ name = \"e").append(i).append("\", size = 64 MiB, backing-file = \"")
          .append(files[i]).append("\" }");
    }
    return exports.append("]\n").toString();
  }

  /** Stores pages into export e0 and writes them all back, so the file holds slots. */
  private static void fillAndWriteBack(Zswapd z, int pages) {
    for (int i = 0; i < pages; i++) {
      await(z.store("e0", i, GEN.page(i, PageGenerator.Kind.C50)));
    }
    assertThat(await(z.writeback(WritebackMode.ALL)).writtenBack()).isEqualTo(pages);
  }

  private static void assertPagesLoad(Zswapd z, int pages) {
    for (int i = 0; i < pages; i++) {
      assertThat(await(z.load("e0", i))).as("page %d", i).isEqualTo(GEN.page(i, PageGenerator.Kind.C50));
    }
  }

  @Test
  void fileTheEngineCreatesIsOwnerOnlyWhileItRunsAndRemovedAfter(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("e0.wb");
    try (EngineFixture engine = EngineFixture.start(config(file))) {
      fillAndWriteBack(engine.zswapd(), 50);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS)))
          .isEqualTo("rw-------");
      assertPagesLoad(engine.zswapd(), 50);
    }
    assertThat(file).doesNotExist();
  }

  @Test
  void usersFileAtTheBackingPathStopsTheStartAndIsLeftAsItWas(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("e0.wb"), "a file the user made\n");
    assertThatThrownBy(() -> EngineFixture.start(config(file)))
        .hasMessage("export \"e0\": backing file " + file + ": exists and is not a zswapd backing file (no zswapd"
            + " header); zswapd only writes into a file it created: remove it, or name a path where no file exists");
    assertThat(Files.readString(file)).isEqualTo("a file the user made\n");
  }

  @Test
  void symlinkAtTheBackingPathStopsTheStartAndItsTargetIsLeftAsItWas(@TempDir Path dir) throws IOException {
    Path target = Files.writeString(dir.resolve("passwd-like"), "root:x:0:0\n");
    Path link = Files.createSymbolicLink(dir.resolve("e0.wb"), target);
    assertThatThrownBy(() -> EngineFixture.start(config(link)))
        .hasMessageStartingWith("export \"e0\": backing file " + link + ": is a symbolic link (to " + target + ")");
    assertThat(Files.readString(target)).isEqualTo("root:x:0:0\n");
    assertThat(Files.isSymbolicLink(link)).isTrue();
  }

  @Test
  void fileACrashedRunLeftIsTakenOverServedAndRemoved(@TempDir Path dir) throws IOException {
    Path crashed = dir.resolve("crashed.wb");
    try (EngineFixture first = EngineFixture.start(config(dir.resolve("first.wb")))) {
      fillAndWriteBack(first.zswapd(), 50);
      // what a crash leaves: the file with its header and slots, still 0600, and no run to remove it
      Files.copy(dir.resolve("first.wb"), crashed, StandardCopyOption.COPY_ATTRIBUTES);
    }
    assertThat(Files.size(crashed)).isGreaterThan(50 * 1000L);
    try (EngineFixture second = EngineFixture.start(config(crashed))) {
      assertThat(Files.size(crashed)).as("the crashed run's slots are dropped at start").isEqualTo(4096);
      fillAndWriteBack(second.zswapd(), 80);
      assertPagesLoad(second.zswapd(), 80);
    }
    assertThat(crashed).doesNotExist();
  }

  @Test
  void fileReplacedAtThePathDuringTheRunIsNotRemovedAtShutdown(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("e0.wb");
    try (EngineFixture engine = EngineFixture.start(config(file))) {
      fillAndWriteBack(engine.zswapd(), 20);
      Files.move(file, dir.resolve("e0.wb.moved"));
      Files.writeString(file, "put here by someone else\n");
      assertPagesLoad(engine.zswapd(), 20); // the engine keeps its open file
    }
    assertThat(Files.readString(file)).isEqualTo("put here by someone else\n");
  }

  @Test
  void twoExportsNamingOneFileAreRefusedByTheSettings(@TempDir Path dir) {
    Path file = dir.resolve("shared.wb");
    assertThatThrownBy(() -> EngineFixture.start(config(file, file)))
        .isInstanceOf(SettingsException.class)
        .hasMessageContaining("export \"e1\" and export \"e0\" (zswapd.exports[0]) name one backing file " + file);
    assertThat(file).doesNotExist();
  }

  @Test
  void twoExportsReachingOneFileThroughALinkedDirectoryAreRefused(@TempDir Path dir) throws IOException {
    Path real = Files.createDirectory(dir.resolve("real"));
    Path alias = Files.createSymbolicLink(dir.resolve("alias"), real);
    assertThatThrownBy(() -> EngineFixture.start(config(real.resolve("wb"), alias.resolve("wb"))))
        .hasMessage("export \"e1\": backing file " + alias.resolve("wb") + " is the file " + real.resolve("wb")
            + " that export \"e0\" uses; each export needs a backing file of its own");
    assertThat(real.resolve("wb")).as("the first export's file is closed and removed again").doesNotExist();
  }

  @Test
  void fileAnotherRunningEngineUsesIsRefused(@TempDir Path dir) {
    Path file = dir.resolve("e0.wb");
    try (EngineFixture first = EngineFixture.start(config(file))) {
      fillAndWriteBack(first.zswapd(), 10);
      assertThatThrownBy(() -> EngineFixture.start(config(file)))
          .hasMessage("export \"e0\": backing file " + file + ": already in use in this process (another export or"
              + " engine has it open)");
      assertPagesLoad(first.zswapd(), 10);
    }
  }
}
