package io.zswapd.actors.support;

/**
 * Which engine actor a {@link SpawnHook} is wrapping: its role in the actor tree, the export it
 * serves (empty for the pool-wide ones) and its index among its siblings.
 *
 * @param role   what the actor is
 * @param export the export (or {@code overflow:<namespace>}) a swap type, tree shard, backing
 *               store or overflow directory serves; {@code ""} for the others
 * @param index  a tree shard's shard index (page index / {@code TreeShard.PAGES}); a size class's
 *               actor index, the class index its handles carry (geometry class × lanes + lane);
 *               -1 for the others
 */
public record EngineActor(Role role, String export, int index) {
  /** The engine actors a hook sees, one constant per kind of actor in the tree (DESIGN.md). */
  public enum Role { POOL, ARENA, SIZE_CLASS, SWAP_TYPE, TREE_SHARD, BACKING_STORE, OVERFLOW_DIRECTORY,
    MIGRATION_WORKER, WRITEBACK_WORKER, RECOMPRESS_WORKER }

  /** One of the engine's single actors: the pool, the arena, a worker. */
  public static EngineActor of(Role role) {
    return new EngineActor(role, "", -1);
  }

  /** Size-class actor {@code index} (its handles' class index). */
  public static EngineActor sizeClass(int index) {
    return new EngineActor(Role.SIZE_CLASS, "", index);
  }

  /** Tree shard {@code index} of {@code export}. */
  public static EngineActor treeShard(String export, int index) {
    return new EngineActor(Role.TREE_SHARD, export, index);
  }

  /** An actor of one export that has no index: its swap type, backing store or overflow directory. */
  public static EngineActor ofExport(Role role, String export) {
    return new EngineActor(role, export, -1);
  }
}
