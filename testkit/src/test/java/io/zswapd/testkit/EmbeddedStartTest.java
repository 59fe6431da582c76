package io.zswapd.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.testkit.metrics.Scrape;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an application embedding zswapd gets by default and when the start fails: no port is
 * opened unless asked, and a {@code Zswapd.get} that throws leaves nothing behind (no thread, no
 * bound port, no backing file), so the application can start again once the cause is gone
 * (in a new actor system: Akka keeps a failed extension's exception).
 * The systems here are built on the reference configuration only, without the test
 * application.conf, to see the defaults an application sees.
 */
class EmbeddedStartTest {
  private static final String SMALL = "zswapd.pool.max-size = 32 MiB\n"
      + "zswapd.metrics.tick-interval = 200ms\n";

  private static ActorSystem<Void> system(String name, String hocon) {
    Config config = ConfigFactory.parseString(hocon + "\n" + "akka.loglevel = WARNING\n")
        .withFallback(ConfigFactory.defaultReference()).resolve();
    return ActorSystem.create(Behaviors.empty(), name, config);
  }

  /**
   * Live threads that are not the actor system's own pools (those are named after it), nor
   * Kamon's: Kamon is one per JVM, shared by every engine in it, and (re)starts its ticker when
   * whichever engine, or test before this one, first registers its metrics.
   */
  private static Set<Thread> foreignThreads(ActorSystem<?> system) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && !t.getName().startsWith(system.name()) && !t.getName().startsWith("kamon-"))
        .collect(Collectors.toSet());
  }

  private static Set<String> newThreads(Set<Thread> before, ActorSystem<?> system) {
    Set<Thread> after = foreignThreads(system);
    after.removeAll(before);
    return after.stream().map(Thread::getName).collect(Collectors.toSet());
  }

  /**
   * No thread the failed start made is left. A thread it stopped may take a moment to end (the
   * JDK's HTTP server cancels its "idle-timeout-task" timer without waiting for it), so this
   * waits for that, up to a limit; a thread still there then is a leak, named in the failure.
   */
  private static void assertNoThreadsLeft(Set<Thread> before, ActorSystem<?> system) {
    // polled on this thread: a poller thread of Awaitility's own would count as a new thread
    Awaitility.await().pollInSameThread().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
        .untilAsserted(() -> assertThat(newThreads(before, system)).as("threads left by the failed start").isEmpty());
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void anEmbeddedEngineServesNoMetricsPortByDefault() {
    ActorSystem<Void> system = system("embedded-default", SMALL
        + "zswapd.exports = [ { name = \"swap0\", size = 16 MiB } ]");
    try {
      Zswapd zswapd = Zswapd.get(system);
      assertThat(zswapd.metricsAddress()).as("zswapd.metrics.prometheus is off for a library").isEmpty();
      byte[] page = new PageGenerator(19).page(1, PageGenerator.Kind.C50);
      EngineFixture.await(zswapd.store("swap0", 1, page));
      assertThat(EngineFixture.await(zswapd.load("swap0", 1))).isEqualTo(page);
      assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
          .as("no HTTP server thread").noneMatch(n -> n.startsWith("HTTP-Dispatcher"));
    } finally {
      system.terminate();
      EngineFixture.await(system.getWhenTerminated(), "the system to terminate");
    }
  }

  @Test
  void aMetricsPortInUseStartsNothingAndANewSystemStartsOnceItIsFree(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("swap0.zswapd");
    ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    int port = taken.getLocalPort();
    ActorSystem<Void> system = system("embedded-port-taken", SMALL
        + "zswapd.metrics.prometheus = \"127.0.0.1:" + port + "\"\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 16 MiB, backing-file = \"" + file + "\" } ]");
    try {
      Set<Thread> before = foreignThreads(system);
      assertThatThrownBy(() -> Zswapd.get(system))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("cannot serve metrics on 127.0.0.1:" + port)
          .hasMessageContaining("zswapd.metrics.prometheus");
      assertNoThreadsLeft(before, system);
      assertThat(file).as("no backing file opened before the port was refused").doesNotExist();

      assertThatThrownBy(() -> Zswapd.get(system)).as("Akka keeps a failed extension's exception")
          .hasMessageContaining("cannot serve metrics on 127.0.0.1:" + port);
    } finally {
      system.terminate();
      EngineFixture.await(system.getWhenTerminated(), "the system to terminate");
    }
    taken.close();
    ActorSystem<Void> again = system("embedded-port-free", SMALL
        + "zswapd.metrics.prometheus = \"127.0.0.1:" + port + "\"\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 16 MiB, backing-file = \"" + file + "\" } ]");
    try {
      Zswapd zswapd = Zswapd.get(again);
      assertThat(zswapd.metricsAddress()).contains(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      byte[] page = new PageGenerator(20).page(2, PageGenerator.Kind.C50);
      EngineFixture.await(zswapd.store("swap0", 7, page));
      assertThat(EngineFixture.await(zswapd.load("swap0", 7))).isEqualTo(page);
      assertThat(file).exists();
      assertThat(Scrape.get(zswapd.metricsAddress().orElseThrow(), "/metrics").statusCode()).isEqualTo(200);
    } finally {
      again.terminate();
      EngineFixture.await(again.getWhenTerminated(), "the system to terminate");
    }
  }

  @Test
  void aBackingFileThatCannotBeOpenedReleasesTheMetricsPort(@TempDir Path dir) throws IOException {
    Path notAFile = Files.createDirectory(dir.resolve("a-directory"));
    int port = freePort();
    ActorSystem<Void> system = system("embedded-bad-file", SMALL
        + "zswapd.metrics.prometheus = \"127.0.0.1:" + port + "\"\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 16 MiB, backing-file = \"" + notAFile + "\" } ]");
    try {
      Set<Thread> before = foreignThreads(system);
      assertThatThrownBy(() -> Zswapd.get(system))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("export \"swap0\"");
      assertNoThreadsLeft(before, system);
      assertThat(bindable(port)).as("port %d released by the failed start", port).isTrue();
    } finally {
      system.terminate();
      EngineFixture.await(system.getWhenTerminated(), "the system to terminate");
    }
  }
}
