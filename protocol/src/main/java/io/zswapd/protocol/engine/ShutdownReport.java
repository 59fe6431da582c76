package io.zswapd.protocol.engine;

import java.util.List;

/**
 * What the engine held when it finished shutting down: all zeros unless something leaked.
 *
 * @param handlesInUse    object handles still live in size classes
 * @param arenaPagesInUse arena pages not returned
 * @param chunksHeld      off-heap chunks not yet released (the arena releases them on stop)
 * @param chunksReleased  chunks returned to the OS over the engine's life
 * @param backingSlotsInUse backing-file slots still allocated when the backing stores closed
 * @param stepsSkipped    the steps of shutdown that did not answer in time and were passed over
 *                        (empty when every step finished)
 */
public record ShutdownReport(long handlesInUse, long arenaPagesInUse, long chunksHeld, long chunksReleased,
    long backingSlotsInUse, List<String> stepsSkipped) {

  public ShutdownReport {
    stepsSkipped = List.copyOf(stepsSkipped);
  }

  /** Nothing leaked and every step of the shutdown protocol finished. */
  public boolean clean() {
    return handlesInUse == 0 && arenaPagesInUse == 0 && chunksHeld == 0 && backingSlotsInUse == 0
        && stepsSkipped.isEmpty();
  }
}
