package io.zswapd.testkit;

import static io.zswapd.testkit.EngineFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.actors.arena.DirectMemoryBudget;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.config.SettingsException;
import io.zswapd.protocol.engine.ErrorCode;
import org.junit.jupiter.api.Test;

/**
 * The pool limit in force is the one configured: an embedded engine whose {@code pool.max-size}
 * the JVM's direct memory cannot hold does not start, and a live {@code set} past it is refused
 * and changes nothing; nothing is quietly lowered.
 */
class PoolLimitVsDirectMemoryTest {
  private static final long GIB = 1L << 30;

  /** A whole number of GiB at least as large as this JVM's direct-memory limit: too large a pool. */
  private static long tooLarge() {
    return (DirectMemoryBudget.jvmLimit().bytes() + GIB - 1) / GIB * GIB;
  }

  @Test
  void engineWithAPoolTheJvmCannotHoldDoesNotStart() {
    long pool = tooLarge();
    assertThatThrownBy(() -> EngineFixture.start("zswapd.pool.max-size = " + pool))
        .isInstanceOf(SettingsException.class)
        .hasMessageStartingWith("zswapd.pool.max-size = " + pool + " B (")
        .hasMessageContaining("more than the JVM's limit")
        .hasMessageContaining("start java with -XX:MaxDirectMemorySize=");
  }

  @Test
  void largestPoolTheRuleAllowsStartsWithExactlyThatLimit() {
    long jvm = DirectMemoryBudget.jvmLimit().bytes();
    long pool = (jvm - Math.max(jvm / 11, DirectMemoryBudget.MIN_HEADROOM)) / (1 << 20) * (1 << 20);
    assertThat(DirectMemoryBudget.required(pool)).isLessThanOrEqualTo(jvm);
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = " + pool)) {
      assertThat(await(engine.zswapd().stats()).pool().memLimit()).as("the configured limit, not lowered")
          .isEqualTo(pool);
    }
  }

  @Test
  void liveLimitTheJvmCannotHoldIsRefusedAndChangesNothing() {
    try (EngineFixture engine = EngineFixture.start("zswapd.pool.max-size = 64 MiB")) {
      Zswapd z = engine.zswapd();
      ZswapdException refused = org.assertj.core.api.Assertions.catchThrowableOfType(
          () -> await(z.set("pool.max-size", tooLarge() + "")), ZswapdException.class);
      assertThat(refused).isNotNull();
      assertThat(refused.code()).isEqualTo(ErrorCode.INVALID);
      assertThat(refused.getMessage()).contains("zswapd.pool.max-size = " + tooLarge() + " B")
          .contains("-XX:MaxDirectMemorySize=");
      assertThat(await(z.stats()).pool().memLimit()).isEqualTo(64L << 20);
      assertThat(await(z.set("pool.max-size", "128 MiB")).poolLimitBytes()).isEqualTo(128L << 20);
    }
  }
}
