package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.InvalidateReply;
import java.util.ArrayList;
import java.util.List;

/**
 * One export's entry in the routing table, and the one route of its page requests: the sender
 * checks bounds and permissions here, on its own thread, and sends each request straight to
 * the {@link TreeShard} that owns its page, one {@link TreeShard.Pages} per shard for all the
 * requests it sends at once. Immutable; made by the export's {@link SwapType}, which makes a
 * new one when its shards change (an overflow namespace growing), and handed out in the
 * engine's routing table.
 *
 * <p>A range must lie inside one shard (every {@link TreeShard#PAGES} pages). An invalidation
 * may span shards: it is split at their boundaries, and the parts' answers are gathered into
 * one by a gatherer the sender supplies ({@link Gatherer}).
 *
 * @param swapType the export's swap type, which made this entry
 * @param pages  pages the shards cover: the export's size (for an overflow namespace, the
 *               part of its page space grown so far)
 * @param shards the tree shards by shard index
 */
public record ExportRoute(String name, ActorRef<SwapType.Command> swapType, long pages, boolean readOnly, List<ActorRef<TreeShard.Command>> shards) {

  /** Makes the one reference that the parts of a split invalidation answer to. */
  @FunctionalInterface
  public interface Gatherer {
    /**
     * A reference that, once told {@code parts} answers, tells {@code replyTo} one
     * {@code Invalidated} with their sum (or the first failure).
     */
    ActorRef<InvalidateReply> gather(int parts, ActorRef<InvalidateReply> replyTo);
  }

  /**
   * Sends {@code requests} by their route, in list order per shard. A request that cannot be
   * served (out of range, a write to a read-only export, a range across a shard boundary) is
   * refused here, on the calling thread, through its own {@link EngineCommand.PageRequest#refuse}.
   */
  public void send(List<? extends EngineCommand.PageRequest> requests, Gatherer gatherer) {
    if (requests.size() == 1) {
      send(requests.get(0), gatherer);
      return;
    }
    Batches batches = new Batches(shards);
    for (EngineCommand.PageRequest r : requests) {
      int shard = shardOf(r);
      if (shard >= 0) {
        batches.add(shard, r);
      } else if (shard == SPLIT) {
        split(r, gatherer, batches);
      }
    }
    batches.send();
  }

  /** As {@link #send(List, Gatherer)}, for one request (an embedded API call): no list of its own. */
  public void send(EngineCommand.PageRequest request, Gatherer gatherer) {
    int shard = shardOf(request);
    if (shard >= 0) {
      shards.get(shard).tell(TreeShard.Pages.of(request));
    } else if (shard == SPLIT) {
      split(request, gatherer, null);
    }
  }

  /** {@link #shardOf}: the request was refused. */
  private static final int REFUSED = -1;
  /** {@link #shardOf}: an invalidation across shards, to split. */
  private static final int SPLIT = -2;

  /** The shard index of {@code r}, or {@link #REFUSED} (and refused) or {@link #SPLIT}. */
  private int shardOf(EngineCommand.PageRequest r) {
    long first;
    long count = 1;
    EngineError bad;
    if (r instanceof EngineCommand.StoreRange s) {
      first = s.firstPage();
      count = s.pages().length;
      bad = badRange(first, s.pages().length, true);
    } else if (r instanceof EngineCommand.LoadRange l) {
      first = l.firstPage();
      count = l.pageCount();
      bad = badRange(first, l.pageCount(), false);
    } else if (r instanceof EngineCommand.InvalidateRange i) {
      first = i.firstPage();
      count = i.pageCount();
      bad = badPages(first, count, true);
      if (bad == null && count > 0 && shardIndex(first) != shardIndex(first + count - 1)) {
        return SPLIT;
      }
    } else if (r instanceof EngineCommand.InvalidateArea) {
      return shards.size() == 1 ? 0 : SPLIT; // the whole export: as a swapoff, also of a read-only one
    } else {
      first = pageOf(r);
      bad = badPages(first, 1, !(r instanceof EngineCommand.Load));
    }
    if (bad != null) {
      r.refuse(bad);
      return REFUSED;
    }
    if (count == 0) { // an empty invalidation: nothing to do
      ((EngineCommand.InvalidateRange) r).replyTo().tell(new InvalidateReply.Invalidated(0));
      return REFUSED;
    }
    return shardIndex(first);
  }

  /** The page of a single-page request. */
  private static long pageOf(EngineCommand.PageRequest r) {
    if (r instanceof EngineCommand.Store s) {
      return s.pageIndex();
    } else if (r instanceof EngineCommand.Load l) {
      return l.pageIndex();
    } else if (r instanceof EngineCommand.Patch p) {
      return p.pageIndex();
    }
    return ((EngineCommand.Invalidate) r).pageIndex();
  }

