package io.zswapd.actors.pool;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.arena.PageArena;
import io.zswapd.actors.pool.SizeClass.Isolate;
import io.zswapd.actors.pool.SizeClass.Isolated;
import io.zswapd.actors.pool.SizeClass.IsolatedZspage;
import io.zswapd.actors.pool.SizeClass.Migrate;
import io.zswapd.actors.pool.SizeClass.Migrated;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Page migration of one size class (zsmalloc's isolate / migrate / putback, driven by the
 * {@code MigrationWorker}): moves a zspage's pages out of chunks the arena wants to release.
 * {@link Isolate} takes every zspage with a page in those chunks out of its fullness list, so
 * nothing allocates into it or compacts it, and answers which pages must move. {@link Migrate}
 * of one zspage is one message: it copies those pages to the new pages it carries, updates
 * the zspage's page table (handles do not change: they name a zspage and an object, never a
 * page), returns the old pages and links the zspage back. Frees go on meanwhile: a free that
 * empties an isolated zspage is applied, but the zspage stays alive until its Migrate (or
 * {@link SizeClass.Putback}) hands it back, and only then are its pages released, once (the
 * 2016 seed). {@link SizeClass.StopMigrations} and {@link SizeClass.Drain} close the class to
 * migration: isolated zspages are put back (or freed, on drain) and every later Isolate or
 * Migrate is refused, its new pages returned untouched (the 2019 seed).
 *
 * <p>Owned by one {@link SizeClass} actor and used only from its thread: the isolated
 * zspages are marked in that actor's {@link ZsPages}, and nothing else keeps them.
 */
final class ClassMigration {
  private final ClassGeometry geometry;
  private final ZsPages zspages;
  private final ClassReserve reserve;
  private final ActorRef<PageArena.Command> arena;
  /** Whether the class has drained: its zspages are gone, so nothing is put back. */
  private final BooleanSupplier drained;

  private boolean migrationsClosed;
  private long pagesMigrated;

  ClassMigration(ClassGeometry geometry, ZsPages zspages, ClassReserve reserve, ActorRef<PageArena.Command> arena,
      BooleanSupplier drained) {
    this.geometry = geometry;
    this.zspages = zspages;
    this.reserve = reserve;
    this.arena = arena;
    this.drained = drained;
  }

  /** Refuses every later Isolate and Migrate; what is isolated now is left to the caller. */
  void close() {
    migrationsClosed = true;
  }

  void isolate(Isolate m) {
    List<IsolatedZspage> out = new ArrayList<>();
    if (drained.getAsBoolean() || migrationsClosed) {
      m.replyTo().tell(new Isolated(geometry.index(), out));
      return;
    }
    reserve.returnPagesIn(m.chunkIds());
    int ppz = geometry.pagesPerZspage();
    int[] moving = new int[ppz];
    for (int z = 0; z < zspages.idLimit(); z++) {
      if (!zspages.live(z) || zspages.isolated(z)) {
        continue;
      }
      int count = 0;
      for (int k = 0; k < ppz; k++) {
        int page = zspages.pageAt(z, k);
        if (Arrays.binarySearch(m.chunkIds(), zspages.chunkIdOf(page)) >= 0) {
          moving[count++] = page;
        }
      }
      if (count > 0) {
        zspages.isolate(z);
        out.add(new IsolatedZspage(geometry.index(), z, Arrays.copyOf(moving, count)));
      }
    }
    m.replyTo().tell(new Isolated(geometry.index(), out));
  }

  void migrate(Migrate m) {
    int z = m.zspage();
    if (drained.getAsBoolean() || migrationsClosed || !zspages.live(z) || !zspages.isolated(z)) {
      // Closed (or handed back already): the zspage's old pages are not touched, the new ones
      // were never used and go straight back.
      arena.tell(new PageArena.Return(m.newPages(), m.newPages().length));
      m.replyTo().tell(new Migrated(geometry.index(), z, 0, false, true));
      return;
    }
    zspages.addChunks(m.chunks());
    if (zspages.inUse(z) == 0) {
      // Emptied by frees while isolated: released now, exactly once, with nothing to copy.
      arena.tell(new PageArena.Return(m.newPages(), m.newPages().length));
      releaseEmptied(z);
      m.replyTo().tell(new Migrated(geometry.index(), z, 0, true, false));
      return;
    }
    int moved = 0;
    for (int i = 0; i < m.oldPages().length; i++) {
      for (int k = 0; k < geometry.pagesPerZspage(); k++) {
        if (zspages.pageAt(z, k) == m.oldPages()[i]) {
          zspages.migratePage(z, k, m.newPages()[i]);
          moved++;
          break;
        }
      }
    }
    if (moved != m.oldPages().length) {
      throw new IllegalStateException("size class " + geometry.size() + ": zspage " + z + " no longer holds "
          + (m.oldPages().length - moved) + " of the pages isolated for migration");
    }
    arena.tell(new PageArena.Return(m.oldPages(), moved));
    zspages.putBack(z);
    pagesMigrated += moved;
    m.replyTo().tell(new Migrated(geometry.index(), z, moved, false, false));
  }

  void putBack(int z) {
    if (drained.getAsBoolean() || !zspages.live(z) || !zspages.isolated(z)) {
      return;
    }
    if (zspages.inUse(z) == 0) {
      releaseEmptied(z);
    } else {
      zspages.putBack(z);
    }
  }

  /** An isolated zspage whose objects were all freed: every page straight back to the arena. */
  private void releaseEmptied(int z) {
    int[] pages = new int[geometry.pagesPerZspage()];
    zspages.pagesOf(z, pages, 0);
    zspages.free(z);
    arena.tell(new PageArena.Return(pages, pages.length));
  }

  void putBackAll() {
    for (int z = 0; z < zspages.idLimit() && zspages.isolatedCount() > 0; z++) {
      if (zspages.live(z) && zspages.isolated(z)) {
        putBack(z);
      }
    }
  }

  /** Pages moved out of evacuating chunks so far (zsmalloc's {@code pages_migrated}). */
  long pagesMigrated() {
    return pagesMigrated;
  }
}
