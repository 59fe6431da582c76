package io.zswapd.actors.pool;

/**
 * A handle names one stored object for its whole life, whatever compaction or migration does
 * to the object's bytes (DESIGN.md: handles are stable).
 *
 * <pre>
 *  handle (long, 44 bits used)           location (int, in the class's handle table)
 *  +-------------+------------------+    +------------------------+--------------+
 *  | class (12)  | slot (32)        |    | zspage id              | obj (objBits)|
 *  +-------------+------------------+    +------------------------+--------------+
 *   43        32  31               0      31            objBits     objBits-1   0
 * </pre>
 *
 * The class part routes a message to the size class actor (up to {@link #CLASS_ACTORS} of
 * them: every lane of every class, {@code Pool.lanes}); the slot indexes that class's
 * handle table, whose entry is the object's current location. Compaction rewrites the
 * location; the handle the tree shard holds never changes.
 */
public final class Handle {
  public static final int BITS = 44;
  /** Size-class actors a handle can name. */
  public static final int CLASS_ACTORS = 1 << (BITS - 32);
  private static final int CLASS_SHIFT = 32;
  private static final long SLOT_MASK = 0xFFFF_FFFFL;

  private Handle() {}

  public static long of(int classIndex, int slot) {
    return ((long) classIndex << CLASS_SHIFT) | (slot & SLOT_MASK);
  }

  public static int classIndex(long handle) {
    return (int) (handle >>> CLASS_SHIFT) & (CLASS_ACTORS - 1);
  }

  public static int slot(long handle) {
    return (int) (handle & SLOT_MASK);
  }
}
