package io.zswapd.actors.metrics;

import static io.zswapd.actors.metrics.MetricNames.*;

import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.protocol.engine.PoolStats;
import io.zswapd.protocol.engine.RemoteShardFigures;
import io.zswapd.protocol.engine.SizeClassStats;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;
import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Gauge;
import kamon.metric.Instrument;
import kamon.metric.MeasurementUnit;
import kamon.tag.TagSet;

/**
 * The engine's figures as Kamon instruments: every field of an {@link EngineStats} becomes a
 * gauge (a level: pages held, bytes used) or a counter (a cumulative count: stores refused,
 * pages written back).
 *
 * <p>The engine keeps cumulative counts; Kamon counters take increments. So each counter
 * remembers the last cumulative value it saw and is incremented by the difference, which
 * keeps the scraped {@code _total} monotonic. A count that went down (an export removed and
 * added again under the same name) starts over: its whole new value is added.
 *
 * <p>Owned by one {@link MetricsPublisher}: nothing here is shared or thread-safe. Kamon's
 * instruments themselves are the only thing other threads (the reporter) read.
 */
final class EngineMetrics {
  private static final MeasurementUnit BYTES = MeasurementUnit.information().bytes();
  private static final MeasurementUnit NONE = MeasurementUnit.none();

  private final TagSet engineTags;
  private final TagSet codecTags;
  private final List<Feed<PoolStats>> pool = new ArrayList<>();
  private final Map<String, List<Feed<ExportStats>>> exports = new HashMap<>();
  private final Map<Integer, List<Feed<SizeClassStats>>> classes = new HashMap<>();
  private final Gauge[] fullness = new Gauge[12];
  /** Remote shards per (export, memory node) of clustered exports, as last published. */
  private final Map<List<String>, Gauge[]> remoteShards = new HashMap<>();

  /**
   * @param engine     value of the {@code engine} tag (the actor system's name)
   * @param compressor value of the {@code compressor} tag on compression figures
   */
  EngineMetrics(String engine, String compressor) {
    this.engineTags = TagSet.of(ENGINE, engine);
    this.codecTags = engineTags.withTag(COMPRESSOR, compressor);
    TagSet t = codecTags;
    pool.add(gauge(MEM_USED_TOTAL, "bytes of pool pages holding compressed data (zram mem_used_total)", BYTES, t,
        PoolStats::memUsedTotal));
    pool.add(gauge(MEM_LIMIT, "the pool limit (zram mem_limit)", BYTES, t, PoolStats::memLimit));
    pool.add(gauge(MEM_USED_MAX, "highest mem_used_total seen (zram mem_used_max)", BYTES, t, PoolStats::memUsedMax));
    pool.add(counter(PAGES_COMPACTED, "pages given back by compaction (zram pages_compacted)", t,
        PoolStats::pagesCompacted));
    pool.add(counter(POOL_LIMIT_HIT, "grants the pool limit refused (zswap pool_limit_hit)", t,
        PoolStats::poolLimitHit));
    pool.add(counter(REJECT_RECLAIM_FAIL, "stores the full pool refused because writeback could not "
        + "make room in time; with a backing file they went to the file (zswap reject_reclaim_fail)", t,
        PoolStats::rejectReclaimFail));
    pool.add(gauge(ARENA_PAGES, "arena pages handed to size classes", NONE, t, PoolStats::arenaPagesInUse));
    pool.add(gauge(ARENA_CHUNKS, "off-heap chunks allocated now", NONE, t, PoolStats::arenaChunksHeld));
    pool.add(gauge(ARENA_HELD, "off-heap bytes allocated now (chunks x chunk size)", BYTES, t,
        PoolStats::arenaBytesHeld));
    pool.add(gauge(ARENA_RESIDENT, "off-heap bytes resident now: pages in use and free pages not yet given back"
        + " (the pool's share of RSS)", BYTES, t, PoolStats::arenaBytesResident));
    pool.add(counter(ARENA_PAGES_DISCARDED, "free pages inside chunks given back to the OS (mmap chunks)", t,
        PoolStats::pagesDiscarded));
    pool.add(counter(ARENA_CHUNKS_RELEASED, "chunks returned to the OS", t, PoolStats::chunksReleased));
    pool.add(counter(ARENA_CHUNKS_ALLOCATED, "chunks taken from the OS", t, PoolStats::chunksAllocated));
    pool.add(counter(PAGES_MIGRATED, "zspage pages moved out of sparse chunks (zsmalloc page migration)", t,
        PoolStats::pagesMigrated));
    pool.add(gauge(ZSPAGES_ISOLATED, "zspages isolated for migration now", NONE, t, PoolStats::zspagesIsolated));
    pool.add(gauge(HANDLES, "live objects in all size classes", NONE, t, PoolStats::handlesInUse));
    for (int g = 0; g < fullness.length; g++) {
      fullness[g] = Kamon.gauge(ZSPAGES_BY_FULLNESS, "zspages per fullness group (0 empty, 1..10 tenths in use, 11 full)",
          NONE).withTags(t.withTag(FULLNESS, Integer.toString(g)));
    }
  }

