package io.zswapd.actors.writeback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileBackingIoTest {
  private static final ExecutorService blocking = Executors.newFixedThreadPool(2);

  @AfterAll
  static void stop() {
    blocking.shutdownNow();
  }

  @Test
  void bytesWrittenAtAPositionAreReadBackThere(@TempDir Path dir) throws Exception {
    try (FileBackingIo io = FileBackingIo.open(dir.resolve("wb"), blocking)) {
      byte[] a = "first slot".getBytes();
      byte[] b = new byte[5000];
      Arrays.fill(b, (byte) 0x5a);
      io.write(4096, b).toCompletableFuture().join();
      io.write(64, a).toCompletableFuture().join();
      assertThat(io.read(64, a.length).toCompletableFuture().join()).isEqualTo(a);
      assertThat(io.read(4096, b.length).toCompletableFuture().join()).isEqualTo(b);
      // the gap before the first write reads as zeros, as in any sparse file
      assertThat(io.read(0, 64).toCompletableFuture().join()).isEqualTo(new byte[64]);
      assertThat(Files.size(dir.resolve("wb"))).isEqualTo(4096 + 5000);
    }
  }

  @Test
  void fileItCreatedIsDeletedOnClose(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("wb");
    FileBackingIo io = FileBackingIo.open(file, blocking);
    assertThat(io.createdFile()).isTrue();
    io.write(0, new byte[100]).toCompletableFuture().join();
    io.close();
    assertThat(file).doesNotExist();
  }

  @Test
  void fileThatExistedIsReusedAndKeptOnClose(@TempDir Path dir) throws Exception {
    Path file = Files.write(dir.resolve("wb"), new byte[8192]);
    FileBackingIo io = FileBackingIo.open(file, blocking);
    assertThat(io.createdFile()).isFalse();
    io.write(0, new byte[] {1, 2, 3}).toCompletableFuture().join();
    io.close();
    assertThat(file).exists();
    assertThat(Files.size(file)).isEqualTo(8192);
  }

  @Test
  void missingDirectoryIsNamedWithThePath(@TempDir Path dir) {
    Path file = dir.resolve("absent").resolve("wb");
    assertThatThrownBy(() -> FileBackingIo.open(file, blocking))
        .isInstanceOf(IOException.class)
        .hasMessage("backing file " + file + ": directory " + file.getParent() + " does not exist");
  }

  @Test
  void directoryIsNotABackingFile(@TempDir Path dir) {
    assertThatThrownBy(() -> FileBackingIo.open(dir, blocking))
        .isInstanceOf(IOException.class)
        .hasMessage("backing file " + dir + ": is a directory");
  }

  @Test
  void readPastTheEndFailsNamingPositionAndLength(@TempDir Path dir) throws Exception {
    try (FileBackingIo io = FileBackingIo.open(dir.resolve("wb"), blocking)) {
      io.write(0, new byte[1000]).toCompletableFuture().join();
      assertThatThrownBy(() -> io.read(512, 1024).toCompletableFuture().join())
          .isInstanceOf(CompletionException.class)
          .hasRootCauseInstanceOf(EOFException.class)
          .satisfies(e -> assertThat(BackingStore.describe(e)).isEqualTo("backing file "
              + dir.resolve("wb") + ": end of file after 488 of 1024 bytes reading at position 512"));
    }
  }

  @Test
  void ioAfterCloseFails(@TempDir Path dir) throws Exception {
    FileBackingIo io = FileBackingIo.open(dir.resolve("wb"), blocking);
    io.close();
    assertThatThrownBy(() -> io.write(0, new byte[10]).toCompletableFuture().join())
        .isInstanceOf(CompletionException.class)
        .hasMessageContaining("write of 10 bytes at 0 failed");
  }
}
