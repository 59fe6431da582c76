package io.zswapd.protocol.engine;

import akka.actor.typed.ActorRef;

/**
 * The engine's public protocol: what an embedding application, the NBD bridge or a test sends
 * to the engine's guardian. Every request names its export (a zswap "swap type"); every reply
 * is a value, errors included, sent to {@code replyTo}.
 *
 * <p>Pages are addressed by index (byte offset / 4096). A page that was never stored, or was
 * invalidated, loads as zeros, as on a block device.
 */
public sealed interface EngineCommand {

  /** Store one page image under (export, pageIndex); replaces what was there (zswap duplicate entry). */
  record Store(String export, long pageIndex, PageImage page, ActorRef<StoreReply> replyTo)
      implements EngineCommand {}

  /**
   * Replace {@code bytes.length} bytes of one page from byte {@code offset}, keeping the rest
   * (read-modify-write, done by the page's owner so concurrent patches never lose each other).
   */
  record Patch(String export, long pageIndex, int offset, byte[] bytes, ActorRef<StoreReply> replyTo)
      implements EngineCommand {}

  /** Load one page; the reply carries the 4096 decompressed bytes. */
  record Load(String export, long pageIndex, ActorRef<LoadReply> replyTo) implements EngineCommand {}

  /**
   * Store consecutive pages {@code firstPage, firstPage + 1, ...}, one image each, in one
   * message (a swap cluster, an NBD write of many pages). The range must lie inside one tree
   * shard ({@link #RANGE_PAGES} pages, aligned); the reply is {@code Stored(firstPage)} when
   * every page is stored, else the first page refused. Pages are stored independently: after a
   * refusal the others may be stored, as after a failed block-device write.
   */
  record StoreRange(String export, long firstPage, PageImage[] pages, ActorRef<StoreReply> replyTo)
      implements EngineCommand {}

  /**
   * Load {@code pageCount} consecutive pages in one message; the reply carries
   * {@code pageCount * 4096} bytes. The range must lie inside one tree shard, as for
   * {@link StoreRange}.
   */
  record LoadRange(String export, long firstPage, int pageCount, ActorRef<LoadRangeReply> replyTo)
      implements EngineCommand {}

  /**
   * Pages per tree shard: a {@link StoreRange} or {@link LoadRange} may not cross a multiple of
   * this page index (split it there).
   */
  int RANGE_PAGES = 16_384;

  /** Forget one page and free its memory (zswap invalidate_page, an NBD trim of one page). */
  record Invalidate(String export, long pageIndex, ActorRef<InvalidateReply> replyTo)
      implements EngineCommand {}

  /** Forget {@code pageCount} pages from {@code firstPage} (NBD trim, discard of a swap cluster). */
  record InvalidateRange(String export, long firstPage, long pageCount, ActorRef<InvalidateReply> replyTo)
      implements EngineCommand {}

  /** Forget every page of the export (zswap invalidate_area: swapoff). */
  record InvalidateArea(String export, ActorRef<InvalidateReply> replyTo) implements EngineCommand {}

  /** Snapshot of every counter: pool, exports, size classes. */
  record GetStats(ActorRef<EngineStats> replyTo) implements EngineCommand {}

  /**
   * Write pages back to the exports' backing files now (zram's {@code writeback}); exports
   * without a backing file are skipped.
   */
  record Writeback(WritebackMode mode, ActorRef<WritebackResult> replyTo) implements EngineCommand {}

  /** Run size-class compaction now; the reply says how many pages went back to the arena. */
  record Compact(ActorRef<CompactionResult> replyTo) implements EngineCommand {}

  /**
   * Give memory back now: compact every size class, then migrate zspage pages out of sparse
   * chunks until no chunk is worth emptying, releasing the emptied chunks to the OS.
   */
  record Migrate(ActorRef<MigrationResult> replyTo) implements EngineCommand {}
}
