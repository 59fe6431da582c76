package io.zswapd.actors.pool;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.arena.PageArena;
import java.util.Arrays;

/**
 * A size class's reserve, the page ids of up to two zspages' worth of arena pages
 * ({@code reserve[0..reserveCount)}), and the way pages come and go around it: the class's
 * requests to the arena for more, new zspages made of it, and freed zspages, whose pages
 * refill it or go back to the arena. The reserve is refilled in batches so the allocation path
 * rarely waits for the arena (zsmalloc's per-CPU page lists). Owned by one {@link SizeClass}
 * actor and used only from its thread, like the {@link ZsPages} it makes and frees zspages in.
 */
final class ClassReserve {
  private final ZsPages zspages;
  private final int ppz;
  private final ActorRef<PageArena.Command> arena;
  private final ActorRef<PageArena.GrantReply> grantAdapter;

  private final int[] reserve;
  private int reserveCount;
  private final int[] freedPages;
  private boolean grantPending;

  ClassReserve(ZsPages zspages, int ppz, ActorRef<PageArena.Command> arena,
      ActorRef<PageArena.GrantReply> grantAdapter) {
    this.zspages = zspages;
    this.ppz = ppz;
    this.arena = arena;
    this.grantAdapter = grantAdapter;
    this.reserve = new int[2 * ppz];
    this.freedPages = new int[ppz];
  }

  /** A new zspage made of reserve pages, or NONE when the reserve holds less than a zspage. */
  int createZspage() {
    if (reserveCount < ppz) {
      return ZsPages.NONE;
    }
    runToTop();
    reserveCount -= ppz;
    return zspages.create(reserve, reserveCount);
  }

  /**
   * Moves a run of {@code ppz} consecutive page ids, if the reserve holds one, to its top,
   * where {@link #createZspage} takes its pages: a zspage on a run keeps one page id on the
   * heap instead of {@code ppz} ({@link ZsPages}). The reserve is at most two zspages' worth.
   */
  private void runToTop() {
    int top = reserveCount - ppz;
    if (ppz == 1 || ZsPages.isRun(reserve, top, ppz)) {
      return;
    }
    Arrays.sort(reserve, 0, reserveCount);
    for (int from = top; from >= 0; from--) {
      if (ZsPages.isRun(reserve, from, ppz)) {
        int[] run = Arrays.copyOfRange(reserve, from, from + ppz);
        System.arraycopy(reserve, from + ppz, reserve, from, reserveCount - from - ppz);
        System.arraycopy(run, 0, reserve, top, ppz);
        return;
      }
    }
  }

  /** Asks the arena for pages, unless a request is out already: its answer is a grant reply. */
  void request() {
    if (!grantPending) {
      grantPending = true;
      arena.tell(new PageArena.Grant(ppz - reserveCount, reserve.length - reserveCount, grantAdapter));
    }
  }

  /** The arena answered the request, granted or refused. */
  void answered() {
    grantPending = false;
  }

  /** Takes granted pages into the reserve. */
  void add(int[] pages) {
    // Frees may have refilled the reserve since the request; surplus pages go straight back.
    int keep = Math.min(pages.length, reserve.length - reserveCount);
    System.arraycopy(pages, 0, reserve, reserveCount, keep);
    reserveCount += keep;
    if (keep < pages.length) {
      arena.tell(new PageArena.Return(Arrays.copyOfRange(pages, keep, pages.length), pages.length - keep));
    }
  }

  /** Frees zspage {@code z}: its pages refill the reserve up to one zspage, the rest go back. */
  void freeZspage(int z) {
    zspages.pagesOf(z, freedPages, 0);
    zspages.free(z);
    int kept = Math.min(ppz, Math.max(0, ppz - reserveCount));
    System.arraycopy(freedPages, 0, reserve, reserveCount, kept);
    reserveCount += kept;
    if (kept < ppz) {
      arena.tell(new PageArena.Return(Arrays.copyOfRange(freedPages, kept, ppz), ppz - kept));
    }
  }

  /** Gives the reserve pages in chunks {@code chunkIds} (ascending) back: they are to be released. */
  void returnPagesIn(int[] chunkIds) {
    // Reserve pages in those chunks are free as far as the class is concerned: back they go.
    int kept = 0;
    int[] back = new int[reserveCount];
    int n = 0;
    for (int i = 0; i < reserveCount; i++) {
      if (Arrays.binarySearch(chunkIds, zspages.chunkIdOf(reserve[i])) >= 0) {
        back[n++] = reserve[i];
      } else {
        reserve[kept++] = reserve[i];
      }
    }
    reserveCount = kept;
    if (n > 0) {
      arena.tell(new PageArena.Return(back, n));
    }
  }

  /** Frees every zspage and gives their pages back, then the reserve's: the class is draining. */
  void freeAll() {
    long live = zspages.count();
    if (live > 0) {
      int[] pages = new int[Math.toIntExact(live * ppz)];
      int n = 0;
      for (int z = 0; z < zspages.idLimit(); z++) {
        if (zspages.live(z)) {
          zspages.pagesOf(z, pages, n);
          n += ppz;
          zspages.free(z);
        }
      }
      arena.tell(new PageArena.Return(pages, n));
    }
    returnAll();
  }

  /** Gives the reserve back to the arena so idle classes hold no pages. */
  int returnAll() {
    int n = reserveCount;
    if (n > 0) {
      arena.tell(new PageArena.Return(Arrays.copyOf(reserve, n), n));
      reserveCount = 0;
    }
    return n;
  }
}
