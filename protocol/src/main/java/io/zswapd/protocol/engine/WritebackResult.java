package io.zswapd.protocol.engine;

/**
 * What a writeback achieved.
 *
 * @param writtenBack pages moved to backing files
 * @param failed      pages whose write failed (they stay in memory)
 * @param refused     pages refused because a backing file was full
 */
public record WritebackResult(long writtenBack, long failed, long refused) {
  public static final WritebackResult NONE = new WritebackResult(0, 0, 0);

  public WritebackResult plus(WritebackResult o) {
    return new WritebackResult(writtenBack + o.writtenBack, failed + o.failed, refused + o.refused);
  }
}
