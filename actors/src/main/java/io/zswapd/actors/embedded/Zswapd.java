package io.zswapd.actors.embedded;

import akka.Done;
import akka.NotUsed;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.stream.javadsl.Flow;
import io.zswapd.actors.ZswapGuardian;
import io.zswapd.actors.cluster.ClusterShards;
import io.zswapd.actors.arena.ChunkMemory;
import io.zswapd.actors.arena.DirectMemoryBudget;
import io.zswapd.actors.arena.OffHeap;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.metrics.MetricsPublisher;
import io.zswapd.actors.metrics.PrometheusEndpoint;
import io.zswapd.actors.metrics.RequestMetrics;
import io.zswapd.actors.overflow.OverflowLimits;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.actors.tree.ShardRanges;
import io.zswapd.actors.tree.ExportRoute;
import io.zswapd.actors.writeback.BackingIo;
import io.zswapd.actors.writeback.FileBackingIo;
import io.zswapd.config.ExportSettings;
import io.zswapd.config.LiveSetting;
import io.zswapd.config.SettingsException;
import io.zswapd.config.ZswapdSettings;
import io.zswapd.protocol.engine.CompactionResult;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadRangeReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.MigrationResult;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.ShutdownReport;
import io.zswapd.protocol.engine.StoreReply;
import io.zswapd.protocol.engine.RecompressMode;
import io.zswapd.protocol.engine.RecompressResult;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import kamon.metric.Histogram;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * zswapd embedded in an Akka application: a compressed, off-heap page store.
 *
 * <pre>{@code
 * ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "app");
 * Zswapd zswapd = Zswapd.get(system);
 * byte[] page = new byte[4096];
 * zswapd.store("swap0", 42, page)                       // compressed before store returns
 *     .thenCompose(done -> zswapd.load("swap0", 42))     // 4096 bytes back
 *     .thenAccept(bytes -> System.out.println(bytes.length));
 * }</pre>
 *
 * <p>Exports come from {@code zswapd.exports} in the system's configuration (one, {@code swap0},
 * by default). Every method returns at once; failures complete the stage with a
 * {@link ZswapdException} carrying the engine's {@link EngineError}. A page that was never
 * stored, or was invalidated, loads as zeros.
 *
 * <p>{@code Zswapd.get} throws a {@link SettingsException} (one line) when the configuration is
 * wrong: a bad value, an unknown key, or a {@code pool.max-size} the JVM's direct memory cannot
 * hold ({@link DirectMemoryBudget}: the pool plus max(10%, 64 MiB)); and an
 * {@link IllegalStateException} when a backing file cannot be opened.
 *
 * <p>{@code store} compresses the page on the calling thread before it returns (see
 * {@link PageCompressor}), so the caller may reuse its buffer immediately.
 *
 * <p>Ordering is a block device's: a request sees every request whose stage completed before
 * it was made. Requests made without waiting for each other may be applied in either order
 * (operations on one page are never interleaved, but two in flight at once have no order).
 */
public final class Zswapd implements Extension {

  /** The extension id: {@code Zswapd.get(system)} creates the engine once per actor system. */
  public static final class Id extends ExtensionId<Zswapd> {
    @Override
    public Zswapd createExtension(ActorSystem<?> system) {
      return new Zswapd(system);
    }
  }

  public static final Id ID = new Id();

  /** How long a request may wait for the engine before its stage fails. */
  public static final Duration ASK_TIMEOUT = Duration.ofSeconds(60);

  public static Zswapd get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  private final ActorSystem<?> system;
  private final ZswapdSettings settings;
  private final PageCompressor compressor;
  private final ActorRef<ZswapGuardian.Command> guardian;
  private final Ask asks;
  /** Where the pool's chunks come from (zswapd.pool.off-heap); the direct-memory limit applies only to direct. */
  private final ChunkMemory chunkMemory;
  /** The routing table of page requests ({@link ZswapGuardian.Routes}); null until the engine has started. */
  private final AtomicReference<ZswapGuardian.Routes> routes = new AtomicReference<>();
  private final CompletableFuture<ZswapGuardian.Routes> firstRoutes;
  private final RequestMetrics requestMetrics;
  private final Optional<PrometheusEndpoint> metricsEndpoint;
  private final PageFlows flows = new PageFlows(this);
  /** Completed once, with what failed, when an engine actor has failed ({@link #whenFailed()}). */
  private final CompletableFuture<String> failed = new CompletableFuture<>();

