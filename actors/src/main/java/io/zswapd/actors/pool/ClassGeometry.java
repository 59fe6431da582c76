package io.zswapd.actors.pool;

/**
 * The shape of one size class: objects of up to {@code size} bytes packed into zspages of
 * {@code pagesPerZspage} pages, {@code objsPerZspage} objects each.
 *
 * @param index          position in {@link PoolGeometry#classes()} (after merging); for the
 *                       geometry a size-class actor is made with, its position among the
 *                       pool's class actors ({@link #lane})
 * @param size           object size: every object in the class takes exactly this many bytes
 * @param pagesPerZspage pages in one zspage (1..max-pages-per-zspage)
 * @param objsPerZspage  objects in one zspage
 */
public record ClassGeometry(int index, int size, int pagesPerZspage, int objsPerZspage) {

  /**
   * Where lane {@code lane} of the class at {@code classIndex} sits among the pool's class
   * actors when each class has {@code lanes} of them: the class index its handles carry.
   */
  public static int actorIndex(int classIndex, int lanes, int lane) {
    return classIndex * lanes + lane;
  }

  /** This class's geometry for its lane {@code lane} of {@code lanes}: the same shape, the lane's actor index. */
  ClassGeometry lane(int lanes, int lane) {
    return new ClassGeometry(actorIndex(index, lanes, lane), size, pagesPerZspage, objsPerZspage);
  }

  /** One object per page: the class for pages kept raw. */
  public boolean huge() {
    return objsPerZspage == 1;
  }

  /** Bits of a location that name the object inside its zspage. */
  int objBits() {
    return 32 - Integer.numberOfLeadingZeros(objsPerZspage - 1);
  }

  /** Share of a zspage's bytes that objects use; the rest is waste at the zspage's end. */
  double usage() {
    return (double) objsPerZspage * size / (pagesPerZspage * (double) PoolGeometry.PAGE_SIZE);
  }
}
