package io.zswapd.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The oracle for concurrent page tests: what a load of a page may legally return, given every
 * store and invalidate that clients started and finished around it.
 *
 * <p>Each page is a register with "regular" semantics, the guarantee a block device gives
 * concurrent readers and writers. A load that ran over [start, end] may return the content of
 * a write W (an invalidate writes zeros; every page starts as a zero write at time 0) when
 * <ul>
 *   <li>W started before the load ended, and</li>
 *   <li>no other write W2 both started after W finished and finished before the load
 *       started (W2 would have overwritten W for certain).</li>
 * </ul>
 * Times come from one logical clock shared by all clients, so "before" is exact. Writes that
 * were refused are not recorded: they must leave the page as it was.
 *
 * <p>Test code only: the locking here is the oracle's, not the engine's.
 */
public final class ReferenceModel {
  private record Write(long hash, long start, long end) {}

  private final AtomicLong clock = new AtomicLong(1);
  private final ConcurrentHashMap<Long, List<Write>> pages = new ConcurrentHashMap<>();
  private final AtomicLong checkedLoads = new AtomicLong();

  /** A tick of the shared clock; call before issuing an operation and after it completes. */
  public long now() {
    return clock.getAndIncrement();
  }

  /** Records a completed write (store or invalidate) of content {@code hash} over [start, end]. */
  public void recordWrite(long page, long hash, long start, long end) {
    List<Write> list = pages.computeIfAbsent(page, p -> {
      List<Write> l = new ArrayList<>();
      l.add(new Write(PageGenerator.ZERO_HASH, 0, 0));
      return l;
    });
    synchronized (list) {
      list.add(new Write(hash, start, end));
    }
  }

  /**
   * Checks a load of {@code page} that ran over [start, end] and returned {@code hash}; returns
   * null when legal, else a description of the violation. Writes still in flight when the load
   * ended are recorded later; so that they count, call this only once all clients are done, or
   * accept that an in-flight write is not yet a candidate: {@link #checkAll} does the former.
   */
  public String check(long page, long hash, long start, long end) {
    checkedLoads.incrementAndGet();
    List<Write> list = pages.get(page);
    if (list == null) {
      return hash == PageGenerator.ZERO_HASH ? null : "page " + page + " was never written but did not load as zeros";
    }
    List<Write> copy;
    synchronized (list) {
      copy = new ArrayList<>(list);
    }
    for (Write w : copy) {
      if (w.hash != hash || w.start >= end) {
        continue;
      }
      boolean overwritten = false;
      for (Write w2 : copy) {
        if (w2 != w && w2.start > w.end && w2.end < start) {
          overwritten = true;
          break;
        }
      }
      if (!overwritten) {
        return null;
      }
    }
    return "page " + page + ": load over [" + start + ", " + end + "] returned content "
        + Long.toHexString(hash) + ", which no write current in that interval holds (writes: " + copy + ")";
  }

  private final List<long[]> loads = new ArrayList<>();

  /** Keeps a load to check later with {@link #checkAll}. */
  public void recordLoad(long page, long hash, long start, long end) {
    synchronized (loads) {
      loads.add(new long[] {page, hash, start, end});
    }
  }

  /** Checks every recorded load against every write; returns the violations (empty when all legal). */
  public List<String> checkAll() {
    List<String> violations = new ArrayList<>();
    synchronized (loads) {
      for (long[] l : loads) {
        String v = check(l[0], l[1], l[2], l[3]);
        if (v != null) {
          violations.add(v);
        }
      }
    }
    return violations;
  }

  public long checkedLoads() {
    return checkedLoads.get();
  }
}