  private Zswapd(ActorSystem<?> system) {
    this.system = system;
    this.settings = ZswapdSettings.fromConfig(system.settings().config());
    this.chunkMemory = OffHeap.choose(settings.pool().offHeap(), settings.pool().migration().checkedMemory());
    if (chunkMemory.limitedByDirectMemory()) {
      DirectMemoryBudget.check(settings.pool().maxSizeBytes(), DirectMemoryBudget.jvmLimit());
    }
    this.compressor = PageCompressor.of(settings.pool());
    // The endpoint's address is bound first: an address in use stops the start before any file
    // is opened; it is served last, once nothing can fail (a failed start leaves nothing behind).
    this.metricsEndpoint = settings.metrics().prometheus()
        .map(address -> PrometheusEndpoint.bind(address, settings.metrics().tickInterval()));
    Map<String, BackingIo> backingIos;
    try {
      backingIos = openBackingFiles(system, settings);
    } catch (RuntimeException e) {
      metricsEndpoint.ifPresent(PrometheusEndpoint::stop);
      throw e;
    }
    SpawnHook spawnHook = system.settings().setup().get(ZswapdSetup.class).map(ZswapdSetup::spawnHook)
        .orElse(SpawnHook.NONE);
    ActorRef<ZswapGuardian.Command> engine = null;
    try {
      engine = system.systemActorOf(ZswapGuardian.create(settings, chunkMemory, backingIos, spawnHook, failed::complete),
          "zswapd",
          io.zswapd.actors.support.EngineDispatcher.PROPS);
      this.guardian = engine;
      if (settings.cluster().enabled()) { // before any page request: remote shards are sharded entities
        ActorRef<ZswapGuardian.Command> g = engine;
        ClusterShards.start(system, settings.cluster(),
            to -> g.tell(new ZswapGuardian.GetPoolParts(to)),
            to -> g.tell(new ZswapGuardian.Engine(new EngineCommand.GetStats(to))));
      }
      this.asks = new Ask(system, ASK_TIMEOUT, "zswapd-asks", failed);
      EngineWatch.start(system, guardian, failed);
      this.firstRoutes = refreshRoutes();
      String codec = settings.pool().compressor().configName();
      this.requestMetrics = RequestMetrics.of(system.name(), codec,
          settings.exports().stream().map(ExportSettings::name).toList());
      system.systemActorOf(MetricsPublisher.create(guardian, settings.metrics().tickInterval(), system.name(), codec),
          "zswapd-metrics", io.zswapd.actors.support.EngineDispatcher.PROPS);
      metricsEndpoint.ifPresent(PrometheusEndpoint::serve);
    } catch (RuntimeException e) { // release what this start took: the port, the files (or the engine holding them)
      metricsEndpoint.ifPresent(PrometheusEndpoint::stop);
      if (engine == null) {
        backingIos.values().forEach(BackingIo::close);
      } else {
        engine.tell(new ZswapGuardian.Shutdown(system.ignoreRef()));
      }
      throw e;
    }
    // The endpoint closes with the system's coordinated shutdown, so the port is free once
    // terminate() completes; the termination hook covers a system that skips it.
    metricsEndpoint.ifPresent(endpoint -> CoordinatedShutdown.get(system).addTask(
        CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "zswapd-metrics-stop", () -> {
          endpoint.stop();
          return CompletableFuture.completedFuture(Done.getInstance());
        }));
    system.getWhenTerminated().thenRun(() -> {
      metricsEndpoint.ifPresent(PrometheusEndpoint::stop);
      requestMetrics.close();
    });
    // a front drains before it leaves the cluster: its remote shards free their pages on the
    // memory nodes while Cluster Sharding still reaches them; a memory node drains once the
    // shards it handed off have been taken (their pages are read from its pool until then)
    String drainPhase = switch (settings.cluster().role()) {
      case FRONT -> CoordinatedShutdown.PhaseBeforeClusterShutdown();
      case MEMORY -> CoordinatedShutdown.PhaseClusterLeave();
      case OFF -> CoordinatedShutdown.PhaseBeforeActorSystemTerminate();
    };
    CoordinatedShutdown.get(system).addTask(drainPhase, "zswapd-drain",
        () -> shutdown().thenApply(r -> Done.getInstance()));
  }

