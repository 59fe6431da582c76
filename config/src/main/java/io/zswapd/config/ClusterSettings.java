package io.zswapd.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * {@code zswapd.cluster}: whether this engine is part of an Akka cluster of zswapd nodes, and as
 * what. A <em>memory node</em> holds tree shards of other nodes' exports in its pool; a
 * <em>front</em> serves exports (over NBD or embedded) whose shards may live on memory nodes
 * ({@code exports[i].placement = cluster}). Off by default: nothing changes then.
 *
 * <p>The Akka settings that make an actor system such a node are made from these by the actors
 * module ({@code ClusterShards.akkaConfig}).
 *
 * @param role       off, front or memory
 * @param bind       the address this node's cluster transport (Akka Artery TCP) listens on and
 *                   is reached at; loopback by default
 * @param seedNodes  nodes a starting node contacts to join; empty: this node starts a cluster
 *                   that others join
 * @param downUnreachableAfter how long a node may stay unreachable before the split brain
 *                   resolver downs it and its shards are started elsewhere
 */
public record ClusterSettings(Role role, InetSocketAddress bind, List<InetSocketAddress> seedNodes,
    Duration downUnreachableAfter) {

  /** What this node does in the cluster. */
  public enum Role {
    /** Not in a cluster (the default). */
    OFF,
    /** Serves exports whose shards may live on memory nodes. */
    FRONT,
    /** Holds other nodes' tree shards in its pool. */
    MEMORY;

    /** The word the configuration uses. */
    public String configName() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** The Akka cluster role of a node that holds shards ({@code Entity.withRole}). */
    public static final String MEMORY_ROLE = "zswapd-memory";
  }

  public ClusterSettings {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(bind, "bind");
    seedNodes = List.copyOf(seedNodes);
    Objects.requireNonNull(downUnreachableAfter, "downUnreachableAfter");
  }

  /** Whether this node is in a cluster at all. */
  public boolean enabled() {
    return role != Role.OFF;
  }

  static ClusterSettings read(Section cluster) {
    String roleRule = "must be off, front or memory";
    Role role;
    if (cluster.isOff("role")) {
      role = Role.OFF;
    } else {
      role = switch (cluster.string("role", roleRule)) {
        case "front" -> Role.FRONT;
        case "memory" -> Role.MEMORY;
        default -> throw cluster.invalid("role", roleRule);
      };
    }
    String bindRule = "must be host:port, e.g. \"127.0.0.1:25520\"";
    InetSocketAddress bind = cluster.listenAddress("bind")
        .orElseThrow(() -> cluster.invalid("bind", bindRule + " (a cluster node always listens)"));
    List<InetSocketAddress> seeds = new ArrayList<>();
    String seedRule = "must be a list of host:port strings, e.g. [\"10.0.0.1:25520\", \"10.0.0.2:25520\"]";
    var list = cluster.list("seed-nodes", seedRule);
    for (int i = 0; i < list.size(); i++) {
      Section one = new Section(cluster.key("seed-nodes") + "[" + i + "]",
          com.typesafe.config.ConfigFactory.empty().withValue("seed", list.get(i)).root());
      try {
        seeds.add(one.listenAddress("seed").orElseThrow(() -> cluster.invalid("seed-nodes", seedRule)));
      } catch (SettingsException e) {
        throw cluster.invalid("seed-nodes", "entry " + i + " (" + Section.render(list.get(i)) + "): " + seedRule);
      }
    }
    String downRule = "must be a duration from 1s to 10m";
    Duration down = cluster.duration("down-unreachable-after", downRule);
    if (down.compareTo(Duration.ofSeconds(1)) < 0 || down.compareTo(Duration.ofMinutes(10)) > 0) {
      throw cluster.invalid("down-unreachable-after", downRule);
    }
    return new ClusterSettings(role, bind, seeds, down);
  }
}
