package io.zswapd.actors.support;

import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.Props;

/**
 * The engine's dispatcher. The guardian starts on {@code zswapd-engine-dispatcher} (see
 * reference.conf: by default an alias of Akka's default dispatcher, or a dispatcher of the
 * application's) and every actor below it is spawned on its parent's dispatcher, so the whole
 * engine runs where that setting says.
 */
public final class EngineDispatcher {
  /** Config path of the engine's dispatcher. */
  public static final String CONFIG_PATH = "zswapd-engine-dispatcher";
  /** Props for an actor on the engine's dispatcher, and the selector to look its executor up. */
  public static final DispatcherSelector SELECTOR = DispatcherSelector.fromConfig(CONFIG_PATH);
  public static final Props PROPS = SELECTOR;
  /** Props for every child: the parent's dispatcher, that is the engine's. */
  public static final Props SAME = DispatcherSelector.sameAsParent();

  private EngineDispatcher() {}
}
