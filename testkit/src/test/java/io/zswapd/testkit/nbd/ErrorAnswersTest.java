package io.zswapd.testkit.nbd;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.NbdRequest;
import io.zswapd.testkit.NbdFixture;
import io.zswapd.testkit.PageGenerator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Bad requests get the spec's answer (EINVAL, ENOSPC, EPERM, or closing on a bad magic), a
 * refused WRITE's payload is skipped so the connection keeps serving, and no refused request
 * changes a byte that was stored before it.
 */
class ErrorAnswersTest {
  static final long SEED = 0xE55_5EEDL;
  static final int PAGE = 4096;
  static final int MIB = 1 << 20;
  /** A command flag no version of the spec defines. */
  static final int UNKNOWN_FLAG = 1 << 15;

  private static NbdFixture fixture;

  @BeforeAll
  static void start() {
    fixture = NbdFixture.start(StandardExports.HOCON);
  }

  @AfterAll
  static void stop() {
    fixture.close();
  }

  @Test
  void readPastTheEndAnswersEinvalAndTheConnectionKeepsServing() throws IOException {
    byte[] tail = ExportModel.random(new SplittableRandom(SEED), 100);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "tiny", true)) {
      nbd.write(MIB - 100, tail);
      assertError(nbd.request(Nbd.CMD_READ, 0, MIB - 100, 200, null), Nbd.EINVAL);
      assertError(nbd.request(Nbd.CMD_READ, 0, MIB, 1, null), Nbd.EINVAL);
      assertError(nbd.request(Nbd.CMD_READ, 0, Long.MIN_VALUE, 1, null), Nbd.EINVAL); // offset 2^63
      assertError(nbd.request(Nbd.CMD_READ, 0, -PAGE, 2 * PAGE, null), Nbd.EINVAL); // offset + length wraps 2^64
      assertThat(nbd.read(MIB - 100, 100)).as("seed %d", SEED).isEqualTo(tail);
    }
  }

  @Test
  void trimPastTheEndAnswersEinvalAndTrimsNothing() throws IOException {
    byte[] last = ExportModel.random(new SplittableRandom(SEED + 1), PAGE);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "tiny", true)) {
      nbd.write(MIB - PAGE, last);
      assertError(nbd.request(Nbd.CMD_TRIM, 0, MIB - PAGE, 2 * PAGE, null), Nbd.EINVAL);
      assertError(nbd.request(Nbd.CMD_TRIM, 0, MIB, PAGE, null), Nbd.EINVAL);
      assertThat(nbd.read(MIB - PAGE, PAGE)).as("seed %d", SEED + 1).isEqualTo(last);
    }
  }

  @Test
  void writePastTheEndAnswersEnospcAndItsPayloadIsSkipped() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 2);
    byte[] before = ExportModel.random(rnd, 2 * PAGE);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "tiny", true)) {
      nbd.write(MIB - 2 * PAGE, before);
      assertError(nbd.request(Nbd.CMD_WRITE, 0, MIB - 100, 200, ExportModel.random(rnd, 200)), Nbd.ENOSPC);
      assertError(nbd.request(Nbd.CMD_WRITE, 0, MIB + PAGE, 3 * PAGE, ExportModel.random(rnd, 3 * PAGE)),
          Nbd.ENOSPC);
      assertThat(nbd.read(MIB - 2 * PAGE, 2 * PAGE)).as("seed %d: nothing of a refused write lands", SEED + 2)
          .isEqualTo(before);
      assertRoundTrip(nbd, 3 * PAGE + 11, rnd);
    }
  }

  @Test
  void writeZeroesPastTheEndAnswersEnospcAndZeroesNothing() throws IOException {
    byte[] last = ExportModel.random(new SplittableRandom(SEED + 3), PAGE);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "tiny", true)) {
      nbd.write(MIB - PAGE, last);
      assertError(nbd.request(Nbd.CMD_WRITE_ZEROES, 0, MIB - PAGE, 2 * PAGE, null), Nbd.ENOSPC);
      assertError(nbd.request(Nbd.CMD_WRITE_ZEROES, Nbd.CMD_FLAG_NO_HOLE, MIB, 1, null), Nbd.ENOSPC);
      assertThat(nbd.read(MIB - PAGE, PAGE)).as("seed %d", SEED + 3).isEqualTo(last);
    }
  }

  @Test
  void unknownCommandsAnswerEinvalAndTheConnectionKeepsServing() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 4);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      // CACHE, BLOCK_STATUS and RESIZE exist in the spec but were not negotiated.
      for (int type : new int[] {99, Nbd.CMD_CACHE, Nbd.CMD_BLOCK_STATUS, Nbd.CMD_RESIZE, 0xffff}) {
        assertError(nbd.request(type, 0, 0, PAGE, null), Nbd.EINVAL);
        assertRoundTrip(nbd, 50L * MIB + type * 8L, rnd);
      }
    }
  }

  @Test
  void unknownFlagsOnReadAndWriteAnswerEinvalAndWriteNothing() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 5);
    long offset = 51L * MIB + 3;
    byte[] before = ExportModel.random(rnd, 5000);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      nbd.write(offset, before);
      assertError(nbd.request(Nbd.CMD_READ, UNKNOWN_FLAG, offset, 5000, null), Nbd.EINVAL);
      assertError(nbd.request(Nbd.CMD_WRITE, UNKNOWN_FLAG, offset, 5000, ExportModel.random(rnd, 5000)), Nbd.EINVAL);
      // NO_HOLE is defined for WRITE_ZEROES only
      assertError(nbd.request(Nbd.CMD_WRITE, Nbd.CMD_FLAG_NO_HOLE, offset, 5000, ExportModel.random(rnd, 5000)),
          Nbd.EINVAL);
      assertThat(nbd.read(offset, 5000)).as("seed %d", SEED + 5).isEqualTo(before);
      assertRoundTrip(nbd, offset + 10_000, rnd);
    }
  }

  @Test
  void readLongerThanMaxPayloadIsRefused() throws IOException {
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      assertThat(nbd.request(Nbd.CMD_READ, 0, 0, MIB + 1, null).error()).isIn(Nbd.EINVAL, Nbd.EOVERFLOW);
      assertThat(nbd.request(Nbd.CMD_READ, 0, 0, -1, null).error()).as("length 2^32 - 1")
          .isIn(Nbd.EINVAL, Nbd.EOVERFLOW);
      assertThat(nbd.read(0, MIB)).hasSize(MIB);
    }
  }

  @Test
  void writeLargerThanMaxPayloadIsRefusedAndItsPayloadSkipped() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 6);
    long offset = 52L * MIB;
    byte[] before = ExportModel.random(rnd, 2 * PAGE);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      nbd.write(offset, before);
      // The payload is random bytes: were any of it parsed as a header, the magic would be bad
      // and the server would close the connection.
      Reply refused = nbd.request(Nbd.CMD_WRITE, 0, offset, 2 * MIB, ExportModel.random(rnd, 2 * MIB));
      assertThat(refused.error()).as(refused.toString()).isIn(Nbd.EINVAL, Nbd.EOVERFLOW);
      assertThat(nbd.read(offset, 2 * PAGE)).as("seed %d", SEED + 6).isEqualTo(before);
      assertRoundTrip(nbd, offset + 3 * MIB, rnd);
    }
  }

  @Test
  void writesTrimsAndWriteZeroesToAReadOnlyExportAnswerEperm() throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 7);
    try (NbdClient nbd = NbdClient.connectGo(fixture.tcp(), "ro", true)) {
      assertError(nbd.request(Nbd.CMD_WRITE, 0, 0, 2 * PAGE, ExportModel.random(rnd, 2 * PAGE)), Nbd.EPERM);
      assertError(nbd.request(Nbd.CMD_WRITE, Nbd.CMD_FLAG_FUA, 100, 10, ExportModel.random(rnd, 10)), Nbd.EPERM);
      assertError(nbd.request(Nbd.CMD_TRIM, 0, 0, PAGE, null), Nbd.EPERM);
      assertError(nbd.request(Nbd.CMD_WRITE_ZEROES, 0, 0, PAGE, null), Nbd.EPERM);
      nbd.flush();
      assertThat(nbd.read(0, 2 * PAGE)).isEqualTo(new byte[2 * PAGE]);
    }
    assertThat(await(fixture.zswapd().stats()).export("ro").orElseThrow().storedPages()).isZero();
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void badRequestMagicClosesThatConnectionOnlyAfterAnsweringEarlierRequests(Transport transport) throws IOException {
    SplittableRandom rnd = new SplittableRandom(SEED + 8);
    long offset = 53L * MIB + 1 + transport.ordinal() * 8L * PAGE;
    byte[] data = ExportModel.random(rnd, 3 * PAGE);
    Transport other = transport == Transport.TCP ? Transport.UNIX : Transport.TCP;
    try (NbdClient bad = NbdClient.connectGo(transport.address(fixture), "swap0", true);
         NbdClient good = NbdClient.connectGo(other.address(fixture), "swap0", true)) {
      long write = bad.send(Nbd.CMD_WRITE, 0, offset, data.length, data);
      byte[] header = new NbdRequest(0, Nbd.CMD_READ, 99, 0, PAGE).encode();
      ByteBuffer.wrap(header).putInt(0, 0xdeadbeef);
      bad.sendRaw(header);
      Reply r = bad.await(write);
      assertThat(r.error()).as("the write before the bad magic is answered: %s", r).isZero();
      assertThat(bad.awaitServerClose()).isTrue();

      assertThat(good.read(offset, data.length)).as("seed %d", SEED + 8).isEqualTo(data);
      assertRoundTrip(good, offset + 5 * PAGE, rnd);
    }
    try (NbdClient fresh = NbdClient.connectGo(fixture.tcp(), "swap0", true)) {
      assertThat(fresh.read(offset, data.length)).as("seed %d", SEED + 8).isEqualTo(data);
    }
  }

  @Test
  void aFullPoolAnswersEnospcAndThePageKeepsItsPreviousContent() throws IOException {
    PageGenerator gen = new PageGenerator(SEED + 9);
    try (NbdFixture small = NbdFixture.start("""
            zswapd.pool.max-size = 1 MiB
            zswapd.exports = [ { name = "swap0", size = 64 MiB } ]
            zswapd.nbd.max-payload = 1 MiB
            """);
         NbdClient nbd = NbdClient.connectGo(small.tcp(), "swap0", true)) {
      byte[] original = gen.page(0, PageGenerator.Kind.C50);
      nbd.write(0, original);
      int stored = 0;
      Reply refused = null;
      for (int i = 1; i <= 1000 && refused == null; i++) {
        Reply r = nbd.request(Nbd.CMD_WRITE, 0, (long) i * PAGE, PAGE, gen.page(i, PageGenerator.Kind.RANDOM));
        if (r.isOk()) {
          stored++;
        } else {
          refused = r;
        }
      }
      assertThat(refused).as("seed %d: a 1 MiB pool cannot hold 1000 raw pages", SEED + 9).isNotNull();
      assertThat(refused.error()).as(refused.toString()).isEqualTo(Nbd.ENOSPC);
      assertThat(stored).isBetween(1, 256);

      assertError(nbd.request(Nbd.CMD_WRITE, 0, 0, PAGE, gen.page(5000, PageGenerator.Kind.RANDOM)), Nbd.ENOSPC);
      assertError(nbd.request(Nbd.CMD_WRITE, 0, 100, 3000, ExportModel.random(new SplittableRandom(SEED), 3000)),
          Nbd.ENOSPC);
      assertThat(nbd.read(0, PAGE)).as("seed %d: a refused overwrite keeps the old page", SEED + 9)
          .isEqualTo(original);
      assertThat(nbd.read(PAGE, PAGE)).isEqualTo(gen.page(1, PageGenerator.Kind.RANDOM));
      assertThat(nbd.read((long) stored * PAGE, PAGE)).isEqualTo(gen.page(stored, PageGenerator.Kind.RANDOM));
      assertThat(nbd.read((long) (stored + 1) * PAGE, PAGE)).as("the refused page stays unwritten")
          .isEqualTo(new byte[PAGE]);

      EngineStats s = await(small.zswapd().stats());
      assertThat(s.pool().poolLimitHit()).isPositive();
      assertThat(s.export("swap0").orElseThrow().rejectAllocFail()).isGreaterThanOrEqualTo(3);
      assertThat(s.export("swap0").orElseThrow().storedPages()).isEqualTo(stored + 1);
    }
  }

  private static void assertError(Reply r, int error) {
    assertThat(r.error()).as("%s, expected %s", r, Nbd.errorName(error)).isEqualTo(error);
    assertThat(r.data()).isEmpty();
  }

  private static void assertRoundTrip(NbdClient nbd, long offset, SplittableRandom rnd) throws IOException {
    byte[] data = ExportModel.random(rnd, 1 + rnd.nextInt(2 * PAGE));
    nbd.write(offset, data);
    assertThat(nbd.read(offset, data.length)).as("seed-derived round trip at %d", offset).isEqualTo(data);
  }
}
