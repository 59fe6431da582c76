package io.zswapd.protocol.engine;

/** Reply to {@link EngineCommand.LoadRange}. */
public sealed interface LoadRangeReply {
  long firstPage();

  /** {@code pageCount * 4096} bytes, page {@code firstPage} first; the array belongs to the receiver. */
  record LoadedRange(long firstPage, byte[] pages) implements LoadRangeReply {}

  /** Nothing is returned; {@code error} names the first page that could not be read. */
  record LoadRangeFailed(long firstPage, EngineError error) implements LoadRangeReply {}
}
