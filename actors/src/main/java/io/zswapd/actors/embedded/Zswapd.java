package io.zswapd.actors.embedded;

import akka.Done;
import akka.NotUsed;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.actor.typed.Props;
import java.util.function.Function;
import akka.stream.javadsl.Flow;
import io.zswapd.actors.ZswapGuardian;
import io.zswapd.actors.arena.OffHeap;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.overflow.OverflowDirectory;
import io.zswapd.actors.tree.SwapType;
import io.zswapd.config.ExportSettings;
import io.zswapd.config.ZswapdSettings;
import io.zswapd.protocol.engine.CompactionResult;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.EngineStats;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.LoadReply;
import io.zswapd.protocol.engine.MigrationResult;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.ShutdownReport;
import io.zswapd.protocol.engine.StoreReply;
import akka.actor.typed.DispatcherSelector;
import io.zswapd.actors.writeback.BackingIo;
import io.zswapd.actors.writeback.FileBackingIo;
import io.zswapd.protocol.engine.WritebackMode;
import io.zswapd.protocol.engine.WritebackResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

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
  private final CompletableFuture<ZswapGuardian.Routes> routes;

  private Zswapd(ActorSystem<?> system) {
    this.system = system;
    this.settings = ZswapdSettings.fromConfig(system.settings().config());
    this.compressor = PageCompressor.of(settings.pool());
    this.guardian = system.systemActorOf(ZswapGuardian.create(settings, openBackingFiles(system, settings)), "zswapd",
        io.zswapd.actors.support.EngineDispatcher.PROPS);
    this.routes = Ask.ask(guardian, ZswapGuardian.GetRoutes::new, ASK_TIMEOUT, system.scheduler());
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
        "zswapd-drain", () -> shutdown().thenApply(r -> Done.getInstance()));
  }

  /**
   * Opens every export's backing file now, so a path that cannot be opened stops the start
   * with one line naming the export and the file.
   */
  private static Map<String, BackingIo> openBackingFiles(ActorSystem<?> system, ZswapdSettings settings) {
    ZswapdSetup.BackingIoFactory factory = system.settings().setup().get(ZswapdSetup.class)
        .map(ZswapdSetup::backingIo)
        .orElse(export -> FileBackingIo.open(export.backingFile().orElseThrow(),
            system.dispatchers().lookup(DispatcherSelector.blocking())));
    Map<String, BackingIo> opened = new HashMap<>();
    for (ExportSettings e : settings.exports()) {
      if (e.backingFile().isPresent()) {
        try {
          opened.put(e.name(), factory.open(e));
        } catch (IOException | RuntimeException failure) {
          opened.values().forEach(BackingIo::close);
          throw new IllegalStateException("cannot open the backing file " + e.backingFile().get() + " of export \""
              + e.name() + "\": " + failure.getMessage(), failure);
        }
      }
    }
    return opened;
  }

  public ZswapdSettings settings() {
    return settings;
  }

  /** The pool limit in force: {@code pool.max-size}, lowered if direct memory could not hold it. */
  public long poolLimitBytes() {
    return ZswapGuardian.effectivePoolLimit(settings.pool(), OffHeap.maxDirectMemory());
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
    return askPage(export, (ActorRef<StoreReply> r) -> new EngineCommand.Store(export, pageIndex, image, r))
        .thenCompose(Zswapd::stored);
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
    return askPage(export, (ActorRef<StoreReply> r) -> new EngineCommand.Patch(export, pageIndex, offset, copy, r))
        .thenCompose(Zswapd::stored);
  }

  private static CompletionStage<Void> stored(StoreReply reply) {
    return reply instanceof StoreReply.Refused f
        ? CompletableFuture.failedStage(new ZswapdException(f.error()))
        : CompletableFuture.completedStage(null);
  }

  /** Loads a page: 4096 bytes, zeros if it was never stored or was invalidated. */
  public CompletionStage<byte[]> load(String export, long pageIndex) {
    return askPage(export, (ActorRef<LoadReply> r) -> new EngineCommand.Load(export, pageIndex, r))
        .thenCompose(reply -> reply instanceof LoadReply.Loaded l
            ? CompletableFuture.completedStage(l.page())
            : CompletableFuture.failedStage(new ZswapdException(((LoadReply.LoadFailed) reply).error())));
  }

  /** Forgets one page and frees its memory; completes with 1 if it held data, else 0. */
  public CompletionStage<Long> invalidate(String export, long pageIndex) {
    return invalidated(askPage(export, (ActorRef<InvalidateReply> r) ->
        new EngineCommand.Invalidate(export, pageIndex, r)));
  }

  /** Forgets {@code count} pages from {@code firstPage}; completes with the pages that held data. */
  public CompletionStage<Long> invalidateRange(String export, long firstPage, long count) {
    return invalidated(askPage(export, (ActorRef<InvalidateReply> r) ->
        new EngineCommand.InvalidateRange(export, firstPage, count, r)));
  }

  /** Forgets every page of the export (swapoff). */
  public CompletionStage<Long> invalidateArea(String export) {
    return invalidated(ask((ActorRef<InvalidateReply> r) -> new EngineCommand.InvalidateArea(export, r)));
  }

  private static CompletionStage<Long> invalidated(CompletionStage<InvalidateReply> reply) {
    return reply.thenCompose(r -> r instanceof InvalidateReply.Invalidated i
        ? CompletableFuture.completedStage(i.pagesFreed())
        : CompletableFuture.failedStage(new ZswapdException(((InvalidateReply.InvalidateFailed) r).error())));
  }

  // ---- pool ---------------------------------------------------------------------------------

  /** Every counter: pool, exports, size classes. */
  public CompletionStage<EngineStats> stats() {
    return ask(EngineCommand.GetStats::new);
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
   * Removes an export (swapoff, then detach): every page is invalidated, its backing file is
   * closed, and later requests for it are refused.
   */
  public CompletionStage<ZswapGuardian.ExportRemoved> removeExport(String name) {
    return Ask.<ZswapGuardian.Command, ZswapGuardian.ExportRemoved>ask(guardian,
        r -> new ZswapGuardian.RemoveExport(name, r), ASK_TIMEOUT, system.scheduler());
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
    return Ask.<ZswapGuardian.Command, ZswapGuardian.ExportReset>ask(guardian,
        r -> new ZswapGuardian.ResetExport(export, r), ASK_TIMEOUT, system.scheduler())
        .thenCompose(r -> r.existed()
            ? CompletableFuture.completedStage(r.pagesFreed())
            : CompletableFuture.failedStage(new ZswapdException(r.shuttingDown()
                ? new EngineError(ErrorCode.SHUTTING_DOWN, "the engine is shut down")
                : EngineError.noSuchExport(export))));
  }

  /**
   * Invalidates every export, drains the pool and reports what was left (all zeros unless
   * something leaked). Later requests fail with {@code SHUTTING_DOWN}. Runs by itself when the
   * actor system terminates.
   */
  public CompletionStage<ShutdownReport> shutdown() {
    return Ask.ask(guardian, ZswapGuardian.Shutdown::new, ASK_TIMEOUT, system.scheduler());
  }

  /** Adds an export at run time; completes with false when one of that name exists. */
  public CompletionStage<Boolean> addExport(String name, long sizeBytes) {
    ExportSettings e = new ExportSettings(name, sizeBytes, false, Optional.empty(), OptionalLong.empty());
    return Ask.<ZswapGuardian.Command, ZswapGuardian.ExportAdded>ask(guardian,
        r -> new ZswapGuardian.AddExport(e, r), ASK_TIMEOUT, system.scheduler())
        .thenApply(ZswapGuardian.ExportAdded::created);
  }

  // ---- overflow store ---------------------------------------------------------------------

  /**
   * The overflow store of {@code namespace} (made on first use): byte values under long keys,
   * each namespace with its own page space.
   */
  public CompletionStage<OverflowStore> overflowStore(String namespace) {
    if (!namespace.matches("[A-Za-z0-9._-]{1,64}")) {
      return invalid("namespace \"" + namespace + "\" must be 1..64 characters of [A-Za-z0-9._-]");
    }
    return Ask.<ZswapGuardian.Command, ActorRef<OverflowDirectory.Command>>ask(guardian,
            r -> new ZswapGuardian.OpenNamespace(namespace, r), ASK_TIMEOUT, system.scheduler())
        .thenApply(dir -> new OverflowStore(namespace, dir, compressor, system));
  }

  // ---- streams ------------------------------------------------------------------------------

  /** A page to store through {@link #storeFlow}. */
  public record PageWrite(long pageIndex, byte[] page) {}

  /** A loaded page from {@link #loadFlow}. */
  public record PageRead(long pageIndex, byte[] page) {}

  /**
   * Stores pages with backpressure: at most {@code parallelism} stores in flight; emits each
   * page index once stored, in input order. A refused store fails the stream.
   */
  public Flow<PageWrite, Long, NotUsed> storeFlow(String export, int parallelism) {
    return Flow.<PageWrite>create().mapAsync(parallelism,
        w -> store(export, w.pageIndex(), w.page()).thenApply(v -> w.pageIndex()));
  }

  /** Loads pages with backpressure, at most {@code parallelism} in flight, in input order. */
  public Flow<Long, PageRead, NotUsed> loadFlow(String export, int parallelism) {
    return Flow.<Long>create().mapAsync(parallelism,
        i -> load(export, i).thenApply(bytes -> new PageRead(i, bytes)));
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private <R> CompletionStage<R> ask(Function<ActorRef<R>, EngineCommand> request) {
    return Ask.ask(guardian, r -> new ZswapGuardian.Engine(request.apply(r)), ASK_TIMEOUT,
        system.scheduler());
  }

  /**
   * A page request for a configured export goes straight to its swap type once the routes
   * are known (one hop fewer than through the guardian); anything else, and every request in
   * the first moments after start, goes through the guardian.
   */
  private <R> CompletionStage<R> askPage(String export, Function<ActorRef<R>, EngineCommand> request) {
    ZswapGuardian.Routes known = routes.getNow(null);
    ActorRef<SwapType.Command> swapType = known == null ? null : known.exports().get(export);
    if (swapType == null) {
      return ask(request);
    }
    return Ask.ask(swapType, r -> new SwapType.Request(request.apply(r)), ASK_TIMEOUT, system.scheduler());
  }

  private static <T> CompletionStage<T> invalid(String message) {
    return CompletableFuture.failedStage(new ZswapdException(new EngineError(ErrorCode.INVALID, message)));
  }

  ActorSystem<?> system() {
    return system;
  }
}
