package io.zswapd.actors.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.javadsl.Adapter;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.tree.ImagesReply;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;
import java.io.NotSerializableException;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every message between zswapd nodes survives the binary serializer bound to it, as Akka
 * serializes it (looked up by class, the manifest kept), and its wire size, as the front counts
 * it, is the length the serializer makes; a message of another protocol version,
 * an unknown manifest and a truncated message are refused with a message that says so.
 */
class ClusterSerializerTest {
  private static ActorTestKit testKit;
  private static Serialization serialization;
  private static TestProbe<ShardAnswer> front;
  private static TestProbe<HostedShards.Command> hosted;
  private static TestProbe<ShardHost.Command> host;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create();
    serialization = SerializationExtension.get(Adapter.toClassic(testKit.system()));
    front = testKit.createTestProbe(ShardAnswer.class);
    hosted = testKit.createTestProbe(HostedShards.Command.class);
    host = testKit.createTestProbe(ShardHost.Command.class);
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static Object roundTrip(Object message) throws NotSerializableException {
    Serializer serializer = serialization.findSerializerFor(message);
    assertThat(serializer).as("serializer bound to " + message.getClass()).isInstanceOf(ClusterSerializer.class);
    ClusterSerializer s = (ClusterSerializer) serializer;
    byte[] bytes = s.toBinary(message);
    assertThat(ClusterSerializer.wireSize(message, akka.actor.typed.ActorRefResolver.get(testKit.system())))
        .as("the wire size the front counts for " + message.getClass().getSimpleName()).isEqualTo(bytes.length);
    return s.fromBinary(bytes, s.manifest(message));
  }

  private static byte[] page(long seed) {
    byte[] p = new byte[PageImage.PAGE_SIZE];
    new Random(seed).nextBytes(p);
    return p;
  }

  @Test
  void aBatchOfEveryOpComesBackEqual() throws Exception {
    byte[] compressed = Arrays.copyOf(page(1), 1234);
    List<PageOp> ops = List.of(
        new PageOp.Store(7, new PageImage.Compressed(compressed)),
        new PageOp.Store(8, new PageImage.SameFilled(0x0102030405060708L)),
        new PageOp.Store(9, new PageImage.Raw(page(2))),
        new PageOp.Patch(10, 100, Arrays.copyOf(page(3), 200)),
        new PageOp.Load(11),
        new PageOp.StoreRange(16, new PageImage[] {new PageImage.SameFilled(0), new PageImage.Compressed(compressed)}),
        new PageOp.LoadRange(32, 16),
        new PageOp.Invalidate(12),
        new PageOp.InvalidateRange(40, 1L << 40),
        new PageOp.InvalidateArea());
    ShardHost.Batch batch = new ShardHost.Batch(front.ref(), -5, 77, 3, 1000, CodecKind.ZSTD, ops,
        new ShardHost.Adopt(hosted.ref(), -99));

    Object back = roundTrip(batch);

    assertThat(back).usingRecursiveComparison().isEqualTo(batch);
    assertThat(((ShardHost.Batch) back).front()).isEqualTo(front.ref());
    assertThat(((ShardHost.Batch) back).adopt().source()).isEqualTo(hosted.ref());
    ShardHost.Batch plain = new ShardHost.Batch(front.ref(), 1, 0, 1, 1, CodecKind.LZ4, List.of(), null);
    assertThat(roundTrip(plain)).usingRecursiveComparison().isEqualTo(plain);
  }

  @Test
  void repliesOfEveryKindComeBackEqual() throws Exception {
    EngineError full = new EngineError(ErrorCode.POOL_FULL, "the pool is full");
    EngineError lost = new EngineError(ErrorCode.NODE_LOST, "gone");
    PageImage[] images = {new PageImage.Compressed(Arrays.copyOf(page(4), 999)), null,
        new PageImage.SameFilled(-1), new PageImage.Raw(page(5))};
    ShardAnswer.Replies replies = new ShardAnswer.Replies(42, new long[] {1, 2, 3, 4, 5, 6}, new Object[] {
        new StoreReply.Stored(7), new StoreReply.Refused(8, full), new ImagesReply.Images(16, images),
        new ImagesReply.ImagesFailed(10, lost), new InvalidateReply.Invalidated(3),
        new InvalidateReply.InvalidateFailed(lost)});

    assertThat(roundTrip(replies)).usingRecursiveComparison().isEqualTo(replies);
  }

  @Test
  void theSmallMessagesComeBackEqual() throws Exception {
    for (Object m : List.of(new ShardAnswer.Accepted(-1, 9, "10.0.0.1:25520"), new ShardAnswer.Gone(5, 10),
        new ShardAnswer.Stats(5, 11, new long[] {1, 2, 3}), new ShardHost.GetStats(front.ref(), 12))) {
      assertThat(roundTrip(m)).usingRecursiveComparison().isEqualTo(m);
    }
  }

  @Test
  void theHandOffMessagesComeBackEqual() throws Exception {
    PageImage[] images = {null, new PageImage.Compressed(Arrays.copyOf(page(7), 1000)), new PageImage.SameFilled(3),
        new PageImage.Raw(page(8))};
    for (Object m : List.of(new ShardAnswer.Departing(-7, hosted.ref(), host.ref()),
        new ShardHost.DepartureNoted(-7), new ShardAnswer.PagesLost(8, new int[] {0, 5, 16383}),
        new HostedShards.Pull(-7, 4096, host.ref()), new ShardHost.Pulled(-7, 4096, images),
        new ShardHost.PullRefused(-7, "no such departure"))) {
      assertThat(roundTrip(m)).as(m.getClass().getSimpleName()).usingRecursiveComparison().isEqualTo(m);
    }
  }

