package io.zswapd.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code zswapd.cluster} and an export's {@code placement}. */
class ClusterSettingsTest {

  private static SettingsException failure(String hocon) {
    Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> ZswapdSettings.parse(hocon));
    assertThat(t).as("settings accepted: " + hocon).isInstanceOf(SettingsException.class);
    return (SettingsException) t;
  }

  @Test
  void offByDefaultOnLoopback() {
    ZswapdSettings s = ZswapdSettings.parse("");
    assertThat(s.cluster().enabled()).isFalse();
    assertThat(s.cluster().bind()).isEqualTo(new InetSocketAddress("127.0.0.1", 25520));
    assertThat(s.cluster().seedNodes()).isEmpty();
    assertThat(s.cluster().downUnreachableAfter()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.exports()).allMatch(e -> e.placement() == ExportSettings.Placement.LOCAL);
  }

  @Test
  void aMemoryNodeMayHaveNoExport() {
    ZswapdSettings s = ZswapdSettings.parse("""
        zswapd.exports = []
        zswapd.cluster { role = memory, bind = "127.0.0.1:25521", seed-nodes = ["127.0.0.1:25521", "[::1]:25522"],
          down-unreachable-after = 3s }
        """);
    assertThat(s.cluster().role()).isEqualTo(ClusterSettings.Role.MEMORY);
    assertThat(s.cluster().seedNodes()).containsExactly(new InetSocketAddress("127.0.0.1", 25521),
        new InetSocketAddress("::1", 25522));
    assertThat(s.exports()).isEmpty();
  }

  @Test
  void noExportIsRefusedOutsideAMemoryNode() {
    assertThat(failure("zswapd.exports = []").getMessage()).startsWith("zswapd.exports = []: must be a list of at least "
        + "one export").contains("cluster.role = memory");
    assertThat(failure("zswapd { exports = [], cluster.role = front }").key()).isEqualTo("zswapd.exports");
  }

  @Test
  void aFrontPlacesAnExportOnTheCluster() {
    ZswapdSettings s = ZswapdSettings.parse("""
        zswapd.exports = [ { name = a, size = 1 GiB, placement = cluster }, { name = b, size = 1 GiB } ]
        zswapd.cluster.role = front
        """);
    assertThat(s.exports()).extracting(ExportSettings::placement)
        .isEqualTo(List.of(ExportSettings.Placement.CLUSTER, ExportSettings.Placement.LOCAL));
  }

  @Test
  void badValuesAreRefusedNamingTheKeyAndTheRange() {
    assertThat(failure("zswapd.cluster.role = leader").getMessage())
        .isEqualTo("zswapd.cluster.role = \"leader\": must be off, front or memory");
    assertThat(failure("zswapd.cluster.bind = off").getMessage()).startsWith("zswapd.cluster.bind = \"off\": must be "
        + "host:port");
    assertThat(failure("zswapd.cluster.bind = \"127.0.0.1\"").key()).isEqualTo("zswapd.cluster.bind");
    assertThat(failure("zswapd.cluster.seed-nodes = [\"10.0.0.1\"]").getMessage())
        .startsWith("zswapd.cluster.seed-nodes = [\"10.0.0.1\"]: entry 0 (\"10.0.0.1\"): must be a list of host:port");
    assertThat(failure("zswapd.cluster.seed-nodes = \"127.0.0.1:1\"").key()).isEqualTo("zswapd.cluster.seed-nodes");
    assertThat(failure("zswapd.cluster.down-unreachable-after = 500ms").getMessage())
        .isEqualTo("zswapd.cluster.down-unreachable-after = \"500ms\": must be a duration from 1s to 10m");
    assertThat(failure("zswapd.cluster.down-unreachable-after = 11m").key())
        .isEqualTo("zswapd.cluster.down-unreachable-after");
    assertThat(failure("zswapd.exports = [ { name = a, size = 1 GiB, placement = remote } ]").getMessage())
        .isEqualTo("zswapd.exports[0].placement = \"remote\": must be local or cluster");
  }

  @Test
  void clusterPlacementNeedsAFrontAndNoSecondCodec() {
    assertThat(failure("zswapd.exports = [ { name = a, size = 1 GiB, placement = cluster } ]").getMessage())
        .isEqualTo("zswapd.exports[0].placement = \"cluster\": cluster placement needs zswapd.cluster.role = front "
            + "(it is off); or placement = local");
    assertThat(ZswapdSettings.parse("""
        zswapd.cluster.role = front
        zswapd.exports = [ { name = a, size = 1 GiB, placement = cluster, backing-file = "/tmp/x" } ]
        """).exports().get(0).backingFile()).as("a backing file keeps a copy of a clustered export").isPresent();
    assertThat(failure("""
        zswapd.cluster.role = front
        zswapd.exports = [ { name = a, size = 1 GiB, placement = cluster, recompressor = zstd } ]
        """).key()).isEqualTo("zswapd.exports[0].recompressor");
  }
}
