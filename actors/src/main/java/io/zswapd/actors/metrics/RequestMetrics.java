package io.zswapd.actors.metrics;

import static io.zswapd.actors.metrics.MetricNames.*;

import io.zswapd.protocol.engine.PageImage;
import java.util.HashMap;
import java.util.Map;
import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Histogram;
import kamon.metric.MeasurementUnit;
import kamon.metric.Metric;
import kamon.tag.TagSet;

/**
 * Distributions recorded as requests complete: store and load latency (from the call to the
 * engine's reply, so queueing counts) and the compressed size of stored pages, per export.
 *
 * <p>These are on the hot path, so every instrument is resolved (name and tags) once, when the
 * engine starts, into an immutable map by export name; recording is then
 * {@link Histogram#record(long)} on a ready instrument, which neither allocates nor blocks.
 * Exports added later (overflow-store namespaces) have no entry and record nothing.
 */
public final class RequestMetrics {
  /** One export's instruments. */
  public record ExportInstruments(Histogram storeLatency, Histogram loadLatency, Histogram compressedSize) {
    /** Records the size a page takes in the pool: compressed or raw bytes; same-filled pages take none. */
    public void recordImage(PageImage image) {
      if (image instanceof PageImage.Compressed c) {
        compressedSize.record(c.bytes().length);
      } else if (image instanceof PageImage.Raw r) {
        compressedSize.record(r.bytes().length);
      }
    }
  }

  private static final MeasurementUnit NANOS = MeasurementUnit.time().nanoseconds();
  private final Map<String, ExportInstruments> byExport;

  private RequestMetrics(Map<String, ExportInstruments> byExport) {
    this.byExport = Map.copyOf(byExport);
  }

  /** The instruments of {@code exports}, tagged with {@code engine} and {@code compressor}. */
  public static RequestMetrics of(String engine, String compressor, Iterable<String> exports) {
    Map<String, ExportInstruments> m = new HashMap<>();
    for (String export : exports) {
      TagSet t = TagSet.of(ENGINE, engine).withTag(EXPORT, export);
      TagSet c = t.withTag(COMPRESSOR, compressor);
      m.put(export, new ExportInstruments(
          Kamon.histogram(STORE_LATENCY, "time from a store request to the engine's answer", NANOS).withTags(c),
          Kamon.histogram(LOAD_LATENCY, "time from a load request to the engine's answer", NANOS).withTags(c),
          Kamon.histogram(COMPRESSED_SIZE, "bytes a stored page takes: compressed, or 4096 raw",
              MeasurementUnit.information().bytes()).withTags(c)));
    }
    return new RequestMetrics(m);
  }

  /** The export's instruments, or null for an export that has none. */
  public ExportInstruments export(String export) {
    return byExport.get(export);
  }

  /** Per-page writeback latency of one export: from choosing the victim to its write landing. */
  public static Histogram writebackLatency(String engine, String export) {
    return Kamon.histogram(WRITEBACK_LATENCY, "time from choosing a page for writeback to its write landing", NANOS)
        .withTags(TagSet.of(ENGINE, engine).withTag(EXPORT, export));
  }

  /**
   * A clustered export's instruments, shared by its remote shards: the pages lost with a memory
   * node and restored from the front's backing file, the stores kept in that file only, and per
   * memory node ({@link #node}) the round trips of batches and the bytes of messages.
   */
  public record RemoteInstruments(TagSet tags, Counter pagesLost, Counter pagesRestored, Counter pagesToFile) {
    public static RemoteInstruments of(String engine, String export) {
      TagSet t = TagSet.of(ENGINE, engine).withTag(EXPORT, export);
      return new RemoteInstruments(t,
          Kamon.counter(REMOTE_PAGES_LOST, "pages whose memory node was lost: without a backing-file copy they read "
              + "as EIO until rewritten").withTags(t),
          Kamon.counter(REMOTE_PAGES_RESTORED, "pages stored again on a shard's new memory node from their copies "
              + "in the front's backing file").withTags(t),
          Kamon.counter(REMOTE_PAGES_TO_FILE, "stores a memory node's full pool refused, kept in the front's backing "
              + "file only and read from there").withTags(t));
    }

    /**
     * The instruments of talking to the memory node {@code node} ({@code host:port}, "" for
     * messages whose node is not known): Kamon hands every shard that asks the same ones.
     */
    public NodeInstruments node(String node) {
      TagSet t = tags.withTag(NODE, node);
      Metric.Counter bytes = Kamon.counter(REMOTE_MESSAGE_BYTES, "bytes of page-protocol messages between the "
          + "front and the memory node, as serialized (without Artery's framing)", MeasurementUnit.information().bytes());
      return new NodeInstruments(
          Kamon.histogram(REMOTE_BATCH_LATENCY, "time from sending a batch of page requests to a memory node to "
              + "its acceptance (a round trip, retransmissions included)", NANOS).withTags(t),
          bytes.withTags(t.withTag(DIRECTION, "sent")), bytes.withTags(t.withTag(DIRECTION, "received")));
    }
  }

  /** A clustered export's instruments for one memory node ({@link RemoteInstruments#node}). */
  public record NodeInstruments(Histogram batchLatency, Counter bytesSent, Counter bytesReceived) {}

  /** Removes every instrument from Kamon (the engine stopped). */
  public void close() {
    for (ExportInstruments i : byExport.values()) {
      i.storeLatency().remove();
      i.loadLatency().remove();
      i.compressedSize().remove();
    }
  }
}
