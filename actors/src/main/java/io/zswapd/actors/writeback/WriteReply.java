package io.zswapd.actors.writeback;

/**
 * A backing store's answer to {@link BackingStore.Write}; {@code tag} and {@code generation} are
 * echoed so the tree shard can tell a stale completion from the current one.
 */
public sealed interface WriteReply {
  int tag();

  long generation();

  /** The bytes are on disk in the slot at {@code slotOffset}; free it with {@link BackingStore.Free}. */
  record Written(int tag, long generation, long slotOffset) implements WriteReply {}

  /** No slot: the file is at its {@code backing-size}, or the store is closing. Nothing to free. */
  record WriteRefused(int tag, long generation, String reason) implements WriteReply {}

  /** The write failed on disk; its slot was freed already. Nothing to free. */
  record WriteFailed(int tag, long generation, String message) implements WriteReply {}
}