  /**
   * Opens every export's backing file now, so a path that cannot be opened stops the start
   * with one line naming the export and the file. Two exports naming one file by the same path
   * are refused by the settings; by different paths (a link, a directory reached two ways) here,
   * before the second is opened.
   */
  private static Map<String, BackingIo> openBackingFiles(ActorSystem<?> system, ZswapdSettings settings) {
    ZswapdSetup.BackingIoFactory factory = system.settings().setup().get(ZswapdSetup.class)
        .map(ZswapdSetup::backingIo)
        .orElse(export -> FileBackingIo.open(export.backingFile().orElseThrow(), export.name(),
            system.dispatchers().lookup(DispatcherSelector.blocking())));
    Map<String, BackingIo> opened = new LinkedHashMap<>();
    for (ExportSettings e : settings.exports()) {
      if (e.backingFile().isPresent()) {
        try {
          refuseSharedFile(e, opened);
          opened.put(e.name(), factory.open(e));
        } catch (IOException | RuntimeException failure) {
          opened.values().forEach(BackingIo::close);
          throw new IllegalStateException("export \"" + e.name() + "\": " + failure.getMessage(), failure);
        }
      }
    }
    return opened;
  }

  /** Throws when {@code e}'s backing file is one an export opened before it already uses. */
  private static void refuseSharedFile(ExportSettings e, Map<String, BackingIo> opened) throws IOException {
    Path file = e.backingFile().orElseThrow();
    for (Map.Entry<String, BackingIo> other : opened.entrySet()) {
      if (other.getValue() instanceof FileBackingIo io && Files.exists(file) && Files.isSameFile(file, io.path())) {
        throw new IOException("backing file " + file + " is the file " + io.path() + " that export \""
            + other.getKey() + "\" uses; each export needs a backing file of its own");
      }
    }
  }

  public ZswapdSettings settings() {
    return settings;
  }

  /**
   * Completes, with a line saying which actor failed and which pages are lost, if the engine
   * fails: an engine actor threw (a bug; bad input and I/O errors are answers, never throws).
   * From then on every request, waiting or new, fails at once with {@code ENGINE_FAILED}
   * (writeback, compaction and migration too: they need the engine's actors), except those the
   * guardian answers by itself (stats, settings, exports, shutdown); the daemon exits with
   * status 70 so that its supervisor restarts it. An embedding application decides for itself,
   * for example:
   *
   * <pre>{@code
   * zswapd.whenFailed().thenAccept(what -> log.error("compressed store lost: {}", what));
   * }</pre>
   */
  public CompletionStage<String> whenFailed() {
    return failed.minimalCompletionStage();
  }

  /**
   * Where the Prometheus endpoint listens ({@code GET /metrics}), with the real port when
   * {@code metrics.prometheus} asked for port 0; empty when it is "off".
   */
  public Optional<InetSocketAddress> metricsAddress() {
    return metricsEndpoint.map(PrometheusEndpoint::address);
  }

  /** The page compressor this engine uses (codec, same-filled detection, huge threshold). */
  public PageCompressor compressor() {
    return compressor;
  }

  /** The engine's root actor, for code that speaks {@link EngineCommand} directly. */
  public ActorRef<ZswapGuardian.Command> guardian() {
    return guardian;
  }

  // ---- pages --------------------------------------------------------------------------------

  /** Stores a 4096-byte page; the array may be reused as soon as this returns. */
  public CompletionStage<Void> store(String export, long pageIndex, byte[] page) {
    if (page.length != PageImage.PAGE_SIZE) {
      return invalid("a page is exactly " + PageImage.PAGE_SIZE + " bytes, got " + page.length);
    }
    return storeImage(export, pageIndex, compressor.compress(page, 0));
  }

  /** Stores the 4096 bytes remaining in {@code page}; the buffer may change as soon as this returns. */
  public CompletionStage<Void> store(String export, long pageIndex, ByteBuffer page) {
    if (page.remaining() != PageImage.PAGE_SIZE) {
      return invalid("a page is exactly " + PageImage.PAGE_SIZE + " bytes, got " + page.remaining());
    }
    return storeImage(export, pageIndex, compressor.compress(page));
  }

  /** Stores a page already turned into an image (by {@link #compressor()}). */
  public CompletionStage<Void> storeImage(String export, long pageIndex, PageImage image) {
    RequestMetrics.ExportInstruments m = requestMetrics.export(export);
    if (m != null) {
      m.recordImage(image);
    }
    return askPage(export, (ActorRef<StoreReply> r) -> new EngineCommand.Store(export, pageIndex, image, r),
        m == null ? null : m.storeLatency(), Zswapd::stored, Ask.Completion.REPLYING_THREAD);
  }

