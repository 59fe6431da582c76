package io.zswapd.testkit.writeback;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.actors.writeback.FileBackingIo;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.PageGenerator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A written-back page damaged in the file (as by bit rot, or another process writing into it)
 * is never returned: its load fails with an I/O error that says "checksum mismatch", the
 * figures count it, and every other page, and the page once stored again, load as before.
 */
class CorruptBackingPageTest {
  private static final PageGenerator GEN = new PageGenerator(1604);

  private static void flipByteOnDisk(Path file, long position) throws IOException {
    try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      c.read(b, position);
      b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
      c.write(b, position);
    }
  }

  @Test
  void damagedPageInTheFileFailsItsLoadAndNothingElse(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("swap0.wb");
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 16 MiB\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 64 MiB, backing-file = \"" + file + "\" } ]\n")) {
      Zswapd z = engine.zswapd();
      // page 0 is the only page written back, so its slot is at offset 0, right behind the header
      byte[] incompressible = GEN.page(0, PageGenerator.Kind.RANDOM);
      await(z.store("swap0", 0, incompressible));
      await(z.writeback(WritebackMode.ALL)); // an incompressible page may have gone to the file already
      assertThat(await(z.stats()).export("swap0").orElseThrow().backing().writtenBackPages()).isEqualTo(1);
      await(z.store("swap0", 1, GEN.page(1, PageGenerator.Kind.C50)));

      flipByteOnDisk(file, FileBackingIo.HEADER_BYTES + 1234);
      ZswapdException failed = catchThrowableOfType(() -> await(z.load("swap0", 0)), ZswapdException.class);
      assertThat(failed).as("a damaged raw page would decompress to wrong bytes; it must not load").isNotNull();
      assertThat(failed.code()).isEqualTo(ErrorCode.IO_ERROR);
      assertThat(failed.getMessage()).contains("checksum mismatch in the slot at offset 0");
      ExportStats s = await(z.stats()).export("swap0").orElseThrow();
      assertThat(s.backing().corruptReads()).isEqualTo(1);
      assertThat(s.backing().readErrors()).isEqualTo(1);

      assertThat(await(z.load("swap0", 1))).isEqualTo(GEN.page(1, PageGenerator.Kind.C50));
      await(z.store("swap0", 0, incompressible));
      assertThat(await(z.load("swap0", 0))).as("stored again, it loads").isEqualTo(incompressible);
    }
  }
}
