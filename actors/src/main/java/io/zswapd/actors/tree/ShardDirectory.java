package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Where the tree shards of one export are, for callers that send page requests (a page, or a
 * range inside one shard) straight to a shard and so skip the {@link SwapType}'s hop (the
 * embedded API does).
 *
 * <p>Written only by the export's swap type, which publishes each shard once, after the
 * shard's first request has gone to it; a slot goes from empty to its shard and never changes
 * again. A caller that finds a slot empty, a page out of range, or a store for a read-only
 * export sends the request through the swap type as before, which creates the shard or
 * refuses the request. Exports of more than {@link #MAX_SHARDS} shards (4 TiB) are not
 * published: every request for them goes through the swap type.
 *
 * <p>What the shortcut must not change: a request for a closed export (shut down or removed)
 * is refused. The swap type closes its shards before it invalidates them (see
 * {@link TreeShard.Close}), so a request sent straight to a shard either lands before the
 * invalidation, which frees it, or is refused.
 */
public final class ShardDirectory {
  /** Most shards published: 65,536 shards of 64 MiB, 4 TiB. */
  public static final int MAX_SHARDS = 1 << 16;

  private final long pages;
  private final boolean readOnly;
  /** Null when the export has more than {@link #MAX_SHARDS} shards. */
  private final AtomicReferenceArray<ActorRef<TreeShard.Command>> shards;

  public ShardDirectory(long pages, boolean readOnly) {
    this.pages = pages;
    this.readOnly = readOnly;
    long count = (pages + TreeShard.PAGES - 1) >>> TreeShard.PAGES_SHIFT;
    this.shards = count <= MAX_SHARDS ? new AtomicReferenceArray<>((int) count) : null;
  }

  /**
   * The shard that owns pages [{@code first}, {@code first + count}) for a load, or null: ask
   * the swap type. Null too when the pages are not all inside the export and one shard.
   */
  public ActorRef<TreeShard.Command> forLoad(long first, int count) {
    long last = first + count - 1;
    if (shards == null || count < 1 || first < 0 || last >= pages
        || (first >>> TreeShard.PAGES_SHIFT) != (last >>> TreeShard.PAGES_SHIFT)) {
      return null;
    }
    return shards.getAcquire((int) (first >>> TreeShard.PAGES_SHIFT));
  }

  /** As {@link #forLoad}, for a store or patch: null also when the export is read-only. */
  public ActorRef<TreeShard.Command> forStore(long first, int count) {
    return readOnly ? null : forLoad(first, count);
  }

  /** Whether shards are kept here (else the swap type keeps them in a map). */
  boolean holdsShards() {
    return shards != null;
  }

  /** The shard made for {@code shardIndex}, or null; for the swap type. */
  ActorRef<TreeShard.Command> get(int shardIndex) {
    return shards.getPlain(shardIndex);
  }

  /** Publishes the shard made for {@code shardIndex}; only the swap type calls this. */
  void publish(int shardIndex, ActorRef<TreeShard.Command> shard) {
    shards.setRelease(shardIndex, shard);
  }
}