  /**
   * Replaces {@code bytes.length} bytes of a page from {@code offset}, keeping the rest
   * (read-modify-write in the page's owner). {@code offset + bytes.length} must be at most 4096.
   */
  public CompletionStage<Void> patch(String export, long pageIndex, int offset, byte[] bytes) {
    if (offset < 0 || bytes.length == 0 || offset + bytes.length > PageImage.PAGE_SIZE) {
      return invalid("a patch must lie inside one page: offset " + offset + " + " + bytes.length
          + " bytes is outside 0.." + PageImage.PAGE_SIZE);
    }
    byte[] copy = bytes.clone();
    RequestMetrics.ExportInstruments m = requestMetrics.export(export);
    return askPage(export, (ActorRef<StoreReply> r) -> new EngineCommand.Patch(export, pageIndex, offset, copy, r),
        m == null ? null : m.storeLatency(), Zswapd::stored, Ask.Completion.REPLYING_THREAD);
  }

  private static Void stored(StoreReply reply) {
    if (reply instanceof StoreReply.Refused f) {
      throw new ZswapdException(f.error());
    }
    return null;
  }

  /** Loads a page: 4096 bytes, zeros if it was never stored or was invalidated. */
  public CompletionStage<byte[]> load(String export, long pageIndex) {
    RequestMetrics.ExportInstruments m = requestMetrics.export(export);
    return askPage(export, (ActorRef<LoadReply> r) -> new EngineCommand.Load(export, pageIndex, r),
        m == null ? null : m.loadLatency(), Zswapd::loaded, Ask.Completion.REPLYING_THREAD);
  }

  private static byte[] loaded(LoadReply reply) {
    if (reply instanceof LoadReply.LoadFailed f) {
      throw new ZswapdException(f.error());
    }
    return ((LoadReply.Loaded) reply).page();
  }

  /** Most pages one {@link #storePages} or {@link #loadPages} call may name: 32 MiB. */
  public static final int MAX_RANGE_PAGES = 8192;

  /**
   * Stores {@code pages.length / 4096} consecutive pages from {@code firstPage} (a swap cluster,
   * a bulk park of cold state): every page compressed on the calling thread before this
   * returns, then stored with one message per tree shard and size class instead of several per
   * page. The array may be reused as soon as this returns. Completes when every page is
   * stored; if one is refused the stage fails naming the first such page, and the others may
   * be stored, as after a failed write to a block device.
   *
   * <pre>{@code
   * byte[] cluster = new byte[8 * 4096];            // 8 pages
   * zswapd.storePages("swap0", 1024, cluster)
   *     .thenCompose(done -> zswapd.loadPages("swap0", 1024, 8));
   * }</pre>
   */
  public CompletionStage<Void> storePages(String export, long firstPage, byte[] pages) {
    return storePages(export, firstPage, ByteBuffer.wrap(pages));
  }

  /** As {@link #storePages(String, long, byte[])}, from the bytes remaining in {@code pages}. */
  public CompletionStage<Void> storePages(String export, long firstPage, ByteBuffer pages) {
    int length = pages.remaining();
    if (length == 0 || length % PageImage.PAGE_SIZE != 0) {
      return invalid("pages are a positive multiple of " + PageImage.PAGE_SIZE + " bytes, got " + length);
    }
    int count = length / PageImage.PAGE_SIZE;
    if (count > MAX_RANGE_PAGES) {
      return tooManyPages(count);
    }
    PageImage[] images = new PageImage[count];
    for (int i = 0; i < count; i++) {
      images[i] = compressor.compress(pages.slice(pages.position() + i * PageImage.PAGE_SIZE, PageImage.PAGE_SIZE));
    }
    return storeImages(export, firstPage, images);
  }

  /** Stores consecutive pages already turned into images (by {@link #compressor()}), as {@link #storePages}. */
  public CompletionStage<Void> storeImages(String export, long firstPage, PageImage[] images) {
    int count = images.length;
    if (count == 0 || count > MAX_RANGE_PAGES) {
      return count == 0 ? invalid("a range store needs at least one page") : tooManyPages(count);
    }
    RequestMetrics.ExportInstruments m = requestMetrics.export(export);
    if (m != null) {
      for (PageImage image : images) {
        m.recordImage(image);
      }
    }
    CompletableFuture<?>[] parts = new CompletableFuture<?>[ShardRanges.partCount(firstPage, count)];
    int done = 0;
    for (int k = 0; k < parts.length; k++) {
      int n = ShardRanges.partLength(firstPage + done, count - done);
      PageImage[] part = parts.length == 1 ? images : Arrays.copyOfRange(images, done, done + n);
      long first = firstPage + done;
      parts[k] = askPage(export, (ActorRef<StoreReply> r) -> new EngineCommand.StoreRange(export, first, part, r),
          m == null ? null : m.storeLatency(), Zswapd::stored, Ask.Completion.REPLYING_THREAD);
      done += n;
    }
    return parts.length == 1 ? parts[0].thenApply(v -> null) : CompletableFuture.allOf(parts);
  }

