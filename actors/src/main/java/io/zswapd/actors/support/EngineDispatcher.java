package io.zswapd.actors.support;

import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.Props;

/**
 * The engine's own dispatcher. The guardian starts on {@code zswapd-engine-dispatcher} (see
 * reference.conf) and every actor below it is spawned on its parent's dispatcher, so the
 * engine's many small messages never queue behind the embedding application's actors, and
 * the engine runs with one thread per core and long batches whatever the application's
 * default dispatcher is.
 */
public final class EngineDispatcher {
  /** Config path of the engine's dispatcher. */
  public static final String CONFIG_PATH = "zswapd-engine-dispatcher";
  public static final Props PROPS = DispatcherSelector.fromConfig(CONFIG_PATH);
  /** Props for every child: the parent's dispatcher, that is the engine's. */
  public static final Props SAME = DispatcherSelector.sameAsParent();

  private EngineDispatcher() {}
}
