package io.zswapd.actors.pool;

import io.zswapd.protocol.engine.EngineError;

/** A size class's answer to {@link SizeClass.Alloc}; {@code tag} and {@code generation} are echoed. */
public sealed interface AllocReply {
  int tag();

  long generation();

  record Allocated(int tag, long generation, long handle) implements AllocReply {}

  record AllocRefused(int tag, long generation, EngineError error) implements AllocReply {}
}
