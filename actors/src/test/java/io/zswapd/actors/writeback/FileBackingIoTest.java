package io.zswapd.actors.writeback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which files a backing file may be (created 0600 without following links, or taken over from a
 * crashed run by its header; anything else refused and left untouched), its header, the slot
 * positions behind it, and removal at close only of the file this run opened.
 */
class FileBackingIoTest {
  private static final ExecutorService blocking = Executors.newFixedThreadPool(2);
  private static final int HEADER = FileBackingIo.HEADER_BYTES;

  @AfterAll
  static void stop() {
    blocking.shutdownNow();
  }

  private static FileBackingIo open(Path file) throws IOException {
    return FileBackingIo.open(file, "swap0", blocking);
  }

  private static Optional<FileBackingIo.Header> headerAt(Path file) throws IOException {
    try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
      return FileBackingIo.readHeader(c);
    }
  }

  /** A file as a crashed run of export {@code export} leaves it: its header, then slots. */
  private static Path leftByCrashedRun(Path file, String export, UUID instance) throws IOException {
    byte[] slots = new byte[3 * 4096];
    Arrays.fill(slots, (byte) 0x77);
    Files.write(file, FileBackingIo.headerBytes(export, instance, 1_700_000_000_000L, 4242));
    Files.write(file, slots, StandardOpenOption.APPEND);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    return file;
  }

  @Test
  void slotOffsetsLieBehindTheHeader(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("wb");
    try (FileBackingIo io = open(file)) {
      byte[] a = "first slot".getBytes();
      byte[] b = new byte[5000];
      Arrays.fill(b, (byte) 0x5a);
      io.write(4096, b).toCompletableFuture().join();
      io.write(64, a).toCompletableFuture().join();
      assertThat(io.read(64, a.length).toCompletableFuture().join()).isEqualTo(a);
      assertThat(io.read(4096, b.length).toCompletableFuture().join()).isEqualTo(b);
      // the gap before the first write reads as zeros, as in any sparse file
      assertThat(io.read(0, 64).toCompletableFuture().join()).isEqualTo(new byte[64]);
      assertThat(Files.size(file)).isEqualTo(HEADER + 4096 + 5000);
      byte[] onDisk = Files.readAllBytes(file);
      assertThat(Arrays.copyOfRange(onDisk, HEADER + 64, HEADER + 64 + a.length)).isEqualTo(a);
      assertThat(new String(onDisk, 0, 8, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("ZSWAPDBK");
    }
  }

  @Test
  void createdFileIsOwnerOnlyCarriesThisRunsHeaderAndIsDeletedOnClose(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("wb");
    FileBackingIo io = open(file);
    assertThat(io.takenOver()).isFalse();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS)))
        .isEqualTo("rw-------");
    FileBackingIo.Header header = headerAt(file).orElseThrow();
    assertThat(header.instance()).isEqualTo(io.instance());
    assertThat(header.export()).isEqualTo("swap0");
    assertThat(header.pid()).isEqualTo(ProcessHandle.current().pid());
    io.write(0, new byte[100]).toCompletableFuture().join();
    io.close();
    assertThat(file).doesNotExist();
  }

  @Test
  void plainFileAtThePathIsRefusedAndUntouched(@TempDir Path dir) throws Exception {
    byte[] userData = "the user's own data\n".repeat(500).getBytes();
    Path file = Files.write(dir.resolve("wb"), userData);
    assertThatThrownBy(() -> open(file)).isInstanceOf(IOException.class)
        .hasMessage("backing file " + file + ": exists and is not a zswapd backing file (no zswapd header); zswapd "
            + "only writes into a file it created: remove it, or name a path where no file exists");
    assertThat(Files.readAllBytes(file)).isEqualTo(userData);
  }

  @Test
  void preallocatedFileOfZerosIsRefusedToo(@TempDir Path dir) throws Exception {
    Path file = Files.write(dir.resolve("wb"), new byte[64 * 1024]);
    assertThatThrownBy(() -> open(file)).isInstanceOf(IOException.class).hasMessageContaining("no zswapd header");
    assertThat(Files.size(file)).isEqualTo(64 * 1024);
  }

  @Test
  void symlinkIsRefusedAndItsTargetUntouched(@TempDir Path dir) throws Exception {
    Path target = Files.writeString(dir.resolve("target"), "precious\n");
    Path link = Files.createSymbolicLink(dir.resolve("wb"), target);
    assertThatThrownBy(() -> open(link)).isInstanceOf(IOException.class)
        .hasMessage("backing file " + link + ": is a symbolic link (to " + target + "); zswapd never follows a link"
            + " to a backing file: name a path where no file exists");
    assertThat(Files.readString(target)).isEqualTo("precious\n");
    assertThat(Files.isSymbolicLink(link)).isTrue();
  }

  @Test
  void danglingSymlinkIsRefusedAndNothingIsCreatedWhereItPoints(@TempDir Path dir) throws Exception {
    Path target = dir.resolve("would-be-created");
    Path link = Files.createSymbolicLink(dir.resolve("wb"), target);
    assertThatThrownBy(() -> open(link)).isInstanceOf(IOException.class).hasMessageContaining("is a symbolic link");
    assertThat(target).doesNotExist();
  }

  @Test
  void symlinkToAFileWithAZswapdHeaderIsRefusedToo(@TempDir Path dir) throws Exception {
    Path real = leftByCrashedRun(dir.resolve("real"), "swap0", UUID.randomUUID());
    byte[] before = Files.readAllBytes(real);
    Path link = Files.createSymbolicLink(dir.resolve("wb"), real);
    assertThatThrownBy(() -> open(link)).isInstanceOf(IOException.class).hasMessageContaining("is a symbolic link");
    assertThat(Files.readAllBytes(real)).isEqualTo(before);
  }

  @Test
  void fileLeftByACrashedRunIsTakenOverTruncatedAndGivenThisRunsHeader(@TempDir Path dir) throws Exception {
    UUID crashed = UUID.randomUUID();
    Path file = leftByCrashedRun(dir.resolve("wb"), "old-export", crashed);
    FileBackingIo io = open(file);
    assertThat(io.takenOver()).isTrue();
    assertThat(Files.size(file)).as("the crashed run's slots are dropped").isEqualTo(HEADER);
    FileBackingIo.Header header = headerAt(file).orElseThrow();
    assertThat(header.instance()).isEqualTo(io.instance()).isNotEqualTo(crashed);
    assertThat(header.export()).isEqualTo("swap0");
    io.write(0, new byte[] {1, 2, 3}).toCompletableFuture().join();
    assertThat(io.read(0, 3).toCompletableFuture().join()).containsExactly(1, 2, 3);
    io.close();
    assertThat(file).as("a file taken over is this run's, and goes with it").doesNotExist();
  }

  @Test
  void fileLeftByACrashedRunButReadableByOthersIsRefused(@TempDir Path dir) throws Exception {
    Path file = leftByCrashedRun(dir.resolve("wb"), "swap0", UUID.randomUUID());
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    long size = Files.size(file);
    assertThatThrownBy(() -> open(file)).isInstanceOf(IOException.class)
        .hasMessageContaining("has permissions rw-r--r--").hasMessageContaining("remove it");
    assertThat(Files.size(file)).isEqualTo(size);
  }

  @Test
  void fileTheRunningInstanceHoldsIsRefusedToASecondOpen(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("wb");
    try (FileBackingIo first = open(file)) {
      first.write(0, new byte[] {9}).toCompletableFuture().join();
      assertThatThrownBy(() -> FileBackingIo.open(file, "other", blocking)).isInstanceOf(IOException.class)
          .hasMessage("backing file " + file + ": already in use in this process (another export or engine has it"
              + " open)");
      assertThat(headerAt(file).orElseThrow().instance()).as("the first run's header stands")
          .isEqualTo(first.instance());
      assertThat(first.read(0, 1).toCompletableFuture().join()).containsExactly(9);
    }
  }

  @Test
  void fileReplacedAtThePathDuringTheRunIsLeftAtClose(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("wb");
    FileBackingIo io = open(file);
    Files.move(file, dir.resolve("moved-away"));
    Files.writeString(file, "someone else's file\n");
    io.close();
    assertThat(Files.readString(file)).isEqualTo("someone else's file\n");
  }

  @Test
  void copyOfThisRunsFileAtThePathIsLeftAtClose(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("wb");
    FileBackingIo io = open(file);
    Path aside = dir.resolve("aside");
    Files.move(file, aside);
    Files.copy(aside, file); // same header, another inode
    io.close();
    assertThat(file).exists();
  }

  @Test
  void pathRemovedDuringTheRunIsNoErrorAtClose(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("wb");
    FileBackingIo io = open(file);
    Files.delete(file);
    io.close();
    assertThat(file).doesNotExist();
  }

  @Test
  void missingDirectoryIsNamedWithThePath(@TempDir Path dir) {
    Path file = dir.resolve("absent").resolve("wb");
    assertThatThrownBy(() -> open(file))
        .isInstanceOf(IOException.class)
        .hasMessage("backing file " + file + ": directory " + file.getParent() + " does not exist");
  }

  @Test
  void directoryIsNotABackingFile(@TempDir Path dir) {
    assertThatThrownBy(() -> open(dir))
        .isInstanceOf(IOException.class)
        .hasMessage("backing file " + dir + ": is a directory");
  }

  @Test
  void readPastTheEndFailsNamingSlotOffsetAndLength(@TempDir Path dir) throws Exception {
    try (FileBackingIo io = open(dir.resolve("wb"))) {
      io.write(0, new byte[1000]).toCompletableFuture().join();
      assertThatThrownBy(() -> io.read(512, 1024).toCompletableFuture().join())
          .isInstanceOf(CompletionException.class)
          .hasRootCauseInstanceOf(EOFException.class)
          .satisfies(e -> assertThat(BackingStore.describe(e)).isEqualTo("backing file "
              + dir.resolve("wb") + ": end of file after 488 of 1024 bytes reading at slot offset 512"));
    }
  }

  @Test
  void ioAfterCloseFails(@TempDir Path dir) throws Exception {
    FileBackingIo io = open(dir.resolve("wb"));
    io.close();
    assertThatThrownBy(() -> io.write(0, new byte[10]).toCompletableFuture().join())
        .isInstanceOf(CompletionException.class)
        .hasMessageContaining("write of 10 bytes at slot offset 0 failed");
  }
}
