package io.zswapd.actors.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.cluster.Invalid;
import akka.cluster.Valid$;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

/** A joining node is refused when it speaks another page protocol version, and the error names both. */
class ProtocolCompatCheckTest {
  private static Config version(int v) {
    return ConfigFactory.parseString(ProtocolCompatCheck.KEY + " = " + v);
  }

  @Test
  void thisBuildsReferenceConfNamesTheVersionItsSerializerSpeaks() {
    assertThat(ConfigFactory.load().getInt(ProtocolCompatCheck.KEY)).isEqualTo(ClusterSerializer.VERSION);
    assertThat(ConfigFactory.load().getString("akka.cluster.configuration-compatibility-check.checkers.zswapd-protocol"))
        .isEqualTo(ProtocolCompatCheck.class.getName());
  }

  @Test
  void theSameVersionJoinsAnotherIsRefusedNamingBoth() {
    ProtocolCompatCheck check = new ProtocolCompatCheck();
    assertThat(check.check(version(2), version(2))).isEqualTo(Valid$.MODULE$);
    Invalid refused = (Invalid) check.check(version(3), version(2));
    assertThat(refused.errorMessages().head()).contains("version 3").contains("version 2")
        .contains("same zswapd release");
    Invalid none = (Invalid) check.check(ConfigFactory.empty(), version(2));
    assertThat(none.errorMessages().head()).contains("speaks no zswapd page protocol");
  }
}
