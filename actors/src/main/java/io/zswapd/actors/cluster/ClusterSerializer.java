package io.zswapd.actors.cluster;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorRefResolver;
import akka.actor.typed.javadsl.Adapter;
import akka.serialization.SerializerWithStringManifest;
import io.zswapd.actors.metrics.MetricNames;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.tree.ImagesReply;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The binary form of every {@link ClusterMessage}: page images travel as the front compressed
 * them (a compressed page is its length and bytes, a same-filled page its 8-byte word), with a
 * few bytes of framing per op; no JSON, no Java serialization.
 *
 * <p>Each message starts with the protocol version ({@link #VERSION}). A node of another
 * version is refused when it joins the cluster ({@link ProtocolCompatCheck}); should a message
 * of another version arrive anyway, it is refused with an error naming both (Akka logs it and
 * drops the message), so two builds that do not speak the same protocol never misread each
 * other's pages.
 * Error codes travel by name, so a code added later reads as {@code INVALID} on an older node
 * rather than as another code.
 */
public final class ClusterSerializer extends SerializerWithStringManifest {
  /** The serializer's id, unique in the actor system (Akka reserves 0-40). */
  public static final int IDENTIFIER = 7_351_001;
  /** The version of the page protocol this build speaks. */
  public static final int VERSION = 2;

  private static final String BATCH = "B";
  private static final String GET_STATS = "S";
  private static final String ACCEPTED = "A";
  private static final String GONE = "G";
  private static final String REPLIES = "R";
  private static final String STATS = "T";
  private static final String DEPARTING = "D";
  private static final String DEPARTURE_NOTED = "N";
  private static final String PAGES_LOST = "L";
  private static final String PULL = "P";
  private static final String PULLED = "Q";
  private static final String PULL_REFUSED = "X";

  private final ActorRefResolver resolver;
  private final String engine;
  /** The version this node writes and reads: {@link ProtocolCompatCheck#KEY}, {@link #VERSION} unless a test plays another release. */
  private final int version;
  /**
   * Bytes of zswapd messages this node serialized (to send) and deserialized (received): made
   * on first use, since Akka makes every configured serializer, cluster or not. Two threads
   * may both make them; Kamon hands both the same instruments.
   */
  private volatile Counters counters;

  private record Counters(kamon.metric.Counter sent, kamon.metric.Counter received) {}

  public ClusterSerializer(ExtendedActorSystem system) {
    this.resolver = ActorRefResolver.get(Adapter.toTyped(system));
    this.engine = system.name();
    com.typesafe.config.Config config = system.settings().config();
    this.version = config.hasPath(ProtocolCompatCheck.KEY) ? config.getInt(ProtocolCompatCheck.KEY) : VERSION;
  }

  private Counters counters() {
    Counters c = counters;
    if (c == null) {
      kamon.metric.Metric.Counter bytes = kamon.Kamon.counter(MetricNames.CLUSTER_MESSAGE_BYTES,
          "bytes of zswapd's page protocol messages between nodes (payload, without Artery's framing)",
          kamon.metric.MeasurementUnit.information().bytes());
      kamon.tag.TagSet tags = kamon.tag.TagSet.of(MetricNames.ENGINE, engine);
      c = new Counters(bytes.withTags(tags.withTag(MetricNames.DIRECTION, "sent")),
          bytes.withTags(tags.withTag(MetricNames.DIRECTION, "received")));
      counters = c;
    }
    return c;
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof ShardHost.Batch) {
      return BATCH;
    } else if (o instanceof ShardHost.GetStats) {
      return GET_STATS;
    } else if (o instanceof ShardAnswer.Accepted) {
      return ACCEPTED;
    } else if (o instanceof ShardAnswer.Gone) {
      return GONE;
    } else if (o instanceof ShardAnswer.Replies) {
      return REPLIES;
    } else if (o instanceof ShardAnswer.Stats) {
      return STATS;
    } else if (o instanceof ShardAnswer.Departing) {
      return DEPARTING;
    } else if (o instanceof ShardHost.DepartureNoted) {
      return DEPARTURE_NOTED;
    } else if (o instanceof ShardAnswer.PagesLost) {
      return PAGES_LOST;
    } else if (o instanceof HostedShards.Pull) {
      return PULL;
    } else if (o instanceof ShardHost.Pulled) {
      return PULLED;
    } else if (o instanceof ShardHost.PullRefused) {
      return PULL_REFUSED;
    }
    throw new IllegalArgumentException("not a zswapd cluster message: " + o.getClass().getName());
  }

  @Override
  public byte[] toBinary(Object o) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    write(new DataOutputStream(bytes), o, version, resolver);
    counters().sent().increment(bytes.size());
    return bytes.toByteArray();
  }

  /**
   * The length of what {@link #toBinary} makes of {@code message}, counted without keeping the
   * bytes: what a message costs on the wire (Artery's framing apart), for the front's figures
   * per shard and per memory node.
   */
  public static int wireSize(Object message, ActorRefResolver resolver) {
    DataOutputStream out = new DataOutputStream(java.io.OutputStream.nullOutputStream());
    write(out, message, VERSION, resolver);
    return out.size();
  }

  private static void write(DataOutputStream out, Object o, int version, ActorRefResolver resolver) {
    try {
      out.writeByte(version);
      if (o instanceof ShardHost.Batch b) {
        out.writeUTF(resolver.toSerializationFormat(b.front()));
        out.writeLong(b.frontRun());
        out.writeLong(b.incarnation());
        out.writeLong(b.batchId());
        out.writeLong(b.firstId());
        out.writeUTF(b.codec().name());
        out.writeInt(b.ops().size());
        for (PageOp op : b.ops()) {
          writeOp(out, op);
        }
        out.writeBoolean(b.adopt() != null);
        if (b.adopt() != null) {
          out.writeUTF(resolver.toSerializationFormat(b.adopt().source()));
          out.writeLong(b.adopt().incarnation());
        }
      } else if (o instanceof ShardHost.GetStats g) {
        out.writeUTF(resolver.toSerializationFormat(g.front()));
        out.writeLong(g.requestId());
      } else if (o instanceof ShardAnswer.Accepted a) {
        out.writeLong(a.incarnation());
        out.writeLong(a.batchId());
        out.writeUTF(a.node());
      } else if (o instanceof ShardAnswer.Gone g) {
        out.writeLong(g.incarnation());
        out.writeLong(g.batchId());
      } else if (o instanceof ShardAnswer.Replies r) {
        out.writeLong(r.incarnation());
        out.writeInt(r.ids().length);
        for (int i = 0; i < r.ids().length; i++) {
          out.writeLong(r.ids()[i]);
          writeReply(out, r.replies()[i]);
        }
      } else if (o instanceof ShardAnswer.Stats s) {
        out.writeLong(s.incarnation());
        out.writeLong(s.requestId());
        out.writeInt(s.figures().length);
        for (long f : s.figures()) {
          out.writeLong(f);
        }
      } else if (o instanceof ShardAnswer.Departing d) {
        out.writeLong(d.incarnation());
        out.writeUTF(resolver.toSerializationFormat(d.source()));
        out.writeUTF(resolver.toSerializationFormat(d.host()));
      } else if (o instanceof ShardHost.DepartureNoted n) {
        out.writeLong(n.incarnation());
      } else if (o instanceof ShardAnswer.PagesLost l) {
        out.writeLong(l.incarnation());
        out.writeInt(l.offsets().length);
        for (int offset : l.offsets()) {
          out.writeInt(offset);
        }
      } else if (o instanceof HostedShards.Pull p) {
        out.writeLong(p.incarnation());
        out.writeInt(p.fromSlot());
        out.writeUTF(resolver.toSerializationFormat(p.replyTo()));
      } else if (o instanceof ShardHost.Pulled p) {
        out.writeLong(p.sourceIncarnation());
        out.writeInt(p.firstSlot());
        out.writeInt(p.images().length);
        for (PageImage image : p.images()) {
          writeImage(out, image);
        }
      } else if (o instanceof ShardHost.PullRefused r) {
        out.writeLong(r.sourceIncarnation());
        out.writeUTF(r.reason().length() > 8_000 ? r.reason().substring(0, 8_000) : r.reason());
      } else {
        throw new IllegalArgumentException("not a zswapd cluster message: " + o.getClass().getName());
      }
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // neither a ByteArrayOutputStream nor the null stream fails
    }
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    counters().received().increment(bytes.length);
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
    try {
      int version = in.readUnsignedByte();
      if (version != this.version) {
        throw new NotSerializableException("zswapd cluster message of protocol version " + version
            + "; this node speaks version " + this.version + " (run the same zswapd release on every node)");
      }
      return switch (manifest) {
        case BATCH -> {
          ActorRef<ShardAnswer> front = resolver.resolveActorRef(in.readUTF());
          long run = in.readLong();
          long incarnation = in.readLong();
          long batchId = in.readLong();
          long firstId = in.readLong();
          String codecName = in.readUTF();
          CodecKind codec;
          try {
            codec = CodecKind.valueOf(codecName);
          } catch (IllegalArgumentException unknown) {
            throw new IOException("the front compresses with " + codecName + ", a codec this node does not have");
          }
          int n = count(in, 1 << 20);
          List<PageOp> ops = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            ops.add(readOp(in));
          }
          ShardHost.Adopt adopt = in.readBoolean()
              ? new ShardHost.Adopt(resolver.resolveActorRef(in.readUTF()), in.readLong()) : null;
          yield new ShardHost.Batch(front, run, incarnation, batchId, firstId, codec, List.copyOf(ops), adopt);
        }
        case GET_STATS -> new ShardHost.GetStats(resolver.resolveActorRef(in.readUTF()), in.readLong());
        case ACCEPTED -> new ShardAnswer.Accepted(in.readLong(), in.readLong(), in.readUTF());
        case GONE -> new ShardAnswer.Gone(in.readLong(), in.readLong());
        case REPLIES -> {
          long incarnation = in.readLong();
          int n = count(in, 1 << 20);
          long[] ids = new long[n];
          Object[] replies = new Object[n];
          for (int i = 0; i < n; i++) {
            ids[i] = in.readLong();
            replies[i] = readReply(in);
          }
          yield new ShardAnswer.Replies(incarnation, ids, replies);
        }
        case STATS -> {
          long incarnation = in.readLong();
          long requestId = in.readLong();
          long[] figures = new long[count(in, 1024)];
          for (int i = 0; i < figures.length; i++) {
            figures[i] = in.readLong();
          }
          yield new ShardAnswer.Stats(incarnation, requestId, figures);
        }
        case DEPARTING -> new ShardAnswer.Departing(in.readLong(), resolver.resolveActorRef(in.readUTF()),
            resolver.resolveActorRef(in.readUTF()));
        case DEPARTURE_NOTED -> new ShardHost.DepartureNoted(in.readLong());
        case PAGES_LOST -> {
          long incarnation = in.readLong();
          int[] offsets = new int[count(in, 1 << 14)];
          for (int i = 0; i < offsets.length; i++) {
            offsets[i] = in.readInt();
          }
          yield new ShardAnswer.PagesLost(incarnation, offsets);
        }
        case PULL -> new HostedShards.Pull(in.readLong(), in.readInt(), resolver.resolveActorRef(in.readUTF()));
        case PULLED -> {
          long incarnation = in.readLong();
          int first = in.readInt();
          PageImage[] images = new PageImage[count(in, 1 << 14)];
          for (int i = 0; i < images.length; i++) {
            images[i] = readImage(in);
          }
          yield new ShardHost.Pulled(incarnation, first, images);
        }
        case PULL_REFUSED -> new ShardHost.PullRefused(in.readLong(), in.readUTF());
        default -> throw new NotSerializableException("unknown zswapd cluster message manifest \"" + manifest + "\"");
      };
    } catch (IOException | RuntimeException e) {
      if (e instanceof NotSerializableException n) {
        throw n;
      }
      NotSerializableException n = new NotSerializableException("malformed zswapd cluster message (manifest "
          + manifest + ", " + bytes.length + " bytes): " + e);
      n.initCause(e);
      throw n;
    }
  }

  private static int count(DataInputStream in, int max) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > max) {
      throw new IOException("count " + n + " outside 0.." + max);
    }
    return n;
  }

  private static void writeOp(DataOutputStream out, PageOp op) throws IOException {
    if (op instanceof PageOp.Store s) {
      out.writeByte(1);
      out.writeLong(s.page());
      writeImage(out, s.image());
    } else if (op instanceof PageOp.Patch p) {
      out.writeByte(2);
      out.writeLong(p.page());
      out.writeInt(p.offset());
      writeBytes(out, p.bytes());
    } else if (op instanceof PageOp.Load l) {
      out.writeByte(3);
      out.writeLong(l.page());
    } else if (op instanceof PageOp.StoreRange s) {
      out.writeByte(4);
      out.writeLong(s.firstPage());
      out.writeInt(s.images().length);
      for (PageImage image : s.images()) {
        writeImage(out, image);
      }
    } else if (op instanceof PageOp.LoadRange l) {
      out.writeByte(5);
      out.writeLong(l.firstPage());
      out.writeInt(l.pageCount());
    } else if (op instanceof PageOp.Invalidate i) {
      out.writeByte(6);
      out.writeLong(i.page());
    } else if (op instanceof PageOp.InvalidateRange i) {
      out.writeByte(7);
      out.writeLong(i.firstPage());
      out.writeLong(i.pageCount());
    } else {
      out.writeByte(8);
    }
  }

  private static PageOp readOp(DataInputStream in) throws IOException {
    int tag = in.readUnsignedByte();
    return switch (tag) {
      case 1 -> new PageOp.Store(in.readLong(), storedImage(in));
      case 2 -> new PageOp.Patch(in.readLong(), in.readInt(), readBytes(in, PageImage.PAGE_SIZE));
      case 3 -> new PageOp.Load(in.readLong());
      case 4 -> {
        long first = in.readLong();
        PageImage[] images = new PageImage[count(in, 1 << 14)];
        for (int i = 0; i < images.length; i++) {
          images[i] = storedImage(in);
        }
        yield new PageOp.StoreRange(first, images);
      }
      case 5 -> new PageOp.LoadRange(in.readLong(), in.readInt());
      case 6 -> new PageOp.Invalidate(in.readLong());
      case 7 -> new PageOp.InvalidateRange(in.readLong(), in.readLong());
      case 8 -> new PageOp.InvalidateArea();
      default -> throw new IOException("unknown page op tag " + tag);
    };
  }

  private static void writeImage(DataOutputStream out, PageImage image) throws IOException {
    if (image == null) {
      out.writeByte(0); // a page never written, in a load's answer
    } else if (image instanceof PageImage.SameFilled s) {
      out.writeByte(1);
      out.writeLong(s.word());
    } else if (image instanceof PageImage.Compressed c) {
      out.writeByte(2);
      writeBytes(out, c.bytes());
    } else {
      out.writeByte(3);
      out.write(((PageImage.Raw) image).bytes());
    }
  }

  /** An image a store carries: never the "never written" of a load's answer. */
  private static PageImage storedImage(DataInputStream in) throws IOException {
    PageImage image = readImage(in);
    if (image == null) {
      throw new IOException("a store without a page image");
    }
    return image;
  }

  private static PageImage readImage(DataInputStream in) throws IOException {
    int tag = in.readUnsignedByte();
    return switch (tag) {
      case 0 -> null;
      case 1 -> new PageImage.SameFilled(in.readLong());
      case 2 -> new PageImage.Compressed(readBytes(in, PageImage.PAGE_SIZE - 1));
      case 3 -> {
        byte[] raw = new byte[PageImage.PAGE_SIZE];
        in.readFully(raw);
        yield new PageImage.Raw(raw);
      }
      default -> throw new IOException("unknown page image tag " + tag);
    };
  }

  private static void writeReply(DataOutputStream out, Object reply) throws IOException {
    if (reply instanceof StoreReply.Stored s) {
      out.writeByte(1);
      out.writeLong(s.pageIndex());
    } else if (reply instanceof StoreReply.Refused r) {
      out.writeByte(2);
      out.writeLong(r.pageIndex());
      writeError(out, r.error());
    } else if (reply instanceof ImagesReply.Images l) {
      out.writeByte(3);
      out.writeLong(l.firstPage());
      out.writeInt(l.images().length);
      for (PageImage image : l.images()) {
        writeImage(out, image);
      }
    } else if (reply instanceof ImagesReply.ImagesFailed f) {
      out.writeByte(4);
      out.writeLong(f.firstPage());
      writeError(out, f.error());
    } else if (reply instanceof InvalidateReply.Invalidated i) {
      out.writeByte(7);
      out.writeLong(i.pagesFreed());
    } else if (reply instanceof InvalidateReply.InvalidateFailed f) {
      out.writeByte(8);
      writeError(out, f.error());
    } else {
      throw new IllegalArgumentException("not a page reply: " + reply.getClass().getName());
    }
  }

  private static Object readReply(DataInputStream in) throws IOException {
    int tag = in.readUnsignedByte();
    return switch (tag) {
      case 1 -> new StoreReply.Stored(in.readLong());
      case 2 -> new StoreReply.Refused(in.readLong(), readError(in));
      case 3 -> {
        long first = in.readLong();
        PageImage[] images = new PageImage[count(in, 1 << 14)];
        for (int i = 0; i < images.length; i++) {
          images[i] = readImage(in);
        }
        yield new ImagesReply.Images(first, images);
      }
      case 4 -> new ImagesReply.ImagesFailed(in.readLong(), readError(in));
      case 7 -> new InvalidateReply.Invalidated(in.readLong());
      case 8 -> new InvalidateReply.InvalidateFailed(readError(in));
      default -> throw new IOException("unknown page reply tag " + tag);
    };
  }

  private static void writeError(DataOutputStream out, EngineError error) throws IOException {
    out.writeUTF(error.code().name());
    out.writeUTF(error.message().length() > 8_000 ? error.message().substring(0, 8_000) : error.message());
  }

  private static EngineError readError(DataInputStream in) throws IOException {
    String code = in.readUTF();
    String message = in.readUTF();
    ErrorCode c;
    try {
      c = ErrorCode.valueOf(code);
    } catch (IllegalArgumentException unknown) {
      return new EngineError(ErrorCode.INVALID, "(a newer node's error " + code + ") " + message);
    }
    return new EngineError(c, message);
  }

  private static void writeBytes(DataOutputStream out, byte[] bytes) throws IOException {
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static byte[] readBytes(DataInputStream in, int max) throws IOException {
    byte[] bytes = new byte[count(in, max)];
    in.readFully(bytes);
    return bytes;
  }
}
