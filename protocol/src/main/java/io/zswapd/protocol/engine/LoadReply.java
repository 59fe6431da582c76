package io.zswapd.protocol.engine;

/** Reply to {@link EngineCommand.Load}. */
public sealed interface LoadReply {
  long pageIndex();

  /** The page's 4096 bytes; the array belongs to the receiver. */
  record Loaded(long pageIndex, byte[] page) implements LoadReply {}

  record LoadFailed(long pageIndex, EngineError error) implements LoadReply {}
}
