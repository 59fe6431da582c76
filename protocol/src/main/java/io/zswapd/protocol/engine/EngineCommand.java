package io.zswapd.protocol.engine;

import akka.actor.typed.ActorRef;

/**
 * The engine's public protocol, in two families: {@link PageRequest}s, which name an export
 * and travel to the tree shard that owns their pages, and {@link Control} commands for the
 * engine as a whole, which its guardian answers. Every reply is a value, errors included, sent
 * to {@code replyTo}.
 *
 * <p>Pages are addressed by index (byte offset / 4096). A page that was never stored, or was
 * invalidated, loads as zeros, as on a block device.
 */
public sealed interface EngineCommand {

  /**
   * A request about pages of one export (a zswap "swap type"). It reaches its tree shard by one
   * route: the export's entry in the engine's routing table ({@code ExportRoute}), which checks
   * it on the sender's thread and sends it straight to its tree shard.
   * Each request knows how to refuse itself ({@link #refuse}), so any hop that cannot serve it
   * answers it with the right reply type.
   */
  sealed interface PageRequest extends EngineCommand {
    /** The export the pages belong to. */
    String export();

    /** Answers the request with {@code error} (and nothing else): it was not carried out. */
    void refuse(EngineError error);

    /** Where the request's one reply goes. */
    ActorRef<?> replyTo();
  }

  /** A command for the whole engine, answered by its guardian. */
  sealed interface Control extends EngineCommand {}

  /** Store one page image under (export, pageIndex); replaces what was there (zswap duplicate entry). */
  record Store(String export, long pageIndex, PageImage page, ActorRef<StoreReply> replyTo)
      implements PageRequest {
    @Override
    public void refuse(EngineError error) {
      replyTo.tell(new StoreReply.Refused(pageIndex, error));
    }
  }

  /**
   * Replace {@code bytes.length} bytes of one page from byte {@code offset}, keeping the rest
   * (read-modify-write, done by the page's owner so concurrent patches never lose each other).
   */
  record Patch(String export, long pageIndex, int offset, byte[] bytes, ActorRef<StoreReply> replyTo)
      implements PageRequest {
    @Override
    public void refuse(EngineError error) {
      replyTo.tell(new StoreReply.Refused(pageIndex, error));
    }
  }

  /** Load one page; the reply carries the 4096 decompressed bytes. */
  record Load(String export, long pageIndex, ActorRef<LoadReply> replyTo) implements PageRequest {
    @Override
    public void refuse(EngineError error) {
      replyTo.tell(new LoadReply.LoadFailed(pageIndex, error));
    }
  }

  /**
   * Store consecutive pages {@code firstPage, firstPage + 1, ...}, one image each, in one
   * message (a swap cluster, an NBD write of many pages). The range must lie inside one tree
   * shard ({@link #RANGE_PAGES} pages, aligned); the reply is {@code Stored(firstPage)} when
   * every page is stored, else the first page refused. Pages are stored independently: after a
   * refusal the others may be stored, as after a failed block-device write.
   */
  record StoreRange(String export, long firstPage, PageImage[] pages, ActorRef<StoreReply> replyTo)
      implements PageRequest {
    @Override
    public void refuse(EngineError error) {
      replyTo.tell(new StoreReply.Refused(firstPage, error));
    }
  }

  /**
   * Load {@code pageCount} consecutive pages in one message; the reply carries
   * {@code pageCount * 4096} bytes. The range must lie inside one tree shard, as for
   * {@link StoreRange}.
   */
  record LoadRange(String export, long firstPage, int pageCount, ActorRef<LoadRangeReply> replyTo)
      implements PageRequest {
    @Override
    public void refuse(EngineError error) {
      replyTo.tell(new LoadRangeReply.LoadRangeFailed(firstPage, error));
    }
  }

  /**
   * Pages per tree shard: a {@link StoreRange} or {@link LoadRange} may not cross a multiple of
   * this page index (split it there).
   */
  int RANGE_PAGES = 16_384;

  /** Forget one page and free its memory (zswap invalidate_page, an NBD trim of one page). */
  record Invalidate(String export, long pageIndex, ActorRef<InvalidateReply> replyTo) implements PageRequest {
    @Override
    public void refuse(EngineError error) {
      replyTo.tell(new InvalidateReply.InvalidateFailed(error));
    }
  }

  /** Forget {@code pageCount} pages from {@code firstPage} (NBD trim, discard of a swap cluster). */
  record InvalidateRange(String export, long firstPage, long pageCount, ActorRef<InvalidateReply> replyTo)
      implements PageRequest {
    @Override
    public void refuse(EngineError error) {
      replyTo.tell(new InvalidateReply.InvalidateFailed(error));
    }
  }

  /**
   * Forget every page of the export (zswap invalidate_area: swapoff). Answered once the backing
   * writes in flight have ended too, so the backing file can be closed right after.
   */
  record InvalidateArea(String export, ActorRef<InvalidateReply> replyTo) implements PageRequest {
    @Override
    public void refuse(EngineError error) {
      replyTo.tell(new InvalidateReply.InvalidateFailed(error));
    }
  }

  /** Snapshot of every counter: pool, exports, size classes. */
  record GetStats(ActorRef<EngineStats> replyTo) implements Control {}

  /**
   * Write pages back to the exports' backing files now (zram's {@code writeback}); exports
   * without a backing file are skipped.
   */
  record Writeback(WritebackMode mode, ActorRef<WritebackResult> replyTo) implements Control {}

  /**
   * Recompress pages now with each export's second codec (zram's {@code recompress}): the pages
   * {@code mode} names whose stored size is at least {@code threshold} bytes (0: any), in every
   * export with a {@code recompressor}; the others are skipped. Answered when all are done.
   */
  record Recompress(RecompressMode mode, int threshold, ActorRef<RecompressResult> replyTo) implements Control {}

  /** Run size-class compaction now; the reply says how many pages went back to the arena. */
  record Compact(ActorRef<CompactionResult> replyTo) implements Control {}

  /**
   * Give memory back now: compact every size class, then migrate zspage pages out of sparse
   * chunks until no chunk is worth emptying, releasing the emptied chunks to the OS.
   */
  record Migrate(ActorRef<MigrationResult> replyTo) implements Control {}
}