  private static <T> CompletionStage<T> tooManyPages(int count) {
    return invalid(count + " pages in one call; the limit is " + MAX_RANGE_PAGES + " (32 MiB)");
  }

  /**
   * Loads {@code count} consecutive pages from {@code firstPage}: {@code count * 4096} bytes,
   * zeros for pages never stored or invalidated. One message per tree shard and size class;
   * the decompression is spread over the shards.
   */
  public CompletionStage<byte[]> loadPages(String export, long firstPage, int count) {
    if (count < 1 || count > MAX_RANGE_PAGES) {
      return invalid("a range load names 1.." + MAX_RANGE_PAGES + " pages, got " + count);
    }
    @SuppressWarnings({"unchecked", "rawtypes"})
    CompletableFuture<byte[]>[] parts = new CompletableFuture[ShardRanges.partCount(firstPage, count)];
    RequestMetrics.ExportInstruments m = requestMetrics.export(export);
    int done = 0;
    for (int k = 0; k < parts.length; k++) {
      int n = ShardRanges.partLength(firstPage + done, count - done);
      long first = firstPage + done;
      parts[k] = askPage(export, (ActorRef<LoadRangeReply> r) -> new EngineCommand.LoadRange(export, first, n, r),
          m == null ? null : m.loadLatency(), Zswapd::loadedRange, Ask.Completion.REPLYING_THREAD);
      done += n;
    }
    if (parts.length == 1) {
      return parts[0];
    }
    return CompletableFuture.allOf(parts).thenApply(v -> {
      byte[] all = new byte[count * PageImage.PAGE_SIZE];
      int at = 0;
      for (CompletableFuture<byte[]> part : parts) {
        byte[] bytes = part.join();
        System.arraycopy(bytes, 0, all, at, bytes.length);
        at += bytes.length;
      }
      return all;
    });
  }

  private static byte[] loadedRange(LoadRangeReply reply) {
    if (reply instanceof LoadRangeReply.LoadRangeFailed f) {
      throw new ZswapdException(f.error());
    }
    return ((LoadRangeReply.LoadedRange) reply).pages();
  }

  /** Forgets one page and frees its memory; completes with 1 if it held data, else 0. */
  public CompletionStage<Long> invalidate(String export, long pageIndex) {
    return askPage(export, (ActorRef<InvalidateReply> r) ->
        new EngineCommand.Invalidate(export, pageIndex, r), null, Zswapd::invalidated, Ask.Completion.TASK);
  }

  /** Forgets {@code count} pages from {@code firstPage}; completes with the pages that held data. */
  public CompletionStage<Long> invalidateRange(String export, long firstPage, long count) {
    return askPage(export, (ActorRef<InvalidateReply> r) ->
        new EngineCommand.InvalidateRange(export, firstPage, count, r), null, Zswapd::invalidated,
        Ask.Completion.TASK);
  }

  /** Forgets every page of the export (swapoff). */
  public CompletionStage<Long> invalidateArea(String export) {
    return askPage(export, (ActorRef<InvalidateReply> r) -> new EngineCommand.InvalidateArea(export, r), null,
        Zswapd::invalidated, Ask.Completion.TASK);
  }

  /**
   * Sends page requests of one export by their one route, as one message, with no future: each
   * request's answer goes to its own {@code replyTo}, once. For callers that keep the
   * bookkeeping of many requests themselves, such as an NBD connection, which sends all the
   * requests it decoded in one pass together. Such a caller times its requests out itself
   * ({@link #ASK_TIMEOUT} is what the futures of this API allow) and watches
   * {@link #whenFailed()}. An unknown export, or an engine that has failed, refuses every
   * request at once, on the calling thread, each through its own
   * {@link EngineCommand.PageRequest#refuse}. The sizes of stored pages are recorded in the
   * export's {@code compressed_size} histogram here; latencies are the caller's to record
   * ({@link #instruments}).
   */
  public void send(String export, List<? extends EngineCommand.PageRequest> requests) {
    if (requests.isEmpty()) {
      return;
    }
    ZswapGuardian.Routes table = routes.get();
    if (table == null) { // the first moments after start: the engine is still making its exports
      firstRoutes.thenRun(() -> send(export, requests));
      return;
    }
    ExportRoute route = table.exports().get(export);
    EngineError refused = failed.isDone() ? EngineError.engineFailed(failed.getNow(""))
        : route == null ? EngineError.noSuchExport(export) : null;
    if (refused != null) {
      requests.forEach(r -> r.refuse(refused));
      return;
    }
    RequestMetrics.ExportInstruments m = requestMetrics.export(export);
    if (m != null) {
      for (EngineCommand.PageRequest r : requests) {
        if (r instanceof EngineCommand.Store s) {
          m.recordImage(s.page());
        } else if (r instanceof EngineCommand.StoreRange s) {
          for (PageImage image : s.pages()) {
            m.recordImage(image);
          }
        }
      }
    }
    route.send(requests, InvalidateParts::new);
  }

