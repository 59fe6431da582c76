package io.zswapd.testkit.interop;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.testkit.NbdFixture;
import io.zswapd.testkit.PageGenerator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * nbdcopy (libnbd, several connections at once since the export says CAN_MULTI_CONN) copies a
 * 96 MiB image in over TCP and back out over the Unix socket, bit for bit.
 *
 * <p>The image is made of 1 MiB stretches of random bytes, zeros, text and the page generator's
 * realistic mix, so the engine stores incompressible, same-filled and compressible pages.
 * Set {@code -Dzswapd.test.seed=N} to replay a failure.
 */
class NbdcopyInteropTest {
  private static final long IMAGE_SIZE = 96L << 20; // the export's size, so the copy out is as long as the image
  private static final int PAGES_PER_STRETCH = 256;
  private static NbdFixture nbd;

  @BeforeAll
  static void start() {
    ExternalTool.require("nbdcopy");
    nbd = NbdFixture.start("""
        zswapd.pool.max-size = 256 MiB
        zswapd.exports = [ { name = "image", size = 96 MiB } ]
        """);
  }

  @AfterAll
  static void stop() {
    if (nbd != null) {
      nbd.close();
    }
  }

  @Test
  void imageCopiedInAndOutIsIdenticalAndStoredCompressed() throws IOException {
    long seed = Long.getLong("zswapd.test.seed", System.nanoTime());
    Path in = nbd.dir().resolve("in.img");
    Path out = nbd.dir().resolve("out.img");
    writeImage(in, new PageGenerator(seed));

    ExternalTool.Result copyIn = ExternalTool.run(Duration.ofMinutes(2), "nbdcopy", in.toString(), nbd.tcpUri("image"));
    assertThat(copyIn.exitCode()).as("seed %d: %s", seed, copyIn.describe()).isZero();
    ExternalTool.Result copyOut = ExternalTool.run(Duration.ofMinutes(2), "nbdcopy", nbd.unixUri("image"), out.toString());
    assertThat(copyOut.exitCode()).as("seed %d: %s", seed, copyOut.describe()).isZero();

    assertThat(Files.size(out)).as("seed %d", seed).isEqualTo(IMAGE_SIZE);
    assertThat(sha256(out)).as("SHA-256 of the copy out, seed %d (replay with -Dzswapd.test.seed=%d)", seed, seed)
        .isEqualTo(sha256(in));

    ExportStats image = await(nbd.zswapd().stats()).export("image").orElseThrow();
    assertThat(image.storedPages()).as("stored pages, seed %d: %s", seed, image).isPositive();
    assertThat(image.samePages()).as("same-filled pages (the zero stretches), seed %d: %s", seed, image).isPositive();
    assertThat(image.comprDataSize()).as("compressed size, seed %d: %s", seed, image).isLessThan(image.origDataSize());
  }

  /** Stretch i is random, zero, text, then the realistic mix, in turn. */
  private static void writeImage(Path file, PageGenerator gen) {
    PageGenerator.Kind[] fixed = {PageGenerator.Kind.RANDOM, PageGenerator.Kind.ZERO, PageGenerator.Kind.TEXT};
    long pages = IMAGE_SIZE / PageGenerator.PAGE_SIZE;
    try (OutputStream o = Files.newOutputStream(file)) {
      for (long p = 0; p < pages; p++) {
        int stretch = (int) (p / PAGES_PER_STRETCH % 4);
        PageGenerator.Kind kind = stretch < fixed.length ? fixed[stretch] : gen.mixedKind(p);
        o.write(gen.page(p, kind));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream i = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = i.read(buf)) >= 0) {
        digest.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
