package io.zswapd.protocol.engine;

/** Why the engine refused a request. Each maps to one NBD error code in the io-bridge. */
public enum ErrorCode {
  /** No export or namespace of that name (NBD: EINVAL). */
  NO_SUCH_EXPORT,
  /** Page index outside the export (NBD: EINVAL for reads, ENOSPC for writes). */
  OUT_OF_RANGE,
  /** The pool cannot take the page: limit reached, nothing could be reclaimed (NBD: ENOSPC). */
  POOL_FULL,
  /** Write to a read-only export (NBD: EPERM). */
  READ_ONLY,
  /** The backing store failed to read or write (NBD: EIO). */
  IO_ERROR,
  /** Stored bytes failed to decompress (NBD: EIO). Never expected; counted and reported. */
  CORRUPT,
  /** A bad argument from the caller, such as a page of the wrong size (NBD: EINVAL). */
  INVALID,
  /**
   * An overflow-store namespace is at its own limit (max-entries or max-bytes) and its policy
   * is to refuse; the pool may have room (NBD: ENOSPC, never sent: namespaces are not exports).
   */
  NAMESPACE_FULL,
  /**
   * The page lived on a memory node of the cluster that was lost (crashed, cut off, downed)
   * and no other copy exists (NBD: EIO). Rewriting the page makes it readable again.
   */
  NODE_LOST,
  /** The engine is shutting down or the export is being removed (NBD: ESHUTDOWN). */
  SHUTTING_DOWN,
  /**
   * An engine actor failed (a bug): the engine stopped serving and the pages it held are lost
   * (NBD: EIO). The daemon exits non-zero so that its supervisor restarts it.
   */
  ENGINE_FAILED
}