  /** The export's request histograms (store and load latency, compressed size), or null if it has none. */
  public RequestMetrics.ExportInstruments instruments(String export) {
    return requestMetrics.export(export);
  }

  private static Long invalidated(InvalidateReply reply) {
    if (reply instanceof InvalidateReply.InvalidateFailed f) {
      throw new ZswapdException(f.error());
    }
    return ((InvalidateReply.Invalidated) reply).pagesFreed();
  }

  // ---- pool ---------------------------------------------------------------------------------

  /**
   * Where the pool's chunks come from: "mmap" (JDK 22+, limited only by {@code pool.max-size}) or
   * "direct" (direct buffers, limited by {@code -XX:MaxDirectMemorySize}); see
   * {@code zswapd.pool.off-heap}.
   */
  public String offHeap() {
    return chunkMemory.kind();
  }

  /** Every counter: pool, exports, size classes. */
  public CompletionStage<EngineStats> stats() {
    // answered by the guardian itself even after a failure (see whenFailed)
    return asks.control(guardian, r -> new ZswapGuardian.Engine(new EngineCommand.GetStats(r)));
  }

  /**
   * Writes pages back to the backing files now (zram's {@code writeback}): {@code IDLE} pages
   * not touched since the last idle period began, {@code HUGE} pages stored raw, {@code ALL}
   * pages, or {@code LRU} the coldest. Exports without a backing file are skipped.
   */
  public CompletionStage<WritebackResult> writeback(WritebackMode mode) {
    return ask((ActorRef<WritebackResult> r) -> new EngineCommand.Writeback(mode, r));
  }

  /**
   * Recompresses stored pages now with their export's second codec (zram's {@code recompress}):
   * {@code IDLE} pages not touched since the last idle period began, {@code HUGE} pages stored
   * raw, {@code ALL} pages. Exports without a {@code recompressor} are skipped. A page keeps
   * its object unless the new copy falls in a smaller size class and saves
   * {@code pool.recompress.min-saving}.
   *
   * <pre>{@code
   * RecompressResult r = zswapd.recompress(RecompressMode.IDLE, 0).toCompletableFuture().join();
   * log.info("{} pages recompressed, {} bytes saved", r.recompressed(), r.bytesSaved());
   * }</pre>
   *
   * @param threshold only pages stored in at least this many bytes (0..4096; 0: any), as zram's {@code threshold=}
   * @throws IllegalArgumentException when {@code threshold} is outside 0..4096
   */
  public CompletionStage<RecompressResult> recompress(RecompressMode mode, int threshold) {
    if (threshold < 0 || threshold > PageImage.PAGE_SIZE) {
      throw new IllegalArgumentException("threshold " + threshold + " is outside 0..4096 bytes");
    }
    return ask((ActorRef<RecompressResult> r) -> new EngineCommand.Recompress(mode, threshold, r));
  }

  /**
   * Removes an export (swapoff, then detach): every page is invalidated, its backing file is
   * closed, and later requests for it are refused.
   */
  public CompletionStage<ZswapGuardian.ExportRemoved> removeExport(String name) {
    return asks.<ZswapGuardian.Command, ZswapGuardian.ExportRemoved>control(guardian,
        r -> new ZswapGuardian.RemoveExport(name, r))
        .thenCompose(removed -> refreshRoutes().thenApply(table -> removed));
  }

