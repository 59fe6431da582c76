package io.zswapd.actors.pool;

import io.zswapd.protocol.engine.CompactionResult;
import java.util.Arrays;

/**
 * Compaction of one size class: moves objects from the emptiest zspages into the fullest and
 * gives the emptied zspages' pages back ({@code pages_compacted}); the handle table is
 * rewritten, the handles held by tree shards stay valid. Owned by one {@link SizeClass} actor
 * and used only from its thread: it rewrites that actor's zspages and handle table in place.
 */
final class ClassCompaction {
  private static final int NONE = ZsPages.NONE;

  private final ClassGeometry geometry;
  private final ZsPages zspages;
  private final HandleTable locations;
  private final ClassReserve reserve;
  /** The class's own page-sized buffer, shared: nothing else runs while a message is handled. */
  private final byte[] scratch;

  private long pagesCompacted;

  ClassCompaction(ClassGeometry geometry, ZsPages zspages, HandleTable locations, ClassReserve reserve,
      byte[] scratch) {
    this.geometry = geometry;
    this.zspages = zspages;
    this.locations = locations;
    this.reserve = reserve;
    this.scratch = scratch;
  }

  /** Handles {@link SizeClass.Compact}, with {@code objsUsed} objects in use. */
  void compact(SizeClass.Compact c, long objsUsed) {
    int objs = geometry.objsPerZspage();
    int objBits = geometry.objBits();
    long freedPages = 0;
    long moved = 0;
    int[] owners = null;
    while (zspages.count() * objs - objsUsed >= objs) { // a whole zspage's worth of free slots
      int src = zspages.emptiestPartial();
      int dst = src == NONE ? NONE : zspages.fullestPartial(src);
      if (dst == NONE) {
        break;
      }
      if (owners == null) {
        owners = ownersByObject();
      }
      for (int i = objs - 1; i >= 0 && zspages.inUse(src) > 0 && !zspages.full(dst); i--) {
        int slot = owners[src * objs + i];
        if (slot != NONE) {
          zspages.read(src, i, scratch, geometry.size());
          int obj = zspages.take(dst);
          zspages.write(dst, obj, scratch, geometry.size());
          zspages.release(src, i);
          owners[src * objs + i] = NONE;
          owners[dst * objs + obj] = slot;
          locations.set(slot, (dst << objBits) | obj);
          moved++;
        }
      }
      zspages.regroup(dst);
      if (zspages.inUse(src) == 0) {
        reserve.freeZspage(src);
        freedPages += geometry.pagesPerZspage();
      } else {
        zspages.regroup(src);
      }
    }
    pagesCompacted += freedPages;
    freedPages += reserve.returnAll();
    c.replyTo().tell(new CompactionResult(freedPages, moved));
  }

  /**
   * The handle table inverted: {@code owners[z * objs + obj]} is the handle slot of object
   * {@code obj} of zspage {@code z}, NONE for a free object. Made only while compacting (4
   * bytes per object slot, garbage once the compaction message is handled), so that no back
   * pointer per object is kept at rest.
   */
  private int[] ownersByObject() {
    int objs = geometry.objsPerZspage();
    int objBits = geometry.objBits();
    int objMask = (1 << objBits) - 1;
    int[] owners = new int[zspages.idLimit() * objs];
    Arrays.fill(owners, NONE);
    for (int slot = 0; slot < locations.slotLimit(); slot++) {
      int loc = locations.get(slot);
      if (loc >= 0) {
        owners[(loc >>> objBits) * objs + (loc & objMask)] = slot;
      }
    }
    return owners;
  }

  /** Pages compaction has given back so far ({@code pages_compacted}). */
  long pagesCompacted() {
    return pagesCompacted;
  }
}