  /** Sets every gauge and advances every counter to {@code stats}. */
  void publish(EngineStats stats) {
    for (Feed<PoolStats> f : pool) {
      f.update(stats.pool());
    }
    Set<String> seen = new HashSet<>();
    for (ExportStats e : stats.exports()) {
      seen.add(e.export());
      for (Feed<ExportStats> f : exports.computeIfAbsent(e.export(), this::exportFeeds)) {
        f.update(e);
      }
    }
    exports.entrySet().removeIf(entry -> {
      if (!seen.contains(entry.getKey())) {
        entry.getValue().forEach(Feed::remove);
        return true;
      }
      return false;
    });
    publishRemoteShards(stats);
    long[] byFullness = new long[fullness.length];
    for (SizeClassStats c : stats.classes()) {
      for (Feed<SizeClassStats> f : classes.computeIfAbsent(c.size(), this::classFeeds)) {
        f.update(c);
      }
      for (int g = 0; g < byFullness.length && g < c.zspagesByFullness().size(); g++) {
        byFullness[g] += c.zspagesByFullness().get(g);
      }
    }
    for (int g = 0; g < fullness.length; g++) {
      fullness[g].update(byFullness[g]);
    }
  }

  /**
   * Per (export, memory node) holding shards of it: the shards, their pages and their compressed
   * bytes there; a node no longer holding any loses its gauges.
   */
  private void publishRemoteShards(EngineStats stats) {
    Set<List<String>> now = new HashSet<>();
    for (ExportStats e : stats.exports()) {
      Map<String, long[]> byNode = new HashMap<>();
      for (RemoteShardFigures r : e.remoteShards()) {
        long[] sums = byNode.computeIfAbsent(r.node(), n -> new long[3]); // as remoteNodeGauges orders them
        sums[0]++;
        sums[1] += r.storedPages();
        sums[2] += r.comprDataSize();
      }
      byNode.forEach((node, sums) -> {
        List<String> key = List.of(e.export(), node);
        now.add(key);
        Gauge[] g = remoteShards.computeIfAbsent(key, k -> remoteNodeGauges(k.get(0), k.get(1)));
        for (int i = 0; i < g.length; i++) {
          g[i].update(sums[i]);
        }
      });
    }
    remoteShards.entrySet().removeIf(entry -> {
      if (!now.contains(entry.getKey())) {
        for (Gauge g : entry.getValue()) {
          g.update(0);
          g.remove();
        }
        return true;
      }
      return false;
    });
  }

  private Gauge[] remoteNodeGauges(String export, String node) {
    TagSet t = engineTags.withTag(EXPORT, export).withTag(NODE, node);
    return new Gauge[] {
        Kamon.gauge(REMOTE_SHARDS, "tree shards of the export held by the memory node (\"\" for those not placed "
            + "yet)", NONE).withTags(t),
        Kamon.gauge(REMOTE_STORED_PAGES, "pages of the export the memory node holds (compressed, huge or "
            + "same-filled)", NONE).withTags(t),
        Kamon.gauge(REMOTE_COMPR_DATA_SIZE, "compressed bytes of the export in the memory node's pool", BYTES)
            .withTags(t)};
  }

