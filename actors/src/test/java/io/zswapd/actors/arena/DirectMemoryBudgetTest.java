package io.zswapd.actors.arena;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zswapd.config.SettingsException;
import org.junit.jupiter.api.Test;

/** The rule a pool limit must meet against the JVM's direct memory: pool + max(10%, 64 MiB). */
class DirectMemoryBudgetTest {
  private static final long MIB = 1 << 20;

  @Test
  void smallPoolsNeed64MiBMoreAndLargeOnesATenthMore() {
    assertThat(DirectMemoryBudget.required(32 * MIB)).isEqualTo(96 * MIB);
    assertThat(DirectMemoryBudget.required(640 * MIB)).isEqualTo(704 * MIB);
    assertThat(DirectMemoryBudget.required(4096 * MIB)).isEqualTo(4096 * MIB + 4096 * MIB / 10);
  }

  @Test
  void limitThatFitsIsAcceptedToTheByte() {
    DirectMemoryBudget.check(512 * MIB, new DirectMemoryBudget.JvmLimit(576 * MIB, true));
    DirectMemoryBudget.check(2048 * MIB, new DirectMemoryBudget.JvmLimit(DirectMemoryBudget.required(2048 * MIB), true));
  }

  @Test
  void limitTheJvmCannotHoldIsRefusedNamingValueLimitAndFlag() {
    // the case: -XX:MaxDirectMemorySize=40m and a 32 MiB pool had become 4096 bytes
    assertThatThrownBy(() -> DirectMemoryBudget.check(32 * MIB, new DirectMemoryBudget.JvmLimit(40 * MIB, true)))
        .isInstanceOf(SettingsException.class)
        .hasMessage("zswapd.pool.max-size = 33554432 B (32.0 MiB) needs 96.0 MiB of direct memory (the pool plus"
            + " max(10%, 64 MiB) for other buffers), more than the JVM's limit (-XX:MaxDirectMemorySize=40.0 MiB):"
            + " start java with -XX:MaxDirectMemorySize=96m or more, or lower zswapd.pool.max-size")
        .satisfies(e -> assertThat(((SettingsException) e).key()).isEqualTo("zswapd.pool.max-size"));
    assertThatThrownBy(() -> DirectMemoryBudget.check(512 * MIB, new DirectMemoryBudget.JvmLimit(576 * MIB - 1, true)))
        .hasMessageContaining("-XX:MaxDirectMemorySize=576m or more");
  }

  @Test
  void withoutTheFlagTheMessageSaysTheLimitIsTheHeaps() {
    assertThatThrownBy(() -> DirectMemoryBudget.check(1024 * MIB, new DirectMemoryBudget.JvmLimit(512 * MIB, false)))
        .hasMessageContaining("more than the JVM's limit (the heap's maximum 512.0 MiB, as -XX:MaxDirectMemorySize"
            + " is not set)")
        .hasMessageContaining("-XX:MaxDirectMemorySize=1127m or more");
  }

  @Test
  void thisJvmsLimitIsTheFlagTheBuildSets() {
    DirectMemoryBudget.JvmLimit jvm = DirectMemoryBudget.jvmLimit();
    assertThat(jvm.explicit()).as("pom.xml's argLine sets -XX:MaxDirectMemorySize").isTrue();
    assertThat(jvm.bytes()).isEqualTo(4096 * MIB);
  }
}
