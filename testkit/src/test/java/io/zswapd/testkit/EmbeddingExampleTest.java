package io.zswapd.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.examples.EmbeddingExample;
import org.junit.jupiter.api.Test;

/** The README's example runs and does what it says. */
class EmbeddingExampleTest {
  @Test
  void readmeExampleStoresLoadsAndParksAValue() {
    assertThat(EmbeddingExample.run())
        .isEqualTo("loaded 4096 bytes, same as stored: true; overflow value: a cold session; swap0 stored_pages: 1");
  }
}
