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

  /**
   * The shard leaves its node (Cluster Sharding hands it to another); its pages wait there, in
   * {@code source}, as the departure of {@code incarnation}, for the shard's next home to pull.
   * The front notes it ({@link ShardHost.DepartureNoted} to {@code host}) and names the departure
   * in its first batch to the next home.
   */
  record Departing(long incarnation, akka.actor.typed.ActorRef<HostedShards.Command> source,
      akka.actor.typed.ActorRef<ShardHost.Command> host) implements ShardAnswer {}

  /**
   * Pages ({@code offsets} in the shard) the shard's new home could not take over from its
   * departure (its pool refused them): they are lost, as on a lost node.
   */
  record PagesLost(long incarnation, int[] offsets) implements ShardAnswer {}
}
