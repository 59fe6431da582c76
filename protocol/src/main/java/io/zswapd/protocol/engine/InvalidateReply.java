package io.zswapd.protocol.engine;

/** Reply to the invalidate family. */
public sealed interface InvalidateReply {
  /** Done; later loads of those pages read zeros. {@code pagesFreed} counts pages that held data. */
  record Invalidated(long pagesFreed) implements InvalidateReply {}

  record InvalidateFailed(EngineError error) implements InvalidateReply {}
}
