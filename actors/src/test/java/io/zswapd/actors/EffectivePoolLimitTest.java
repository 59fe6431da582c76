package io.zswapd.actors;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.config.ZswapdSettings;
import org.junit.jupiter.api.Test;

class EffectivePoolLimitTest {
  private static final long MIB = 1 << 20;

  @Test
  void theConfiguredLimitStandsWhenDirectMemoryCanHoldIt() {
    ZswapdSettings s = ZswapdSettings.parse("zswapd.pool.max-size = 512 MiB");
    assertThat(ZswapGuardian.effectivePoolLimit(s.pool(), 1024 * MIB)).isEqualTo(512 * MIB);
  }

  @Test
  void aLimitAboveDirectMemoryIsLoweredLeavingTheReserve() {
    ZswapdSettings s = ZswapdSettings.parse("zswapd.pool.max-size = 4 GiB");
    assertThat(ZswapGuardian.effectivePoolLimit(s.pool(), 256 * MIB))
        .isEqualTo(256 * MIB - ZswapGuardian.DIRECT_MEMORY_RESERVE);
  }
}
