package io.zswapd.testkit.interop;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import io.zswapd.testkit.NbdFixture;
import io.zswapd.testkit.nbd.NbdClient;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * fio's nbd engine (libnbd underneath): two jobs write 4 KiB blocks at random, 16 deep, into
 * separate 32 MiB halves of an export, with a CRC32C in each block; fio checks every block right
 * after writing, and again in a second run that only reads ({@code --verify_only} with the same
 * job parameters, so the same default seeds give the same offsets and contents).
 */
class FioInteropTest {
  private static final long BYTES = 64L << 20; // two jobs x --size=32m
  private static NbdFixture nbd;

  @BeforeAll
  static void start() {
    ExternalTool.require("fio");
    nbd = NbdFixture.start("""
        zswapd.pool.max-size = 256 MiB
        zswapd.exports = [ { name = "fio", size = 64 MiB }, { name = "fio-control", size = 64 MiB } ]
        """);
  }

  @AfterAll
  static void stop() {
    if (nbd != null) {
      nbd.close();
    }
  }

  @Test
  void randomWritesVerifyRightAwayAndAgainInAVerifyOnlyRun() {
    ExternalTool.Result write = fio(nbd.tcpUri("fio"), "--do_verify=1");
    assertThat(write.exitCode()).as(write.describe()).isZero();
    assertNoJobErrors(write);
    assertThat(total(write, "write")).as(write.describe()).isEqualTo(BYTES);
    assertThat(total(write, "read")).as("bytes read back to verify\n%s", write.describe()).isEqualTo(BYTES);

    ExternalTool.Result verify = fio(nbd.tcpUri("fio"), "--verify_only");
    assertThat(verify.exitCode()).as(verify.describe()).isZero();
    assertNoJobErrors(verify);
    // fio accounts the skipped writes too (write.io_bytes is 64 MiB without a write sent), so
    // only the reads say that every block was checked
    assertThat(total(verify, "read")).as(verify.describe()).isEqualTo(BYTES);
  }

  /** The control, over the Unix socket: one overwritten block makes the verify-only run fail. */
  @Test
  void verifyOnlyRunReportsABlockOverwrittenBehindFiosBack() throws IOException {
    ExternalTool.Result write = fio(nbd.unixUri("fio-control"), "--do_verify=1");
    assertThat(write.exitCode()).as(write.describe()).isZero();
    assertNoJobErrors(write);

    byte[] garbage = new byte[4096];
    Arrays.fill(garbage, (byte) 0x33);
    try (NbdClient client = NbdClient.connectGo(nbd.tcp(), "fio-control", true)) {
      client.write(1 << 20, garbage);
      client.disconnect();
    }

    ExternalTool.Result verify = fio(nbd.unixUri("fio-control"), "--verify_only");
    assertThat(verify.exitCode()).as(verify.describe()).isNotZero();
    assertThat(ToolOutput.json(verify.stdout()).getConfigList("jobs"))
        .as(verify.describe()).anySatisfy(job -> assertThat(job.getInt("error")).isNotZero());
    assertThat(verify.stderr()).as(verify.describe()).contains("offset 1048576");
  }

  private static ExternalTool.Result fio(String uri, String verifyMode) {
    List<String> argv = new ArrayList<>(List.of("fio", "--name=zswapd", "--ioengine=nbd", "--uri=" + uri,
        "--rw=randwrite", "--bs=4k", "--size=32m", "--offset_increment=32m", "--numjobs=2", "--iodepth=16",
        "--verify=crc32c", "--buffer_compress_percentage=50", "--refill_buffers", "--group_reporting",
        "--output-format=json",
        "--verify_state_save=0")); // no *-verify.state files in the working directory
    argv.add(verifyMode);
    return ExternalTool.run(Duration.ofMinutes(2), argv.toArray(String[]::new));
  }

  private static void assertNoJobErrors(ExternalTool.Result r) {
    List<? extends Config> jobs = ToolOutput.json(r.stdout()).getConfigList("jobs");
    assertThat(jobs).as(r.describe()).isNotEmpty()
        .allSatisfy(job -> assertThat(job.getInt("error")).as("fio job error").isZero());
  }

  /** Bytes moved in one direction, over all jobs. */
  private static long total(ExternalTool.Result r, String direction) {
    return ToolOutput.json(r.stdout()).getConfigList("jobs").stream()
        .mapToLong(job -> job.getLong(direction + ".io_bytes")).sum();
  }
}
