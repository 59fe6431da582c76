package io.zswapd.testkit.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** The helper the interop tests stand on: skipping (or failing on CI) without a tool, and timeouts. */
class ExternalToolTest {
  @Test
  void missingToolSkipsLocallyAndFailsOnCiNamingThePackage() {
    boolean ci = "true".equals(System.getenv("CI"));
    assertThat(ExternalTool.find("zswapd-no-such-tool")).isEmpty();
    assertThatThrownBy(() -> ExternalTool.require("zswapd-no-such-tool"))
        .isInstanceOf(ci ? AssertionFailedError.class : TestAbortedException.class)
        .hasMessageContaining("zswapd-no-such-tool not installed");
    assertThatThrownBy(() -> ExternalTool.unavailable("qemu-io", "not installed"))
        .hasMessageContaining("apt-get install qemu-utils");
    assertThatThrownBy(() -> ExternalTool.unavailable("nbdsh", "not installed"))
        .hasMessageContaining("apt-get install python3-libnbd");
    assertThatThrownBy(() -> ExternalTool.unavailable("qemu-system-x86_64", "not installed"))
        .hasMessageContaining("apt-get install qemu-system-x86");
    assertThatThrownBy(() -> ExternalTool.skipOrFail("no kernel; get it with: apt-get download linux-image-amd64"))
        .isInstanceOf(ci ? AssertionFailedError.class : TestAbortedException.class)
        .hasMessageContaining("get it with: apt-get download");
  }

  @Test
  void runCapturesStatusAndBothStreams() {
    ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(10), Map.of("ZSWAPD_WORD", "page"),
        "sh", "-c", "echo out $ZSWAPD_WORD; echo err >&2; exit 3");
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.stdout()).isEqualTo("out page\n");
    assertThat(r.stderr()).isEqualTo("err\n");
  }

  @Test
  void runKillsAProcessThatOutlivesItsTimeoutAndFails() {
    long start = System.nanoTime();
    assertThatThrownBy(() -> ExternalTool.run(Duration.ofMillis(300), "sh", "-c", "echo started; sleep 30"))
        .isInstanceOf(AssertionFailedError.class)
        .hasMessageContaining("did not finish within")
        .hasMessageContaining("started");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
  }
}