  @Test
  void aCompressedPageCostsItsBytesAndAFewMore() {
    ClusterSerializer s = (ClusterSerializer) serialization.findSerializerFor(new ShardAnswer.Accepted(1, 1, ""));
    PageImage.Compressed image = new PageImage.Compressed(new byte[1500]);
    int one = s.toBinary(new ShardHost.Batch(front.ref(), 1, 1, 1, 1, CodecKind.LZ4,
        List.of(new PageOp.Store(1, image)), null)).length;
    int two = s.toBinary(new ShardHost.Batch(front.ref(), 1, 1, 1, 1, CodecKind.LZ4,
        List.of(new PageOp.Store(1, image), new PageOp.Store(2, image)), null)).length;

    assertThat(two - one).as("bytes per compressed page on the wire").isBetween(1500, 1500 + 16);
  }

  @Test
  void aLoadedPageTravelsCompressed() {
    ClusterSerializer s = (ClusterSerializer) serialization.findSerializerFor(new ShardAnswer.Accepted(1, 1, ""));
    PageImage.Compressed image = new PageImage.Compressed(new byte[1500]);
    int one = s.toBinary(new ShardAnswer.Replies(1, new long[] {1},
        new Object[] {new ImagesReply.Images(1, new PageImage[] {image})})).length;
    int two = s.toBinary(new ShardAnswer.Replies(1, new long[] {1, 2}, new Object[] {
        new ImagesReply.Images(1, new PageImage[] {image}), new ImagesReply.Images(2, new PageImage[] {image})})).length;

    assertThat(two - one).as("bytes per loaded compressed page on the wire").isBetween(1500, 1500 + 32);
  }

  @Test
  void aStoreWithoutAnImageIsRefused() {
    ClusterSerializer s = (ClusterSerializer) serialization.findSerializerFor(new ShardAnswer.Accepted(1, 1, ""));
    ShardHost.Batch batch = new ShardHost.Batch(front.ref(), 1, 1, 1, 1, CodecKind.LZ4,
        List.of(new PageOp.Store(1, new PageImage.SameFilled(0))), null);
    byte[] bytes = s.toBinary(batch);
    // the image's tag (its word and "no adopt" follow): "never written", which only a load's answer carries
    bytes[bytes.length - 10] = 0;

    assertThatThrownBy(() -> s.fromBinary(bytes, s.manifest(batch))).isInstanceOf(NotSerializableException.class)
        .hasMessageContaining("a store without a page image");
  }

  @Test
  void anotherProtocolVersionIsRefusedNamingBoth() {
    ClusterSerializer s = (ClusterSerializer) serialization.findSerializerFor(new ShardAnswer.Accepted(1, 1, ""));
    byte[] bytes = s.toBinary(new ShardAnswer.Accepted(1, 2, ""));
    bytes[0] = (byte) (ClusterSerializer.VERSION + 1);

    assertThatThrownBy(() -> s.fromBinary(bytes, s.manifest(new ShardAnswer.Accepted(1, 2, ""))))
        .isInstanceOf(NotSerializableException.class)
        .hasMessageContaining("protocol version " + (ClusterSerializer.VERSION + 1))
        .hasMessageContaining("speaks version " + ClusterSerializer.VERSION);
  }

  @Test
  void anUnknownManifestAndATruncatedMessageAreRefused() {
    ClusterSerializer s = (ClusterSerializer) serialization.findSerializerFor(new ShardAnswer.Accepted(1, 1, ""));
    ShardAnswer.Replies replies = new ShardAnswer.Replies(1, new long[] {1}, new Object[] {new ImagesReply.Images(1,
        new PageImage[] {new PageImage.Raw(page(6))})});
    byte[] bytes = s.toBinary(replies);

    assertThatThrownBy(() -> s.fromBinary(bytes, "Z")).isInstanceOf(NotSerializableException.class)
        .hasMessageContaining("unknown zswapd cluster message manifest \"Z\"");
    assertThatThrownBy(() -> s.fromBinary(Arrays.copyOf(bytes, bytes.length - 100), s.manifest(replies)))
        .isInstanceOf(NotSerializableException.class).hasMessageContaining("malformed zswapd cluster message");
  }

  @Test
  void anErrorCodeThisNodeDoesNotKnowReadsAsInvalidWithItsName() throws Exception {
    ClusterSerializer s = (ClusterSerializer) serialization.findSerializerFor(new ShardAnswer.Accepted(1, 1, ""));
    ShardAnswer.Replies replies = new ShardAnswer.Replies(1, new long[] {1},
        new Object[] {new StoreReply.Refused(3, new EngineError(ErrorCode.READ_ONLY, "ro"))});
    byte[] bytes = s.toBinary(replies);
    String text = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).replace("READ_ONLY", "READ_ONCE");

    Object back = s.fromBinary(text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), s.manifest(replies));

    StoreReply.Refused refused = (StoreReply.Refused) ((ShardAnswer.Replies) back).replies()[0];
    assertThat(refused.error().code()).isEqualTo(ErrorCode.INVALID);
    assertThat(refused.error().message()).contains("READ_ONCE").contains("ro");
  }
}
