package io.zswapd.protocol.engine;

/** An error as a value: what went wrong, with a message that names the thing and the limit. */
public record EngineError(ErrorCode code, String message) {
  public static EngineError noSuchExport(String export) {
    return new EngineError(ErrorCode.NO_SUCH_EXPORT, "no export or namespace named \"" + export + "\"");
  }

  public static EngineError outOfRange(String export, long pageIndex, long pages) {
    return new EngineError(ErrorCode.OUT_OF_RANGE,
        "page " + pageIndex + " is outside export \"" + export + "\" (" + pages + " pages)");
  }

  /** The engine (or the export) is shut down: the request was not carried out. */
  public static EngineError shutDown() {
    return new EngineError(ErrorCode.SHUTTING_DOWN, "the engine is shut down");
  }

  /** An engine actor failed: nothing is served any more. */
  public static EngineError engineFailed(String failure) {
    return new EngineError(ErrorCode.ENGINE_FAILED, "the engine failed and serves nothing more: " + failure);
  }

  @Override
  public String toString() {
    return code + ": " + message;
  }
}
