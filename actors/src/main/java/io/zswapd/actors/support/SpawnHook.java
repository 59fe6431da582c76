package io.zswapd.actors.support;

import akka.actor.typed.Behavior;

/**
 * A test seam: the engine hands each actor's behavior to this hook as it spawns the actor
 * (the pool, the arena, every size-class lane, every swap type and tree shard, the tree shards a
 * memory node hosts, backing stores, overflow directories, the migration and writeback workers)
 * and spawns what it returns. A race test wraps the behavior in an Akka
 * {@code BehaviorInterceptor} that holds chosen messages until the test releases them, or makes
 * the actor throw on one (testkit's {@code GatedActors}). Given through {@code ZswapdSetup};
 * without one the engine uses {@link #NONE}, which returns the behavior itself, so production
 * pays nothing per message.
 *
 * <pre>{@code
 * SpawnHook logShards = new SpawnHook() {
 *   public <T> Behavior<T> wrap(EngineActor actor, Behavior<T> behavior) {
 *     return actor.role() == EngineActor.Role.TREE_SHARD
 *         ? Behaviors.intercept(() -> myInterceptor(actor), behavior) : behavior;
 *   }
 * };
 * ActorSystem.create(guardian, "app", BootstrapSetup.create(config).and(ZswapdSetup.of(logShards)));
 * }</pre>
 */
public interface SpawnHook {
  /** No hook: every actor runs its own behavior. */
  SpawnHook NONE = new SpawnHook() {
    @Override
    public <T> Behavior<T> wrap(EngineActor actor, Behavior<T> behavior) {
      return behavior;
    }
  };

  /** The behavior to spawn for {@code actor} in place of {@code behavior}; called once per spawn. */
  <T> Behavior<T> wrap(EngineActor actor, Behavior<T> behavior);
}