  /**
   * Changes a setting while the engine runs, parsed and checked as in the configuration file
   * (the {@code zswapd.} prefix is optional). Live keys are {@link LiveSetting#KEYS}: the pool
   * limit and accept threshold, and the writeback idle period and reclaim timeout.
   *
   * <pre>{@code
   * zswapd.set("pool.max-size", "512 MiB")          // or "10%" of physical RAM
   *     .thenAccept(c -> System.out.println("limit now " + c.poolLimitBytes()));
   * }</pre>
   *
   * <p>A limit below the memory in use takes effect at the next allocation: it counts a
   * {@code pool_limit_hit} and starts writeback (or, without a backing file, refuses stores until
   * usage falls below the accept threshold), as when the pool fills up. A bad key or value, or a
   * limit the JVM's direct memory cannot hold ({@link DirectMemoryBudget}), completes the stage
   * with a {@link ZswapdException} ({@code INVALID}) whose message is one line naming the key,
   * the value and what is allowed, and changes nothing. {@link #settings()} stays
   * the configuration the engine started with; {@link #stats()} shows the limit in force.
   */
  public CompletionStage<ZswapGuardian.SettingChanged> set(String key, String value) {
    LiveSetting change;
    try {
      change = LiveSetting.parse(key, value);
      if (change instanceof LiveSetting.MaxSize m && chunkMemory.limitedByDirectMemory()) {
        DirectMemoryBudget.check(m.bytes(), DirectMemoryBudget.jvmLimit());
      }
    } catch (SettingsException e) {
      return invalid(e.getMessage());
    }
    return asks.<ZswapGuardian.Command, ZswapGuardian.SettingChanged>control(guardian,
        r -> new ZswapGuardian.ChangeSetting(change, r));
  }

  /**
   * Starts {@code mem_used_max} again from the current {@code mem_used_total} (zram: {@code echo 0
   * > mem_used_max}). Stats asked for after this completes show the new maximum.
   */
  public CompletionStage<Void> resetMax() {
    return asks.<ZswapGuardian.Command, Done>control(guardian, ZswapGuardian.ResetMax::new).thenApply(d -> null);
  }

  /** Compacts every size class now. */
  public CompletionStage<CompactionResult> compact() {
    return ask(EngineCommand.Compact::new);
  }

  /**
   * Gives memory back to the OS now: compacts every size class, then migrates zspage pages out
   * of sparse chunks (those with at least {@code pool.migration.min-chunk-free} of their pages
   * free) and releases the emptied chunks. The migration worker also does this by itself every
   * {@code pool.migration.period} when the pool is fragmented.
   *
   * <pre>{@code
   * zswapd.invalidateRange("swap0", 0, 100_000)
   *     .thenCompose(freed -> zswapd.migrate())
   *     .thenAccept(r -> System.out.println(r.chunksReleased() + " chunks back to the OS"));
   * }</pre>
   */
  public CompletionStage<MigrationResult> migrate() {
    return ask(EngineCommand.Migrate::new);
  }

  /**
   * Resets an export, as zram's {@code reset}: every page is dropped and its memory released;
   * the export stays and takes new stores at once. Completes with the pages that held data,
   * after no migration in flight can still name them. An unknown export fails the stage with
   * {@code NO_SUCH_EXPORT}, a reset after {@link #shutdown()} with {@code SHUTTING_DOWN}.
   *
   * <pre>{@code
   * zswapd.reset("swap0").thenAccept(freed -> System.out.println(freed + " pages dropped"));
   * }</pre>
   */
  public CompletionStage<Long> reset(String export) {
    return asks.<ZswapGuardian.Command, ZswapGuardian.ExportReset>control(guardian,
        r -> new ZswapGuardian.ResetExport(export, r))
        .thenCompose(r -> r.existed()
            ? CompletableFuture.completedStage(r.pagesFreed())
            : CompletableFuture.failedStage(new ZswapdException(r.shuttingDown()
                ? EngineError.shutDown()
                : EngineError.noSuchExport(export))));
  }

  /**
   * Invalidates every export, drains the pool and reports what was left (all zeros unless
   * something leaked). Later requests fail with {@code SHUTTING_DOWN}. Runs by itself when the
   * actor system terminates.
   */
  public CompletionStage<ShutdownReport> shutdown() {
    return asks.control(guardian, ZswapGuardian.Shutdown::new);
  }

  /** Adds an export at run time; completes with false when one of that name exists. */
  public CompletionStage<Boolean> addExport(String name, long sizeBytes) {
    ExportSettings e = new ExportSettings(name, sizeBytes, false, Optional.empty(), OptionalLong.empty());
    return asks.<ZswapGuardian.Command, ZswapGuardian.ExportAdded>control(guardian,
        r -> new ZswapGuardian.AddExport(e, r))
        .thenCompose(added -> refreshRoutes().thenApply(table -> added.created()));
  }

  // ---- overflow store ---------------------------------------------------------------------

