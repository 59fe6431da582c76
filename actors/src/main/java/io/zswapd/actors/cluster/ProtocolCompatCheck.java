package io.zswapd.actors.cluster;

import akka.cluster.ConfigValidation;
import akka.cluster.Invalid;
import akka.cluster.JoinConfigCompatChecker;
import akka.cluster.Valid$;
import com.typesafe.config.Config;
import java.util.List;

/**
 * Refuses a node that speaks another version of zswapd's page protocol when it joins the
 * cluster, rather than letting its messages be dropped as unreadable later: Akka compares
 * {@value #KEY} of the joining node with the cluster's (its configuration compatibility check,
 * registered in the actors module's reference.conf), and the joining node stops with the error
 * this check names.
 */
public final class ProtocolCompatCheck extends JoinConfigCompatChecker {
  /** The page protocol version a node speaks, {@link ClusterSerializer#VERSION} in this build's reference.conf. */
  public static final String KEY = "zswapd-cluster-protocol-version";

  @Override
  public scala.collection.immutable.Seq<String> requiredKeys() {
    return scala.jdk.javaapi.CollectionConverters.asScala(List.of(KEY)).toList();
  }

  @Override
  public ConfigValidation check(Config toCheck, Config actualConfig) {
    int ours = actualConfig.getInt(KEY);
    if (!toCheck.hasPath(KEY)) {
      return invalid("the joining node speaks no zswapd page protocol (this cluster speaks version " + ours + ")");
    }
    int theirs = toCheck.getInt(KEY);
    if (theirs != ours) {
      return invalid("the joining node speaks zswapd page protocol version " + theirs + " and this cluster version "
          + ours + "; run the same zswapd release on every node");
    }
    return Valid$.MODULE$;
  }

  private static ConfigValidation invalid(String message) {
    return new Invalid(scala.jdk.javaapi.CollectionConverters.asScala(List.of(message)).toList());
  }
}
