package io.zswapd.actors.embedded;

import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;

/** How a refused request surfaces in the embedded API: the engine's error value, as an exception. */
public final class ZswapdException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final transient EngineError error;

  public ZswapdException(EngineError error) {
    super(error.message());
    this.error = error;
  }

  public EngineError error() {
    return error;
  }

  public ErrorCode code() {
    return error.code();
  }
}
