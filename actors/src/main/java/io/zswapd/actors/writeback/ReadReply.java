package io.zswapd.actors.writeback;

import io.zswapd.actors.codec.CodecKind;

/** A backing store's answer to {@link BackingStore.Read}; {@code pageIndex} is echoed. */
public sealed interface ReadReply {
  long pageIndex();

  /** The slot's bytes, exactly the length asked for, and the codec that wrote them (echoed). */
  record ReadDone(long pageIndex, CodecKind codec, byte[] bytes) implements ReadReply {}

  /** The read failed on disk (or the store is closing); the slot is still allocated. */
  record ReadFailed(long pageIndex, String message) implements ReadReply {}
}
