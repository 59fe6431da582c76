package io.zswapd.actors.support;

/**
 * How a failed engine actor reaches the guardian: its parent, which watches it, rethrows the
 * child's failure wrapped in this, naming the child and what it held, so the guardian (watching
 * the parent in turn) can say in one log line which actor failed, why, and which pages are lost.
 */
public final class EngineActorFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * @param what  the actor and what it held, e.g. "tree shard 3 of export swap0 (pages 49152..65535)"
   * @param cause what it failed on
   */
  public EngineActorFailure(String what, Throwable cause) {
    super(what + " failed: " + cause, cause);
  }

  /** The first failure of a chain: the actor that really failed, however many parents rethrew it. */
  public static String describe(Throwable failure) {
    Throwable t = failure;
    while (t instanceof EngineActorFailure e && e.getCause() instanceof EngineActorFailure) {
      t = e.getCause();
    }
    return t instanceof EngineActorFailure ? t.getMessage() : String.valueOf(failure);
  }
}
