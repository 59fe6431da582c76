package io.zswapd.actors.cluster;

/**
 * A message that travels between zswapd nodes: serialized by {@link ClusterSerializer} (binary,
 * versioned), never by Java serialization. Bound in the actors module's reference.conf.
 */
public interface ClusterMessage {}