  /** Removes every instrument of this engine from Kamon (the engine stopped). */
  void close() {
    remoteShards.values().forEach(g -> java.util.Arrays.stream(g).forEach(Gauge::remove));
    remoteShards.clear();
    pool.forEach(Feed::remove);
    exports.values().forEach(l -> l.forEach(Feed::remove));
    classes.values().forEach(l -> l.forEach(Feed::remove));
    for (Gauge g : fullness) {
      g.update(0);
      g.remove();
    }
    exports.clear();
    classes.clear();
  }

  private List<Feed<ExportStats>> exportFeeds(String export) {
    TagSet t = engineTags.withTag(EXPORT, export);
    TagSet c = codecTags.withTag(EXPORT, export);
    List<Feed<ExportStats>> f = new ArrayList<>();
    f.add(gauge(STORED_PAGES, "pages held in memory: compressed, raw or same-filled (zswap stored_pages)", NONE, t,
        ExportStats::storedPages));
    f.add(gauge(ORIG_DATA_SIZE, "uncompressed bytes of the pages held in memory (zram orig_data_size)", BYTES, t,
        ExportStats::origDataSize));
    f.add(gauge(COMPR_DATA_SIZE, "compressed bytes held; a huge page counts 4096 (zram compr_data_size)", BYTES, c,
        ExportStats::comprDataSize));
    f.add(ratio(COMPRESSION_RATIO, "orig_data_size / compr_data_size, pages in memory (0 while nothing is compressed)",
        c, ExportStats::compressionRatio));
    f.add(gauge(SAME_PAGES, "pages kept as one repeated word, no memory (zram same_pages)", NONE, t,
        ExportStats::samePages));
    f.add(gauge(HUGE_PAGES, "pages kept raw, incompressible (zram huge_pages)", NONE, t, ExportStats::hugePages));
    f.add(counter(DUPLICATE_ENTRY, "stores that replaced a page already held (zswap duplicate_entry)", t,
        ExportStats::duplicateEntry));
    f.add(counter(REJECT_COMPRESS_POOR, "pages that compressed too poorly to pack (zswap reject_compress_poor)", c,
        ExportStats::rejectCompressPoor));
    f.add(counter(REJECT_ALLOC_FAIL, "stores refused because the pool could not allocate (zswap reject_alloc_fail)",
        t, ExportStats::rejectAllocFail));
    f.add(counter(INVALIDATED_PAGES, "pages freed by invalidate, TRIM or swapoff", t,
        ExportStats::invalidatedPages));
    f.add(counter(LOADS, "page loads served", t, ExportStats::loads));
    f.add(counter(STORES, "page stores accepted", t, ExportStats::stores));
    f.add(counter(WRITTEN_BACK_PAGES, "pages written back to the backing file (zswap written_back_pages)", t,
        e -> e.backing().writebacks()));
    f.add(gauge(BACKING_PAGES, "pages held only in the backing file (zram bd_count, in pages)", NONE, t,
        e -> e.backing().writtenBackPages()));
    f.add(counter(BACKING_LOADS, "loads served from the backing file", t, e -> e.backing().loadsFromBacking()));
    f.add(counter(BACKING_WRITE_ERRORS, "backing-file writes that failed (the page stayed in memory)", t,
        e -> e.backing().writeErrors()));
    f.add(counter(BACKING_READ_ERRORS, "backing-file reads that failed (that load got EIO)", t,
        e -> e.backing().readErrors()));
    f.add(counter(BACKING_CORRUPT_READS, "backing-file reads whose bytes failed their checksum (also read errors)",
        t, e -> e.backing().corruptReads()));
    f.add(counter(BACKING_FULL, "writebacks refused because the backing file was full", t,
        e -> e.backing().backingFull()));
    f.add(gauge(BACKING_USED, "backing-file bytes holding pages", BYTES, t, e -> e.backing().bytesUsed()));
    f.add(gauge(BACKING_FILE, "the backing file's high-water mark", BYTES, t, e -> e.backing().fileBytes()));
    f.add(counter(BACKING_READS, "backing-file reads, one per page (zram bd_reads)", t, e -> e.backing().reads()));
    f.add(counter(BACKING_WRITES, "backing-file writes, one per page (zram bd_writes)", t,
        e -> e.backing().writes()));
    f.add(gauge(RECOMPRESSED_PAGES, "pages in memory held by the export's second codec (its recompressor)", NONE, t,
        e -> e.recompress().pages()));
    f.add(gauge(RECOMPRESSED_BYTES, "stored bytes of the recompressed pages (part of compr_data_size)", BYTES, t,
        e -> e.recompress().bytes()));
    f.add(counter(RECOMPRESSIONS, "pages recompressed with the second codec", t, e -> e.recompress().recompressions()));
    f.add(counter(RECOMPRESS_KEPT, "pages whose recompression did not pay; they keep their object", t,
        e -> e.recompress().kept()));
    f.add(counter(RECOMPRESS_FAILED, "recompressions that failed (bytes did not decompress, or no room)", t,
        e -> e.recompress().failed()));
    f.add(counterBytes(RECOMPRESS_SAVED, "stored bytes recompressions saved", t, e -> e.recompress().bytesSaved()));
    return f;
  }

