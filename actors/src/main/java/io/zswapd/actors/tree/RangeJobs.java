package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.pool.AllocReply;
import io.zswapd.actors.pool.SizeClass;
import io.zswapd.actors.support.LocalRef;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.LoadRangeReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;
import java.util.List;

/**
 * The bookkeeping of a tree shard's range requests ({@link TreeShard.StoreRange},
 * {@link TreeShard.LoadRange}): one message from the caller and one per size class, instead
 * of several per page. Every object here belongs to one shard and is used only while that
 * shard handles a message.
 */
final class RangeJobs {
  private RangeJobs() {}

  /**
   * A range store: each page is stored by the shard's ordinary per-page path, with this as its
   * reply-to, so pending pages, generations and queues work as for single stores. Every
   * {@link StoreReply} for a page is sent by the shard itself, so the count is confined to it.
   */
  static final class StoreJob extends LocalRef<StoreReply> {
    private static final long serialVersionUID = 1L;
    private final transient long firstPage;
    private final transient ActorRef<StoreReply> replyTo;
    private transient int outstanding;
    private transient StoreReply.Refused refused;

    StoreJob(long firstPage, int pages, ActorRef<StoreReply> replyTo) {
      this.firstPage = firstPage;
      this.outstanding = pages;
      this.replyTo = replyTo;
    }

    @Override
    protected void receive(StoreReply reply) {
      if (reply instanceof StoreReply.Refused r && (refused == null || r.pageIndex() < refused.pageIndex())) {
        refused = r;
      }
      if (--outstanding == 0) {
        replyTo.tell(refused != null ? refused : new StoreReply.Stored(firstPage));
      }
    }
  }

  /**
   * The allocations a range store asks for, gathered while the shard walks the range and sent
   * as one {@link SizeClass.AllocMany} per size class when it is done.
   */
  static final class AllocBatch {
    private final int[] classOf;
    private final byte[][] data;
    private final int[] tags;
    private final long[] generations;
    private int count;

    AllocBatch(int capacity) {
      classOf = new int[capacity];
      data = new byte[capacity][];
      tags = new int[capacity];
      generations = new long[capacity];
    }

    void add(int classIndex, byte[] bytes, int tag, long generation) {
      classOf[count] = classIndex;
      data[count] = bytes;
      tags[count] = tag;
      generations[count] = generation;
      count++;
    }

    void send(List<ActorRef<SizeClass.Command>> classes, ActorRef<AllocReply> replyTo,
        ActorRef<SizeClass.AllocatedMany> batchReplyTo) {
      int[] perClass = new int[classes.size()];
      for (int i = 0; i < count; i++) {
        perClass[classOf[i]]++;
      }
      for (int c = 0; c < perClass.length; c++) {
        int n = perClass[c];
        if (n == 0) {
          continue;
        }
        byte[][] d = new byte[n][];
        int[] t = new int[n];
        long[] g = new long[n];
        int k = 0;
        for (int i = 0; i < count && k < n; i++) {
          if (classOf[i] == c) {
            d[k] = data[i];
            t[k] = tags[i];
            g[k] = generations[i];
            k++;
          }
        }
        classes.get(c).tell(new SizeClass.AllocMany(d, t, g, n, replyTo, batchReplyTo));
      }
    }
  }

  /**
   * A range load: pages at rest in the pool are read in one {@link SizeClass.ReadMany} per
   * class and decompressed by the shard into {@link #pages}; same-filled pages are filled at
   * once; pages with work pending or in the backing file go through the per-page path.
   */
  static final class LoadJob {
    final long id;
    final long firstPage;
    final byte[] pages;
    final ActorRef<LoadRangeReply> replyTo;
    int outstanding = 1; // held until the walk of the range is done
    EngineError error;
    long errorPage;

    LoadJob(long id, long firstPage, int count, ActorRef<LoadRangeReply> replyTo) {
      this.id = id;
      this.firstPage = firstPage;
      this.pages = new byte[count * PageImage.PAGE_SIZE];
      this.replyTo = replyTo;
    }

    void fail(long pageIndex, EngineError e) {
      if (error == null || pageIndex < errorPage) {
        error = e;
        errorPage = pageIndex;
      }
    }

    /** One part answered; true when it was the last (and the reply has been sent). */
    boolean partDone() {
      if (--outstanding > 0) {
        return false;
      }
      replyTo.tell(error != null ? new LoadRangeReply.LoadRangeFailed(firstPage, error)
          : new LoadRangeReply.LoadedRange(firstPage, pages));
      return true;
    }
  }

  /** The objects of one range load to read from each size class. */
  static final class ReadBatch {
    private final int[][] slots;
    private final int[][] lengths;
    private final int[][] positions;
    private final int[] counts;

    ReadBatch(int classCount) {
      slots = new int[classCount][];
      lengths = new int[classCount][];
      positions = new int[classCount][];
      counts = new int[classCount];
    }

    void add(int classIndex, int slot, int length, int position, int capacity) {
      if (slots[classIndex] == null) {
        slots[classIndex] = new int[capacity];
        lengths[classIndex] = new int[capacity];
        positions[classIndex] = new int[capacity];
      }
      int k = counts[classIndex]++;
      slots[classIndex][k] = slot;
      lengths[classIndex][k] = length;
      positions[classIndex][k] = position;
    }

    /** Sends one read per class that has objects; returns how many were sent. */
    int send(List<ActorRef<SizeClass.Command>> classes, long job, ActorRef<SizeClass.ObjectsRead> replyTo) {
      int sent = 0;
      for (int c = 0; c < counts.length; c++) {
        if (counts[c] > 0) {
          classes.get(c).tell(new SizeClass.ReadMany(slots[c], lengths[c], positions[c], counts[c], job, replyTo));
          sent++;
        }
      }
      return sent;
    }
  }
}
