package io.zswapd.actors;

import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.ActorContext;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.migration.MigrationWorker;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.overflow.OverflowDirectory;
import io.zswapd.actors.overflow.OverflowLimits;
import io.zswapd.actors.pool.PoolGeometry;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.EngineActor;
import io.zswapd.actors.support.EngineDispatcher;
import io.zswapd.actors.support.Gather;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.actors.tree.Recompressor;
import io.zswapd.actors.tree.ExportRoute;
import io.zswapd.actors.tree.SwapType;
import io.zswapd.actors.writeback.BackingIo;
import io.zswapd.actors.writeback.BackingStats;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.WritebackWorker;
import io.zswapd.config.ExportSettings;
import io.zswapd.config.NamespaceSettings;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.PageImage;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The export lifecycle, one of the guardian's four jobs: making an export's {@link SwapType}
 * (configured exports at start, exports and overflow namespaces added at run time), resetting
 * one (zram's {@code reset}: every page dropped, the export kept) and removing one (swapoff,
 * then its backing file closed; later requests refused). Reset and removal are conversations
 * of several steps, each answered to the guardian by a message of its own, which it hands back
 * here.
 *
 * <p>Plain state of the guardian, touched only on its thread.
 */
final class ExportLifecycle {
  /** How long a step waits for its answers before it answers without them. */
  static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);

  private final ActorContext<ZswapGuardian.Command> ctx;
  private final ExportTable table;
  /** Where a swap type sends its routing entry once it has made its shards (the guardian, adapted). */
  private final ActorRef<ExportRoute> routeReady;
  /** Exports added at run time, answered once their routing entry has come. */
  private final java.util.Map<String, ActorRef<ZswapGuardian.ExportAdded>> adding = new java.util.HashMap<>();
  private final List<ActorRef<SizeClass.Command>> classes;
  private final PoolGeometry geometry;
  private final PageCompressor compressor;
  private final SpawnHook spawnHook;
  /** The limits namespaces start with (zswapd.overflow.namespaces). */
  private final List<NamespaceSettings> namespaces;
  /** The engine's run number for exports placed on the cluster (0 when this node is no front). */
  private final long frontRun;
  private ActorRef<MigrationWorker.Command> migration;
  private ActorRef<WritebackWorker.Command> writeback;

  ExportLifecycle(ActorContext<ZswapGuardian.Command> ctx, ExportTable table, ActorRef<ExportRoute> routeReady,
      List<ActorRef<SizeClass.Command>> classes, PoolGeometry geometry, PageCompressor compressor, SpawnHook spawnHook,
      List<NamespaceSettings> namespaces, long frontRun) {
    this.ctx = ctx;
    this.routeReady = routeReady;
    this.frontRun = frontRun;
    this.namespaces = namespaces;
    this.table = table;
    this.classes = classes;
    this.geometry = geometry;
    this.compressor = compressor;
    this.spawnHook = spawnHook;
  }

  /** The workers that removal and reset wait for or tell (made after the configured exports); writeback may be null. */
  /** An export's swap type sent its routing entry: into the table, and an export added at run time is answered. */
  void ready(ExportRoute route) {
    boolean current = table.ready(route);
    ActorRef<ZswapGuardian.ExportAdded> adder = adding.remove(route.name());
    if (adder != null) {
      adder.tell(new ZswapGuardian.ExportAdded(route.name(), current));
    }
  }

  void workers(ActorRef<MigrationWorker.Command> migration, ActorRef<WritebackWorker.Command> writeback) {
    this.migration = migration;
    this.writeback = writeback;
  }

  /** A configured export, with its backing file when it has one; in the routing table from now on. */
  ActorRef<SwapType.Command> start(ExportSettings e, Optional<BackingIo> io) {
    ActorRef<SwapType.Command> ref = spawn(e.name(), e.pages(), e.readOnly(), io,
        e.backingSizeBytes().orElse(BackingStore.UNLIMITED), Recompressor.of(e),
        e.placement() == ExportSettings.Placement.CLUSTER ? frontRun : 0, routeReady);
    table.addExport(e.name(), ref);
    return ref;
  }

  private ActorRef<SwapType.Command> spawn(String name, long pages, boolean readOnly, Optional<BackingIo> io,
      long backingSize, Optional<Recompressor> recompressor, long shardsRun, ActorRef<ExportRoute> ready) {
    ActorRef<SwapType.Command> ref = ctx.spawn(spawnHook.wrap(EngineActor.ofExport(EngineActor.Role.SWAP_TYPE, name),
        SwapType.create(name, pages, readOnly, classes, geometry, compressor, io, backingSize, recompressor,
            spawnHook, shardsRun, ready)),
        "export-" + actorName(name), EngineDispatcher.SAME);
    ctx.watch(ref);
    return ref;
  }

  /**
   * An export added at run time (no backing file), answered once it is in the routing table;
   * refused at once when one of that name exists or the engine is shut down.
   */
  void add(ZswapGuardian.AddExport m, boolean shutDown) {
    if (shutDown || table.hasExport(m.export().name())) {
      m.replyTo().tell(new ZswapGuardian.ExportAdded(m.export().name(), false));
      return;
    }
    ExportSettings e = m.export();
    adding.put(e.name(), m.replyTo());
    table.addExport(e.name(), spawn(e.name(), e.pages(), e.readOnly(), Optional.empty(), BackingStore.UNLIMITED,
        Recompressor.of(e), 0, routeReady));
  }

  /** An overflow-store namespace's directory, made with its export on first use. */
  void openNamespace(ZswapGuardian.OpenNamespace m) {
    ActorRef<OverflowStore.Command> directory = table.namespace(m.namespace());
    if (directory == null) {
      String export = "overflow:" + m.namespace();
      ActorRef<SwapType.Command> swapType = spawn(export, ZswapGuardian.NAMESPACE_BYTES / PageImage.PAGE_SIZE, false,
          Optional.empty(), BackingStore.UNLIMITED, Optional.empty(), 0, null);
      directory = ctx.spawn(spawnHook.wrap(
          EngineActor.ofExport(EngineActor.Role.OVERFLOW_DIRECTORY, export), OverflowDirectory.create(m.namespace(), export, swapType, compressor,
              akka.serialization.SerializationExtension.get(akka.actor.typed.javadsl.Adapter.toClassic(ctx.getSystem())),
              namespaces.stream().filter(n -> n.name().equals(m.namespace())).findFirst()
                  .map(OverflowLimits::of).orElse(OverflowLimits.NONE))),
          "namespace-" + actorName(m.namespace()), EngineDispatcher.SAME);
      ctx.watch(directory);
      table.addNamespace(m.namespace(), export, swapType, directory);
    }
    m.replyTo().tell(directory);
  }

  /** Export names allow '.', which actor names also allow; anything else is escaped. */
  private static String actorName(String name) {
    return java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8);
  }

  // ---- reset ----------------------------------------------------------------------------------

  /** Reset, step 1: every page of the export invalidated (the export kept). */
  void reset(ZswapGuardian.ResetExport m, boolean shutDown) {
    ActorRef<SwapType.Command> target = shutDown ? null : table.find(m.name());
    if (target == null) {
      m.replyTo().tell(new ZswapGuardian.ExportReset(m.name(), false, 0, shutDown));
      return;
    }
    ActorRef<ZswapGuardian.Command> self = ctx.getSelf();
    ActorRef<InvalidateReply> invalidated = Gather.spawn(ctx, 1, 0L,
        (acc, r) -> r instanceof InvalidateReply.Invalidated i ? i.pagesFreed() : acc,
        freed -> self.tell(new ZswapGuardian.ResetPagesFreed(m, freed)), STEP_TIMEOUT,
        freed -> m.replyTo().tell(new ZswapGuardian.ExportReset(m.name(), true, freed, false)));
    target.tell(new SwapType.InvalidateAll(false, invalidated));
  }

  /** Reset, step 2: answered once no migration pass can still name the export's pages. */
  void resetPagesFreed(ZswapGuardian.ResetPagesFreed m) {
    ZswapGuardian.ResetExport r = m.request();
    ActorRef<MigrationWorker.Idle> idle = Gather.spawn(ctx, 1, 0L, (a, i) -> a,
        a -> r.replyTo().tell(new ZswapGuardian.ExportReset(r.name(), true, m.freed(), false)), STEP_TIMEOUT,
        a -> r.replyTo().tell(new ZswapGuardian.ExportReset(r.name(), true, m.freed(), false)));
    migration.tell(new MigrationWorker.AwaitIdle(idle));
  }

  // ---- removal --------------------------------------------------------------------------------

  /** Removal, step 1: out of the routing table, closed (later requests refused), every page invalidated. */
  void remove(ZswapGuardian.RemoveExport m) {
    ActorRef<SwapType.Command> swapType = table.remove(m.name());
    if (swapType == null) {
      m.replyTo().tell(new ZswapGuardian.ExportRemoved(m.name(), false, 0, 0));
      return;
    }
    ActorRef<ZswapGuardian.Command> self = ctx.getSelf();
    ActorRef<InvalidateReply> invalidated = Gather.spawn(ctx, 1, 0L,
        (acc, r) -> r instanceof InvalidateReply.Invalidated i ? i.pagesFreed() : acc,
        freed -> self.tell(new ZswapGuardian.RemovedPagesFreed(m, swapType, freed)),
        STEP_TIMEOUT, freed -> m.replyTo().tell(new ZswapGuardian.ExportRemoved(m.name(), true, freed, -1)));
    swapType.tell(new SwapType.InvalidateAll(true, invalidated)); // closed first, as at shutdown
    if (writeback != null) {
      writeback.tell(new WritebackWorker.Forget(swapType));
    }
  }

  /**
   * Removal, step 2: the frees are queued at the size classes, and a migration pass in flight
   * may still hold some of those zspages isolated; wait for it, so the removal answers with the
   * memory released.
   */
  void removedPagesFreed(ZswapGuardian.RemovedPagesFreed m) {
    ActorRef<ZswapGuardian.Command> self = ctx.getSelf();
    ActorRef<MigrationWorker.Idle> idle = Gather.spawn(ctx, 1, 0L, (a, i) -> a,
        a -> self.tell(new ZswapGuardian.RemovalMigrationsIdle(m.request(), m.swapType(), m.freed())), STEP_TIMEOUT,
        a -> self.tell(new ZswapGuardian.RemovalMigrationsIdle(m.request(), m.swapType(), m.freed())));
    migration.tell(new MigrationWorker.AwaitIdle(idle));
  }

  /** Removal, step 3: the backing file closed; answered with what it still held (0 unless leaked). */
  void removalMigrationsIdle(ZswapGuardian.RemovalMigrationsIdle m) {
    ZswapGuardian.RemoveExport r = m.request();
    ActorRef<BackingStats> closed = Gather.spawn(ctx, 1, (BackingStats) null, (a, b) -> b,
        b -> r.replyTo().tell(new ZswapGuardian.ExportRemoved(r.name(), true, m.freed(), b.slotsInUse())), STEP_TIMEOUT,
        b -> r.replyTo().tell(new ZswapGuardian.ExportRemoved(r.name(), true, m.freed(), -1)));
    m.swapType().tell(new SwapType.CloseBacking(closed));
  }
}
