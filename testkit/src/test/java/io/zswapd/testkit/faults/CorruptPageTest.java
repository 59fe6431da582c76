package io.zswapd.testkit.faults;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.writeback.BackingIo;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.testkit.EngineFixture;
import io.zswapd.testkit.GatedBackingIo;
import io.zswapd.testkit.PageGenerator;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * A page damaged in the backing file (bit rot, another process writing into it) is an error for
 * that page only (EIO over NBD), counted, and its tree shard goes on serving every other page;
 * nothing waits for the 60 s request timeout (issue 15, point 2): a shard that died would show
 * here as {@code await}'s 30 s "no answer".
 */
class CorruptPageTest {
  static final String EXPORT = "swap0";

  /** The export's file, kept in memory; from {@link #corrupt} on, every read returns damaged bytes. */
  static final class DamagedFile implements BackingIo {
    private final GatedBackingIo file = GatedBackingIo.inMemory().holdWrites(false);
    private volatile boolean corrupt;

    void corrupt() {
      corrupt = true;
    }

    @Override
    public CompletionStage<Void> write(long position, byte[] bytes) {
      return file.write(position, bytes);
    }

    @Override
    public CompletionStage<byte[]> read(long position, int length) {
      return file.read(position, length).thenApply(bytes -> {
        if (corrupt) {
          for (int i = 0; i < bytes.length; i += 7) {
            bytes[i] ^= (byte) 0x5a;
          }
        }
        return bytes;
      });
    }

    @Override
    public void close() {
      file.close();
    }
  }

  @Test
  void aDamagedPageIsAnErrorForThatPageAloneAndItsShardServesTheRest() throws Exception {
    DamagedFile file = new DamagedFile();
    PageGenerator pages = new PageGenerator(2015);
    try (EngineFixture engine = EngineFixture.start("""
        zswapd.pool.max-size = 64 MiB
        zswapd.exports = [ { name = "swap0", size = 64 MiB, backing-file = "/nonexistent/zswapd-corrupt" } ]
        """, new ZswapdSetup(export -> file))) {
      Zswapd z = engine.zswapd();
      for (int p = 0; p < 8; p++) {
        await(z.store(EXPORT, p, pages.page(p, PageGenerator.Kind.C50)));
      }
      assertThat(await(z.writeback(WritebackMode.ALL)).writtenBack()).isEqualTo(8);
      await(z.store(EXPORT, 100, pages.page(100, PageGenerator.Kind.C50))); // same shard, in memory
      file.corrupt();

      for (long p : new long[] {3, 0}) {
        assertThatThrownBy(() -> await(z.load(EXPORT, p)))
            .isInstanceOf(ZswapdException.class)
            .satisfies(e -> assertThat(((ZswapdException) e).code()).isIn(ErrorCode.CORRUPT, ErrorCode.IO_ERROR))
            .hasMessageContaining("page " + p);
      }
      assertThatThrownBy(() -> await(z.loadPages(EXPORT, 4, 4))).isInstanceOf(ZswapdException.class);
      assertThatThrownBy(() -> await(z.patch(EXPORT, 5, 10, new byte[] {1, 2, 3})))
          .as("a patch needs the damaged bytes").isInstanceOf(ZswapdException.class);

      assertThat(await(z.load(EXPORT, 100))).as("the shard still serves its other pages")
          .isEqualTo(pages.page(100, PageGenerator.Kind.C50));
      byte[] fresh = pages.page(1000, PageGenerator.Kind.C50);
      await(z.store(EXPORT, 3, fresh));
      assertThat(await(z.load(EXPORT, 3))).as("a damaged page written again is whole again").isEqualTo(fresh);
      ExportStats stats = await(z.stats()).export(EXPORT).orElseThrow();
      assertThat(stats.backing().readErrors()).as("failed reads counted").isGreaterThanOrEqualTo(4);
      assertThat(await(z.shutdown()).clean()).as("nothing leaked").isTrue();
    }
  }
}
