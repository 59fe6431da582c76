package io.zswapd.actors.cluster;

/**
 * What a memory node's {@link ShardHost} sends the front's proxy of that shard
 * ({@code RemoteShard}). Every answer carries the host's incarnation: a random number drawn when
 * the entity started, so that the front can tell a shard that was started again elsewhere (and
 * holds none of the pages the front had acknowledged) from the one it talked to.
 */
public sealed interface ShardAnswer extends ClusterMessage {
  long incarnation();

  /**
   * The batch {@code batchId} was taken (its replies follow); the next batch may go. {@code node}
   * is the memory node's {@code host:port}, for stats.
   */
  record Accepted(long incarnation, long batchId, String node) implements ShardAnswer {}

  /**
   * The batch was addressed to another incarnation of the shard and was not carried out: the
   * pages the front had acknowledged there are gone with that incarnation.
   */
  record Gone(long incarnation, long batchId) implements ShardAnswer {}

  /**
   * Replies of ops, {@code replies[i]} for op {@code ids[i]}: a {@code StoreReply},
   * {@code LoadReply}, {@code LoadRangeReply} or {@code InvalidateReply}.
   */
  record Replies(long incarnation, long[] ids, Object[] replies) implements ShardAnswer {}

  /** The shard's counters ({@code ShardStats.toArray()}), for the stats request {@code requestId}. */
  record Stats(long incarnation, long requestId, long[] figures) implements ShardAnswer {}
}
