package io.zswapd.actors.cluster;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ddata.DistributedData;
import akka.cluster.ddata.Key;
import akka.cluster.ddata.LWWMap;
import akka.cluster.ddata.LWWMapKey;
import akka.cluster.ddata.Replicator;
import akka.actor.typed.javadsl.Adapter;
import io.zswapd.protocol.engine.EngineStats;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * How much room each memory node has for new shards, as the placement reads it: a
 * Distributed Data map (last writer wins) from a node's address to its <em>room</em>, the bytes
 * its pool may still take before it passes its accept threshold ({@code pool.accept-threshold}
 * of {@code pool.max-size}, the level below which a full pool accepts stores again). Negative
 * or zero: the node is past it and takes no new shard while any other node has room.
 *
 * <p>Each memory node announces its own room ({@link #announcer}): every {@link #PERIOD} it reads
 * its engine's pool figures and writes the map locally when the room moved by a megabyte or
 * more; gossip spreads it. The placement reads the local replica ({@link ClusterShards.TwoChoices}).
 */
public final class NodeRoom {
  /** The map's key in Distributed Data. */
  public static final Key<LWWMap<String, Long>> KEY = LWWMapKey.create("zswapd-node-room");
  /** How often a memory node looks at its pool. */
  static final Duration PERIOD = Duration.ofSeconds(1);
  /** A change smaller than this is not announced. */
  static final long ANNOUNCE_STEP = 1 << 20;

  private NodeRoom() {}

  /**
   * A memory node's announcer: asks {@code stats} for the engine's figures every period and
   * announces {@code acceptBelow - mem_used_total} under this node's address (both as set now:
   * a {@code zswapd set} of the pool's limit or accept threshold counts at the next look).
   */
  static Behavior<Object> announcer(Consumer<ActorRef<EngineStats>> stats) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      DistributedData ddata = DistributedData.get(Adapter.toClassic(ctx.getSystem()));
      String self = akka.cluster.Cluster.get(Adapter.toClassic(ctx.getSystem())).selfAddress().toString();
      ActorRef<EngineStats> statsTo = ctx.messageAdapter(EngineStats.class, s -> s);
      timers.startTimerWithFixedDelay("look", "look", PERIOD);
      stats.accept(statsTo); // a first look at once: a node that just joined is known the sooner
      long[] announced = {Long.MIN_VALUE};
      return Behaviors.receiveMessage(m -> {
        if ("look".equals(m)) {
          stats.accept(statsTo);
        } else if (m instanceof EngineStats s) {
          long room = s.pool().acceptBelow() - s.pool().memUsedTotal();
          if (announced[0] == Long.MIN_VALUE || Math.abs(room - announced[0]) >= ANNOUNCE_STEP
              || (room > 0) != (announced[0] > 0)) {
            announced[0] = room;
            ddata.replicator().tell(new Replicator.Update<>(KEY, LWWMap.<String, Long>create(),
                Replicator.writeLocal(), Optional.empty(), map -> map.put(ddata.selfUniqueAddress(), self, room)),
                Adapter.toClassic(ctx.getSelf())); // its UpdateSuccess comes back and is ignored
          }
        }
        return Behaviors.same();
      });
    }));
  }
}