  private static int shardIndex(long page) {
    return (int) (page >>> TreeShard.PAGES_SHIFT);
  }

  /** Why pages [first, first + count) cannot be served, or null ({@code write}: stored, patched or invalidated). */
  private EngineError badPages(long first, long count, boolean write) {
    if (first < 0 || count < 0 || first > pages - count) {
      return count == 1 ? EngineError.outOfRange(name, first, pages)
          : new EngineError(ErrorCode.OUT_OF_RANGE, "pages " + first + ".." + (first + count)
              + " are outside export \"" + name + "\" (" + pages + " pages)");
    }
    return write && readOnly ? readOnlyError() : null;
  }

  /** Why pages [first, first + count) cannot be one range request, or null when they can. */
  private EngineError badRange(long first, int count, boolean write) {
    if (count < 1) {
      return new EngineError(ErrorCode.INVALID, "a range request needs at least one page, got " + count);
    }
    if (first < 0 || first > pages - count) {
      return EngineError.outOfRange(name, first < 0 || first >= pages ? first : pages, pages);
    }
    if (shardIndex(first) != shardIndex(first + count - 1)) {
      return new EngineError(ErrorCode.INVALID, "pages " + first + ".." + (first + count - 1)
          + " cross a tree shard boundary (every " + TreeShard.PAGES + " pages); split the range there");
    }
    return write && readOnly ? readOnlyError() : null;
  }

  private EngineError readOnlyError() {
    return new EngineError(ErrorCode.READ_ONLY, "export \"" + name + "\" is read-only");
  }

  /**
   * An invalidation across shards (or of the whole export): one part per shard, answered to a
   * gatherer; into {@code batches} when sending several requests, else sent at once.
   */
  private void split(EngineCommand.PageRequest r, Gatherer gatherer, Batches batches) {
    long first;
    long end;
    ActorRef<InvalidateReply> replyTo;
    boolean area = r instanceof EngineCommand.InvalidateArea;
    if (r instanceof EngineCommand.InvalidateRange i) {
      first = i.firstPage();
      end = first + i.pageCount();
      replyTo = i.replyTo();
    } else {
      first = 0;
      end = pages;
      replyTo = ((EngineCommand.InvalidateArea) r).replyTo();
    }
    if (end <= first) { // an area of an export with no shard yet
      replyTo.tell(new InvalidateReply.Invalidated(0));
      return;
    }
    int firstShard = shardIndex(first);
    int lastShard = shardIndex(end - 1);
    ActorRef<InvalidateReply> to = gatherer.gather(lastShard - firstShard + 1, replyTo);
    for (int shard = firstShard; shard <= lastShard; shard++) {
      long from = Math.max(first, (long) shard << TreeShard.PAGES_SHIFT);
      long to_ = Math.min(end, (long) (shard + 1) << TreeShard.PAGES_SHIFT);
      EngineCommand.PageRequest part = area ? new EngineCommand.InvalidateArea(name, to)
          : new EngineCommand.InvalidateRange(name, from, to_ - from, to);
      if (batches != null) {
        batches.add(shard, part);
      } else {
        shards.get(shard).tell(TreeShard.Pages.of(part));
      }
    }
  }

  /** The requests of one send, by shard, in order; most sends touch few shards. */
  private static final class Batches {
    private final List<ActorRef<TreeShard.Command>> shards;
    private int[] shardIndexes = new int[4];
    private List<List<EngineCommand.PageRequest>> lists = new ArrayList<>(4);
    private int count;
    private int last = -1;

    Batches(List<ActorRef<TreeShard.Command>> shards) {
      this.shards = shards;
    }

    void add(int shard, EngineCommand.PageRequest r) {
      if (last >= 0 && shardIndexes[last] == shard) {
        lists.get(last).add(r);
        return;
      }
      for (int i = 0; i < count; i++) {
        if (shardIndexes[i] == shard) {
          last = i;
          lists.get(i).add(r);
          return;
        }
      }
      if (count == shardIndexes.length) {
        shardIndexes = java.util.Arrays.copyOf(shardIndexes, count * 2);
      }
      shardIndexes[count] = shard;
      List<EngineCommand.PageRequest> list = new ArrayList<>();
      list.add(r);
      lists.add(list);
      last = count++;
    }

    void send() {
      for (int i = 0; i < count; i++) {
        shards.get(shardIndexes[i]).tell(new TreeShard.Pages(lists.get(i)));
      }
    }
  }
}
