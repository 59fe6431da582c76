package io.zswapd.protocol.engine;

/**
 * One tree shard of an export placed on the cluster, as its front sees it: where it lives, what
 * it holds there, and what talking to it has cost. The memory figures come from the memory node
 * at the last stats request; the others the front counts itself, over the shard's life in this
 * run of the front (a shard that moved counts what it sent to every node it lived on).
 *
 * @param shard         the shard's index in its export (pages {@code shard * 16384} on)
 * @param node          the memory node holding it ({@code host:port}); "" while none is known:
 *                      not placed yet, or moving after its node was lost
 * @param storedPages   pages it holds there (compressed, huge or same-filled)
 * @param comprDataSize compressed bytes those pages take in the memory node's pool
 * @param batches       batches of page requests the memory node accepted
 * @param batchNanos    their round trips summed, in nanoseconds: from the first send of a batch
 *                      to its acceptance, retransmissions included
 * @param bytesSent     bytes of page-protocol messages the front sent to the shard (batches,
 *                      retransmissions included, and stats requests), as serialized, without
 *                      Artery's framing
 * @param bytesReceived bytes of the shard's answers the front received, as serialized
 */
public record RemoteShardFigures(long shard, String node, long storedPages, long comprDataSize, long batches,
    long batchNanos, long bytesSent, long bytesReceived) {

  public RemoteShardFigures {
    java.util.Objects.requireNonNull(node, "node");
  }

  /** Mean round trip of an accepted batch in microseconds; 0 before the first. */
  public long meanRoundTripMicros() {
    return batches == 0 ? 0 : batchNanos / batches / 1000;
  }
}
