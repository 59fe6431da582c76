package io.zswapd.actors.pool;

import io.zswapd.actors.arena.PageRef;

/**
 * One zspage: {@code pages.length} arena pages holding {@code objsPerZspage} objects of the
 * class size, laid end to end across the pages:
 *
 * <pre>
 *  page 0                      page 1                      page 2
 *  +------+------+------+---   --+------+------+------+--  ...
 *  | obj0 | obj1 | obj2 | ob|j3   | obj4 | obj5 | obj6 | o
 *  +------+------+------+---   --+------+------+------+--
 *                         ^ obj3 straddles pages 0 and 1
 * </pre>
 *
 * Object {@code i} starts at byte {@code i * size} of the zspage. {@code slots[i]} is the
 * handle slot of the object stored there, or, for a free slot, a link in the zspage's free
 * list encoded as {@code -(next + 2)} ({@code next == -1} ends the list). Owned by one
 * {@link SizeClass} actor.
 */
final class ZsPage {
  final int id;
  final PageRef[] pages;
  final int[] slots;
  int inUse;
  int freeHead;
  int group = -1;
  ZsPage prev;
  ZsPage next;

  ZsPage(int id, PageRef[] pages, int objs) {
    this.id = id;
    this.pages = pages;
    this.slots = new int[objs];
    for (int i = 0; i < objs; i++) {
      slots[i] = freeLink(i + 1 < objs ? i + 1 : -1);
    }
    this.freeHead = 0;
  }

  static int freeLink(int next) {
    return -(next + 2);
  }

  boolean full() {
    return freeHead < 0;
  }

  /** Takes the first free object slot for handle slot {@code handleSlot}; returns its index. */
  int take(int handleSlot) {
    int obj = freeHead;
    freeHead = -slots[obj] - 2;
    slots[obj] = handleSlot;
    inUse++;
    return obj;
  }

  void release(int obj) {
    slots[obj] = freeLink(freeHead);
    freeHead = obj;
    inUse--;
  }

  /** Writes {@code data} as object {@code obj}, splitting it across two pages if it straddles. */
  void write(int size, int obj, byte[] data, int len) {
    int off = obj * size;
    int page = off >>> PageRef.PAGE_SHIFT;
    int inPage = off & (PageRef.PAGE_SIZE - 1);
    int first = Math.min(len, PageRef.PAGE_SIZE - inPage);
    pages[page].put(inPage, data, 0, first);
    if (first < len) {
      pages[page + 1].put(0, data, first, len - first);
    }
  }

  /** Reads {@code len} bytes of object {@code obj} into {@code dst}, joining straddling parts. */
  void read(int size, int obj, byte[] dst, int len) {
    int off = obj * size;
    int page = off >>> PageRef.PAGE_SHIFT;
    int inPage = off & (PageRef.PAGE_SIZE - 1);
    int first = Math.min(len, PageRef.PAGE_SIZE - inPage);
    pages[page].get(inPage, dst, 0, first);
    if (first < len) {
      pages[page + 1].get(0, dst, first, len - first);
    }
  }

  /** True when object {@code obj} of {@code len} bytes lies inside one page. */
  boolean contiguous(int size, int obj, int len) {
    int inPage = (obj * size) & (PageRef.PAGE_SIZE - 1);
    return inPage + len <= PageRef.PAGE_SIZE;
  }

  PageRef pageOf(int size, int obj) {
    return pages[(obj * size) >>> PageRef.PAGE_SHIFT];
  }

  int offsetInPage(int size, int obj) {
    return (obj * size) & (PageRef.PAGE_SIZE - 1);
  }
}
