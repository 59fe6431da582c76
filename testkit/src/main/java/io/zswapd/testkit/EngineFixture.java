package io.zswapd.testkit;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.BootstrapSetup;
import akka.actor.setup.ActorSystemSetup;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.zswapd.actors.embedded.ZswapdSetup;
import io.zswapd.actors.embedded.Zswapd;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An engine in its own actor system, configured by a HOCON snippet layered over the
 * defaults, for tests and benchmarks. Akka 2.6 has no JUnit 5 extension: create one in
 * {@code @BeforeAll} (or per test) and close it in {@code @AfterAll}.
 */
public final class EngineFixture implements AutoCloseable {
  private final ActorTestKit testKit;
  private final Zswapd zswapd;

  private EngineFixture(ActorTestKit testKit) {
    this.testKit = testKit;
    try {
      this.zswapd = Zswapd.get(testKit.system());
    } catch (RuntimeException e) {
      testKit.shutdownTestKit(); // else its threads keep the JVM alive after the failure
      throw e;
    }
  }

  /**
   * Checked memory is on in every engine a test starts (a use after free is an exception, not
   * a crashed JVM) and the periodic migration worker is off, so that what a test sees comes
   * from its own requests; {@code hocon} may override either.
   */
  private static final String TEST_DEFAULTS = "zswapd.pool.migration { checked-memory = on, period = off }";

  private static Config config(String hocon) {
    return ConfigFactory.parseString(hocon).withFallback(ConfigFactory.parseString(TEST_DEFAULTS))
        .withFallback(ConfigFactory.load());
  }

  /** An engine with the defaults plus {@code hocon} (for example {@code "zswapd.pool.max-size = 64 MiB"}). */
  public static EngineFixture start(String hocon) {
    return new EngineFixture(ActorTestKit.create("zswapd-test", config(hocon)));
  }

  /**
   * As {@link #start(String)} in an actor system named {@code systemName}: the value of the
   * {@code engine} tag on its metrics, so several engines in one JVM can be told apart.
   */
  public static EngineFixture startNamed(String systemName, String hocon) {
    return new EngineFixture(ActorTestKit.create(systemName,
        ConfigFactory.parseString(hocon).withFallback(ConfigFactory.load())));
  }

  /**
   * An engine whose exports with a {@code backing-file} use the I/O {@code setup} hands out
   * (a {@link GatedBackingIo} in the race tests) instead of opening the file.
   */
  public static EngineFixture start(String hocon, ZswapdSetup setup) {
    Config config = config(hocon);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "zswapd-test",
        ActorSystemSetup.create(BootstrapSetup.create(config)).and(setup));
    return new EngineFixture(ActorTestKit.create(system));
  }

  public Zswapd zswapd() {
    return zswapd;
  }

  public ActorTestKit testKit() {
    return testKit;
  }

  /**
   * How long {@link #await} waits for the engine: generous for a loaded machine, yet a broken
   * rule that leaves a request unanswered fails the test well before the engine's own 60 s
   * request timeout would.
   */
  public static final Duration AWAIT_TIMEOUT = Duration.ofSeconds(30);

  /** Waits for a stage, at most {@link #AWAIT_TIMEOUT}; a failed stage rethrows its cause. */
  public static <T> T await(CompletionStage<T> stage) {
    return await(stage, "a request");
  }

  /**
   * As {@link #await(CompletionStage)}; a stage still pending after {@link #AWAIT_TIMEOUT} fails
   * the test with an error naming {@code what} did not answer.
   */
  public static <T> T await(CompletionStage<T> stage, String what) {
    try {
      return stage.toCompletableFuture().get(AWAIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (TimeoutException e) {
      throw new AssertionError("no answer from the engine in " + AWAIT_TIMEOUT.toSeconds() + " s to " + what, e);
    }
  }

  @Override
  public void close() {
    testKit.shutdownTestKit();
  }
}