  /**
   * The overflow store of {@code namespace} (made on first use, with the limits
   * {@code zswapd.overflow.namespaces} gives it, else none but the pool's; an existing namespace
   * keeps its limits): values under long or string keys, each namespace with its own page space.
   * See {@link OverflowStore}.
   */
  public CompletionStage<OverflowStore> overflowStore(String namespace) {
    if (!namespace.matches("[A-Za-z0-9._-]{1,64}")) {
      return invalid("namespace \"" + namespace + "\" must be 1..64 characters of [A-Za-z0-9._-]");
    }
    return asks.<ZswapGuardian.Command, ActorRef<OverflowStore.Command>>ask(guardian,
            r -> new ZswapGuardian.OpenNamespace(namespace, r))
        .thenApply(ref -> new OverflowStore(namespace, ref, asks));
  }

  /** The overflow store of {@code namespace}, with {@code limits} in force before it is returned. */
  public CompletionStage<OverflowStore> overflowStore(String namespace, OverflowLimits limits) {
    return overflowStore(namespace).thenCompose(store -> store.setLimits(limits).thenApply(figures -> store));
  }

  // ---- streams ------------------------------------------------------------------------------

  /** A page to store through {@link #storeFlow}. */
  public record PageWrite(long pageIndex, byte[] page) {}

  /** A loaded page from {@link #loadFlow}. */
  public record PageRead(long pageIndex, byte[] page) {}

  /**
   * Stores pages with backpressure: at most {@code parallelism} requests in flight; emits each
   * page index once stored, in input order. While the engine is busy, waiting pages are batched
   * (up to {@link #FLOW_BATCH}) and runs of consecutive indexes go as one range store, so a
   * bulk park costs one message per shard and size class, not several per page. Writes of one
   * page apply in stream order, whatever the parallelism. A refused store fails the stream.
   */
  public Flow<PageWrite, Long, NotUsed> storeFlow(String export, int parallelism) {
    return flows.storeFlow(export, parallelism);
  }

  /** Loads pages with backpressure, at most {@code parallelism} requests in flight, in input order; batched as {@link #storeFlow}. */
  public Flow<Long, PageRead, NotUsed> loadFlow(String export, int parallelism) {
    return flows.loadFlow(export, parallelism);
  }

  /** Most pages a flow gathers into one batch while the engine is busy. */
  public static final int FLOW_BATCH = 64;

  // ---- plumbing -----------------------------------------------------------------------------

  /** A command for the whole engine, to its guardian. */
  private <R> CompletableFuture<R> ask(Function<ActorRef<R>, EngineCommand.Control> request) {
    return asks.ask(guardian, r -> new ZswapGuardian.Engine(request.apply(r)), null, Function.identity(),
        Ask.Completion.TASK);
  }

  /** Asks the guardian for its routing table and keeps it unless a newer one is already kept. */
  private CompletableFuture<ZswapGuardian.Routes> refreshRoutes() {
    return asks.<ZswapGuardian.Command, ZswapGuardian.Routes>control(guardian, ZswapGuardian.GetRoutes::new)
        .thenApply(table -> routes.accumulateAndGet(table,
            (kept, fresh) -> kept == null || fresh.version() > kept.version() ? fresh : kept));
  }

  /**
   * A page request goes by its one route: the export's entry in the routing table
   * ({@link ZswapGuardian.Routes}), which sends it straight to its tree shard. An
   * export not in the table is refused at once. The reply is turned into the caller's value by
   * {@code map} (which throws {@link ZswapdException} for an engine error) where
   * {@code completion} says: stores and loads are answered from tasks, so their futures complete
   * on the replying thread; a request costs one future and no dependent stages.
   */
  private <R, V> CompletableFuture<V> askPage(String export, Function<ActorRef<R>, EngineCommand.PageRequest> request,
      Histogram latency, Function<R, V> map, Ask.Completion completion) {
    ZswapGuardian.Routes table = routes.get();
    if (table == null) { // the first moments after start: the engine is still making its exports
      return firstRoutes.thenCompose(t -> askPage(export, request, latency, map, completion));
    }
    ExportRoute route = table.exports().get(export);
    if (route == null) {
      return CompletableFuture.failedFuture(new ZswapdException(failed.isDone()
          ? EngineError.engineFailed(failed.getNow("")) : EngineError.noSuchExport(export)));
    }
    return asks.askVia((EngineCommand.PageRequest r) -> route.send(r, InvalidateParts::new), request, latency,
        map, completion);
  }

  private static <T> CompletionStage<T> invalid(String message) {
    return CompletableFuture.failedStage(new ZswapdException(new EngineError(ErrorCode.INVALID, message)));
  }

  ActorSystem<?> system() {
    return system;
  }
}
