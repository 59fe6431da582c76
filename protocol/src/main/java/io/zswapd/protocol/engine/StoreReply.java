package io.zswapd.protocol.engine;

/** Reply to {@link EngineCommand.Store}. */
public sealed interface StoreReply {
  long pageIndex();

  record Stored(long pageIndex) implements StoreReply {}

  /** Not stored; the page keeps its previous content. */
  record Refused(long pageIndex, EngineError error) implements StoreReply {}
}
