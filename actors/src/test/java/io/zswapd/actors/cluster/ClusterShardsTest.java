package io.zswapd.actors.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.javadsl.Adapter;
import com.typesafe.config.ConfigFactory;
import io.zswapd.config.ClusterSettings;
import io.zswapd.config.ZswapdSettings;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Placement of tree shards on memory nodes, entity ids, and the Akka settings of a node. */
class ClusterShardsTest {
  private static final long MIB = 1 << 20;
  private static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static ClusterShards.Region region(String name, long room, int shards) {
    return new ClusterShards.Region(Adapter.toClassic(testKit.createTestProbe(name).ref()), room, shards);
  }

  private static Map<ClusterShards.Region, Integer> picks(List<ClusterShards.Region> regions, long seed) {
    Random random = new Random(seed);
    Map<ClusterShards.Region, Integer> picks = new HashMap<>();
    for (int i = 0; i < 2_000; i++) {
      picks.merge(ClusterShards.choose(regions, random), 1, Integer::sum);
    }
    return picks;
  }

  @Test
  void ofTwoNodesTheOneWithMoreRoomTakesTheShardWhateverItsShardCount() {
    ClusterShards.Region roomy = region("roomy", 900 * MIB, 10);
    ClusterShards.Region tight = region("tight", 100 * MIB, 0);
    assertThat(picks(List.of(roomy, tight), 1)).containsOnlyKeys(roomy);
  }

  @Test
  void equalRoomGoesToFewerShards() {
    ClusterShards.Region few = region("few", 500 * MIB, 1);
    ClusterShards.Region many = region("many", 500 * MIB, 3);
    assertThat(picks(List.of(many, few), 2)).containsOnlyKeys(few);
  }

  @Test
  void aNodePastItsAcceptThresholdIsNeverPickedWhileAnotherHasRoom() {
    ClusterShards.Region full = region("full", -4 * MIB, 0);
    ClusterShards.Region atThreshold = region("at-threshold", 0, 0);
    ClusterShards.Region open = region("open", 1 * MIB, 50);
    assertThat(picks(List.of(full, atThreshold, open), 3)).containsOnlyKeys(open);
  }

  @Test
  void whenEveryNodeIsPastItTheLeastFullTakesTheShard() {
    ClusterShards.Region worse = region("worse", -40 * MIB, 0);
    ClusterShards.Region better = region("better", -1 * MIB, 9);
    assertThat(picks(List.of(worse, better), 4)).containsOnlyKeys(better);
  }

  @Test
  void theFullestOfSeveralNodesIsNeverPickedAndTheRoomiestMostOften() {
    List<ClusterShards.Region> regions = List.of(region("a", 100 * MIB, 0), region("b", 200 * MIB, 0),
        region("c", 300 * MIB, 0), region("d", 400 * MIB, 0));
    Map<ClusterShards.Region, Integer> picks = picks(regions, 5);
    assertThat(picks).doesNotContainKey(regions.get(0));
    assertThat(picks.get(regions.get(3))).isGreaterThan(picks.get(regions.get(2)))
        .isGreaterThan(picks.get(regions.get(1)));
  }

  @Test
  void aNodeNotYetHeardFromCountsAsEmpty() {
    ClusterShards.Region joined = region("joined", Long.MAX_VALUE, 0);
    ClusterShards.Region old = region("old", 1000 * MIB, 0);
    assertThat(picks(List.of(old, joined), 6)).containsOnlyKeys(joined);
  }

  @Test
  void aShardMovesOffANodePastItsThresholdOnlyWhenAnotherHasRoom() {
    ClusterShards.Region full = region("past", -2 * MIB, 5);
    ClusterShards.Region roomy = region("roomy", 300 * MIB, 1);
    ClusterShards.Region tight = region("tight", 10 * MIB, 0);
    assertThat(ClusterShards.donor(List.of(roomy, full))).contains(full);
    assertThat(ClusterShards.donor(List.of(full, tight))).as("no node with room for it").isEmpty();
    assertThat(ClusterShards.donor(List.of(region("full-but-empty", -9 * MIB, 0), roomy)))
        .as("nothing to move off a node that holds no shard").isEmpty();
    assertThat(ClusterShards.donor(List.of(region("at", 0, 2), roomy))).as("at its threshold counts as past it")
        .isPresent();
    assertThat(ClusterShards.donor(List.of(region("below", 1 * MIB, 9), roomy))).as("below its threshold: stays")
        .isEmpty();
    assertThat(ClusterShards.donor(List.of(full))).as("a single node").isEmpty();
  }

  @Test
  void noNodeIsAnError() {
    assertThatThrownBy(() -> ClusterShards.choose(List.of(), new Random(7)))
        .hasMessage("no memory node to place a tree shard on");
  }

  @Test
  void anEntityIdNamesTheFrontTheExportAndTheShard() {
    assertThat(ClusterShards.entityId("10.0.0.1:25520", "swap-0.a", 12)).isEqualTo("10.0.0.1:25520/swap-0.a#12");
    assertThat(ClusterShards.exportOf("10.0.0.1:25520/swap-0.a#12")).isEqualTo("swap-0.a");
    assertThat(ClusterShards.exportOf("[::1]:25520/swap0#0")).isEqualTo("swap0");
    assertThatThrownBy(() -> ClusterShards.exportOf("swap0#12")).hasMessageContaining("not a tree shard's entity id");
    assertThatThrownBy(() -> ClusterShards.exportOf("a/#12")).hasMessageContaining("not a tree shard's entity id");
  }

  @Test
  void theAkkaSettingsMakeAClusterNodeOfTheSettings() {
    ClusterSettings memory = ZswapdSettings.parse("""
        zswapd.exports = []
        zswapd.cluster { role = memory, bind = "127.0.0.1:25521", down-unreachable-after = 3s }
        """).cluster();
    var config = ConfigFactory.parseString(ClusterShards.akkaConfig(memory, "zswapd"));
    assertThat(config.getString("akka.actor.provider")).isEqualTo("cluster");
    assertThat(config.getString("akka.remote.artery.canonical.hostname")).isEqualTo("127.0.0.1");
    assertThat(config.getInt("akka.remote.artery.canonical.port")).isEqualTo(25521);
    assertThat(config.getStringList("akka.cluster.seed-nodes")).containsExactly("akka://zswapd@127.0.0.1:25521");
    assertThat(config.getStringList("akka.cluster.roles")).containsExactly(ClusterSettings.Role.MEMORY_ROLE);
    assertThat(config.getDuration("akka.cluster.split-brain-resolver.stable-after").toMillis()).isEqualTo(3000);

    ClusterSettings front = ZswapdSettings.parse("""
        zswapd.cluster { role = front, bind = "[::1]:25530", seed-nodes = ["10.0.0.1:25520", "10.0.0.2:25520"] }
        """).cluster();
    var frontConfig = ConfigFactory.parseString(ClusterShards.akkaConfig(front, "zswapd"));
    assertThat(frontConfig.getStringList("akka.cluster.seed-nodes"))
        .containsExactly("akka://zswapd@10.0.0.1:25520", "akka://zswapd@10.0.0.2:25520");
    assertThat(frontConfig.getStringList("akka.cluster.roles")).isEmpty();
    assertThat(frontConfig.getString("akka.remote.artery.canonical.hostname")).isEqualTo("0:0:0:0:0:0:0:1");
  }
}