  private List<Feed<SizeClassStats>> classFeeds(int size) {
    TagSet t = codecTags.withTag(SIZE_CLASS, Integer.toString(size));
    List<Feed<SizeClassStats>> f = new ArrayList<>();
    f.add(gauge(CLASS_OBJS_ALLOCATED, "object slots in the class's zspages (zsmalloc obj_allocated)", NONE, t,
        SizeClassStats::objsAllocated));
    f.add(gauge(CLASS_OBJS_USED, "slots holding a live object (zsmalloc obj_used)", NONE, t,
        SizeClassStats::objsUsed));
    f.add(gauge(CLASS_ZSPAGES, "zspages of the class", NONE, t, SizeClassStats::zspages));
    f.add(gauge(CLASS_PAGES_USED, "pages in the class's zspages (zsmalloc pages_used)", NONE, t,
        SizeClassStats::pagesUsed));
    f.add(counter(CLASS_PAGES_COMPACTED, "pages the class gave back by compaction", t,
        SizeClassStats::pagesCompacted));
    return f;
  }

  private static <S> Feed<S> gauge(String name, String help, MeasurementUnit unit, TagSet tags, ToLongFunction<S> of) {
    return gaugeFeed(Kamon.gauge(name, help, unit).withTags(tags), of::applyAsLong);
  }

  private static <S> Feed<S> ratio(String name, String help, TagSet tags, ToDoubleFunction<S> of) {
    return gaugeFeed(Kamon.gauge(name, help, NONE).withTags(tags), of);
  }

  private static <S> Feed<S> gaugeFeed(Gauge g, ToDoubleFunction<S> of) {
    return new Feed<>(g) {
      @Override
      void update(S stats) {
        g.update(of.applyAsDouble(stats));
      }

      @Override
      void remove() {
        g.update(0); // a reporter keeps the last value it saw: an export removed holds nothing
        super.remove();
      }
    };
  }

  private static <S> Feed<S> counter(String name, String help, TagSet tags, ToLongFunction<S> of) {
    return counterFeed(Kamon.counter(name, help).withTags(tags), of);
  }

  /** A counter of bytes: Prometheus names it {@code NAME_bytes_total}. */
  private static <S> Feed<S> counterBytes(String name, String help, TagSet tags, ToLongFunction<S> of) {
    return counterFeed(Kamon.counter(name, help, BYTES).withTags(tags), of);
  }

  private static <S> Feed<S> counterFeed(Counter c, ToLongFunction<S> of) {
    return new Feed<>(c) {
      private long last;

      @Override
      void update(S stats) {
        long now = of.applyAsLong(stats);
        long delta = now >= last ? now - last : now;
        if (delta > 0) {
          c.increment(delta);
        }
        last = now;
      }
    };
  }

  /** One instrument fed from one field of a stats record. */
  private abstract static class Feed<S> {
    private final Instrument<?, ?> instrument;

    Feed(Instrument<?, ?> instrument) {
      this.instrument = instrument;
    }

    abstract void update(S stats);

    void remove() {
      instrument.remove();
    }
  }
}
