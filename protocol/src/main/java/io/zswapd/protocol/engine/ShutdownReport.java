package io.zswapd.protocol.engine;

/**
 * What the engine held when it finished shutting down: all zeros unless something leaked.
 *
 * @param handlesInUse    object handles still live in size classes
 * @param arenaPagesInUse arena pages not returned
 * @param chunksHeld      off-heap chunks not yet released (the arena releases them on stop)
 * @param chunksReleased  chunks returned to the OS over the engine's life
 * @param backingSlotsInUse backing-file slots still allocated when the backing stores closed
 */
public record ShutdownReport(long handlesInUse, long arenaPagesInUse, long chunksHeld, long chunksReleased,
    long backingSlotsInUse) {
  public boolean clean() {
    return handlesInUse == 0 && arenaPagesInUse == 0 && chunksHeld == 0 && backingSlotsInUse == 0;
  }
}
