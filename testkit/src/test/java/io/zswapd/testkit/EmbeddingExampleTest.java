package io.zswapd.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.zswapd.testkit.examples.ActorExample;
import io.zswapd.testkit.examples.EmbeddingExample;
import io.zswapd.testkit.examples.ScalaExample;
import org.junit.jupiter.api.Test;

/** The README's examples run and do what they say. */
class EmbeddingExampleTest {
  @Test
  void readmeExampleStoresLoadsAndParksAValue() {
    assertThat(EmbeddingExample.run())
        .isEqualTo("loaded 4096 bytes, same as stored: true; overflow value: a cold session; swap0 stored_pages: 1");
  }

  @Test
  void actorExampleParksAndResumesASessionThroughTheNamespaceActor() {
    assertThat(ActorExample.run()).isEqualTo("s-1: cart: 3 books; s-2: none");
  }

  @Test
  void scalaExampleDoesTheSameWithFuturesAndAnActor() {
    assertThat(ScalaExample.run()).isEqualTo("futures: a cold session; s-1: cart: 3 books; s-2: none");
  }
}
