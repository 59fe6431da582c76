package io.zswapd.testkit.examples;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.overflow.OverflowLimits;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The README's embedding example, as a program that runs:
 * {@code java -cp <testkit classpath> io.zswapd.testkit.examples.EmbeddingExample}.
 * {@code EmbeddingExampleTest} runs it on every build so the README cannot rot.
 */
public final class EmbeddingExample {
  private EmbeddingExample() {}

  public static void main(String[] args) {
    System.out.println(run());
  }

  /** Runs the example and returns what it printed. */
  public static String run() {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "app");
    try {
      Zswapd zswapd = Zswapd.get(system);

      // Pages: 4096 bytes under (export, page index); unwritten pages read as zeros.
      byte[] page = new byte[4096];
      Arrays.fill(page, (byte) 'z');
      byte[] loaded = zswapd.store("swap0", 42, page)           // compressed before store() returns
          .thenCompose(done -> zswapd.load("swap0", 42))
          .toCompletableFuture().join();

      // Values of any size up to 64 MiB under long or String keys, off the heap: bytes, or any
      // message Akka can serialize; at most 256 MiB compressed, least recently used evicted.
      OverflowStore cold = zswapd.overflowStore("sessions", OverflowLimits.NONE
              .withMaxBytes(256L << 20).withWhenFull(OverflowLimits.WhenFull.EVICT_LRU))
          .toCompletableFuture().join();
      String value = cold.put("session-7", "a cold session".getBytes(StandardCharsets.UTF_8))
          .thenCompose(v -> cold.get("session-7"))
          .thenApply(v -> new String(v.orElseThrow(), StandardCharsets.UTF_8))
          .toCompletableFuture().join();

      long stored = zswapd.stats().toCompletableFuture().join().export("swap0").orElseThrow().storedPages();
      return "loaded " + loaded.length + " bytes, same as stored: " + Arrays.equals(page, loaded)
          + "; overflow value: " + value + "; swap0 stored_pages: " + stored;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
    }
  }
}
