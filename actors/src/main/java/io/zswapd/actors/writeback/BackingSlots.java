package io.zswapd.actors.writeback;

import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The slot allocator of one backing file: byte ranges, in units of {@value #UNIT} bytes, packed
 * one after another.
 *
 * <pre>
 *   file:  | slot A (2,048) | free (4,096) | slot B (64) | slot C (1,024) |            end
 *          0                2048           6144          6208             7232
 * </pre>
 *
 * <p>zram writes a whole 4 KiB block per page to its backing device whatever the page compressed
 * to; here a page compressed to 2,000 bytes takes 2,048. 64 bytes is the trade-off: smaller units
 * waste less on disk but give more distinct free-run lengths and smaller, harder to reuse leftover
 * runs; at 64 the waste is under 64 bytes a slot (1.6% of a page) and a page-sized slot has only
 * 64 possible lengths, so freed slots are reused often.
 *
 * <p>Free runs are kept twice: by start ({@code start -> length}, to find the neighbours a freed
 * slot merges with) and by length ({@code length -> starts}, for best fit). Best fit takes the
 * shortest run that is long enough, the lowest-addressed of those, so the tail empties first. When
 * nothing fits, the slot is taken from the end; a free run that reaches the end is not kept but
 * shrinks the end, so the file stays about as long as the live data and two free runs are never
 * adjacent. All figures here are in units; the public methods speak bytes.
 *
 * <p>Owned by one {@link BackingStore}; not thread-safe.
 */
final class BackingSlots {
  /** Bytes per allocation unit: the granularity of slot offsets and lengths. */
  static final int UNIT = 64;

  private static final int UNIT_SHIFT = 6;

  private final long capacityUnits;
  private final TreeMap<Long, Long> runsByStart = new TreeMap<>();
  private final TreeMap<Long, TreeSet<Long>> runsByLength = new TreeMap<>();
  private long endUnits;
  private long unitsInUse;
  private int slotsInUse;

  /** @param capacityBytes most bytes the file may grow to; {@link Long#MAX_VALUE} for unlimited */
  BackingSlots(long capacityBytes) {
    if (capacityBytes < 0) {
      throw new IllegalArgumentException("capacity " + capacityBytes + " bytes is negative");
    }
    this.capacityUnits = capacityBytes >>> UNIT_SHIFT;
  }

  /** The units a slot of {@code bytes} takes: rounded up to whole units. */
  static long units(int bytes) {
    return (bytes + (long) UNIT - 1) >>> UNIT_SHIFT;
  }

  /** The byte offset of a new slot of at least {@code bytes}, or -1 when the capacity is reached. */
  long allocate(int bytes) {
    if (bytes <= 0) {
      throw new IllegalArgumentException("slot of " + bytes + " bytes; a slot holds at least 1 byte");
    }
    long units = units(bytes);
    long start;
    Map.Entry<Long, TreeSet<Long>> fit = runsByLength.ceilingEntry(units);
    if (fit != null) {
      long length = fit.getKey();
      start = fit.getValue().first();
      removeRun(start, length);
      if (length > units) {
        addRun(start + units, length - units);
      }
    } else {
      if (endUnits + units > capacityUnits) {
        return -1;
      }
      start = endUnits;
      endUnits += units;
    }
    unitsInUse += units;
    slotsInUse++;
    return start << UNIT_SHIFT;
  }

  /**
   * Frees the slot allocated at {@code offset} for {@code bytes}. Throws IllegalStateException when
   * any of its units is already free or past the end: a double free, or a free of a range that was
   * never allocated as a slot.
   */
  void free(long offset, int bytes) {
    if (bytes <= 0 || offset < 0 || (offset & (UNIT - 1)) != 0) {
      throw new IllegalArgumentException(
          "free of " + bytes + " bytes at offset " + offset + "; slots are whole " + UNIT + "-byte units");
    }
    long start = offset >>> UNIT_SHIFT;
    long units = units(bytes);
    if (start + units > endUnits || overlapsFreeRun(start, units) || slotsInUse == 0) {
      throw new IllegalStateException("free of " + bytes + " bytes at offset " + offset
          + " overlaps free space (end " + end() + "): double free or not an allocated slot");
    }
    unitsInUse -= units;
    slotsInUse--;
    Map.Entry<Long, Long> before = runsByStart.lowerEntry(start);
    if (before != null && before.getKey() + before.getValue() == start) {
      long beforeStart = before.getKey();
      long beforeLength = before.getValue(); // read before remove: the entry node may be reused
      removeRun(beforeStart, beforeLength);
      start = beforeStart;
      units += beforeLength;
    }
    Long afterLength = runsByStart.get(start + units);
    if (afterLength != null) {
      removeRun(start + units, afterLength);
      units += afterLength;
    }
    if (start + units == endUnits) {
      endUnits = start;
    } else {
      addRun(start, units);
    }
  }

  /** Bytes held by live slots, each rounded up to whole units. */
  long bytesInUse() {
    return unitsInUse << UNIT_SHIFT;
  }

  /** One past the last byte of the last live slot: how long the file needs to be. */
  long end() {
    return endUnits << UNIT_SHIFT;
  }

  int slotsInUse() {
    return slotsInUse;
  }

  /** The number of free runs below the end (fragmentation; for tests and stats). */
  int freeRuns() {
    return runsByStart.size();
  }

  private boolean overlapsFreeRun(long start, long units) {
    Map.Entry<Long, Long> atOrBefore = runsByStart.floorEntry(start);
    if (atOrBefore != null && atOrBefore.getKey() + atOrBefore.getValue() > start) {
      return true;
    }
    Long after = runsByStart.higherKey(start);
    return after != null && after < start + units;
  }

  private void addRun(long start, long length) {
    runsByStart.put(start, length);
    runsByLength.computeIfAbsent(length, l -> new TreeSet<>()).add(start);
  }

  private void removeRun(long start, long length) {
    runsByStart.remove(start);
    TreeSet<Long> starts = runsByLength.get(length);
    starts.remove(start);
    if (starts.isEmpty()) {
      runsByLength.remove(length);
    }
  }
}
