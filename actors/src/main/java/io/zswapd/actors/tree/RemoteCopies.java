package io.zswapd.actors.tree;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.codec.CorruptPageException;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.codec.SameFilledPage;
import io.zswapd.actors.writeback.BackingStore;
import io.zswapd.actors.writeback.ReadReply;
import io.zswapd.actors.writeback.WriteReply;
import io.zswapd.protocol.engine.PageImage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The copy of a remote shard's pages in the front's backing file: what keeps a page that was
 * acknowledged readable after the memory node holding it is lost.
 *
 * <p>Every store admitted for the shard is also written, compressed as it travels, to a slot of
 * the export's backing file (write-behind: the caller's answer does not wait for it). Until its
 * write completes, the page's image stays here in memory ({@code unwritten}), so a page is never
 * without a copy between its store and its slot. The shard sends no batch while more than
 * {@link RemoteShard#COPY_BACKLOG} bytes wait here: the write-behind is bounded, and a slow
 * file slows the writers down instead of filling the heap. Same-filled pages keep their word and no slot.
 * A patch (made by the memory node) has no copy until the page's new bytes come back. A page
 * whose write the file refused (it is full: {@code backing-size}) has no copy.
 *
 * <p>Generations make late answers harmless, as in a tree shard's writeback: each store or
 * invalidation of a page bumps its generation, and a slot written for an older one is freed,
 * never installed.
 *
 * <p>Plain state of one {@link RemoteShard}, touched only on its thread.
 */
final class RemoteCopies {
  private static final long NONE = -1;
  private static final int SAME_FILLED = -1;

  private final ActorRef<BackingStore.Command> backing;
  private final ActorRef<WriteReply> writeReplies;
  private final ActorRef<ReadReply> readReplies;
  private final CodecKind codec;
  private final long basePage;
  /** Per page: the slot offset of its copy, or NONE. */
  private final long[] slot;
  /** Per page: the copy's length in its slot, or SAME_FILLED (its word in {@link #words}). */
  private final int[] length;
  private final int[] generation;
  private final Map<Integer, Long> words = new HashMap<>();
  /** Images whose slot write has not completed, by page offset. */
  private final Map<Integer, PageImage> unwritten = new HashMap<>();
  /** Bytes of each slot write in flight, by page offset and generation. */
  private final Map<Long, Integer> writing = new HashMap<>();
  /** Reads of copies in flight, by page offset, answered in order. */
  private final Map<Integer, ArrayDeque<Consumer<byte[]>>> reading = new HashMap<>();
  /** Who waits for a page's unwritten copy to reach its slot ({@link #whenKept}), by page offset. */
  private final Map<Integer, List<Consumer<Boolean>>> keeping = new HashMap<>();
  private long refusedWrites;
  /** Bytes of the images in {@link #unwritten}: what the shard's write-behind holds in memory. */
  private long unwrittenBytes;

  RemoteCopies(ActorRef<BackingStore.Command> backing, ActorRef<WriteReply> writeReplies,
      ActorRef<ReadReply> readReplies, CodecKind codec, long basePage) {
    this.backing = backing;
    this.writeReplies = writeReplies;
    this.readReplies = readReplies;
    this.codec = codec;
    this.basePage = basePage;
    this.slot = new long[TreeShard.PAGES];
    this.length = new int[TreeShard.PAGES];
    this.generation = new int[TreeShard.PAGES];
    Arrays.fill(slot, NONE);
  }

  int generation(int offset) {
    return generation[offset];
  }

  /** Whether the page has a copy (in the file, in memory, or as its word). */
  boolean has(int offset) {
    return slot[offset] != NONE || length[offset] == SAME_FILLED || unwritten.containsKey(offset);
  }

  /** A store of {@code image} was admitted: it becomes the page's copy. */
  void stored(int offset, PageImage image) {
    drop(offset);
    if (image instanceof PageImage.SameFilled s) {
      length[offset] = SAME_FILLED;
      if (s.word() != 0) {
        words.put(offset, s.word());
      }
      return;
    }
    byte[] bytes = bytesOf(image);
    unwritten.put(offset, image);
    unwrittenBytes += bytes.length;
    writing.put(key(offset, generation[offset]), bytes.length);
    backing.tell(new BackingStore.Write(bytes, offset, generation[offset], writeReplies));
  }

  /** The page was invalidated: no copy. */
  void forget(int offset) {
    drop(offset);
  }

  private void drop(int offset) {
    generation[offset]++;
    if (slot[offset] != NONE) {
      backing.tell(new BackingStore.Free(slot[offset], length[offset])); // the store serves earlier reads first
      slot[offset] = NONE;
    }
    length[offset] = 0;
    words.remove(offset);
    PageImage dropped = unwritten.remove(offset);
    if (dropped != null) {
      unwrittenBytes -= bytesOf(dropped).length;
    }
    kept(offset, true); // the page changed: what the waiters' store wrote is no longer its copy
  }

  /**
   * Tells {@code kept} whether the copy the page's store of {@code generation} made is in the
   * file (or is a word): at once, or when its slot write completes. {@code true} too when the
   * page has changed since (a later store or invalidation), which then decides what the page
   * holds: the caller checks {@link #generation} again.
   */
  void whenKept(int offset, int generation, Consumer<Boolean> kept) {
    if (this.generation[offset] != generation) {
      kept.accept(true);
    } else if (unwritten.containsKey(offset)) {
      keeping.computeIfAbsent(offset, o -> new ArrayList<>()).add(kept);
    } else {
      kept.accept(slot[offset] != NONE || length[offset] == SAME_FILLED);
    }
  }

  private void kept(int offset, boolean inFile) {
    List<Consumer<Boolean>> waiting = keeping.remove(offset);
    if (waiting != null) {
      waiting.forEach(w -> w.accept(inFile));
    }
  }

  /** A slot write finished: installed if its page has not changed since, else freed. */
  void written(WriteReply reply) {
    int offset = reply.tag();
    Integer written = writing.remove(key(offset, (int) reply.generation()));
    boolean current = reply.generation() == generation[offset] && unwritten.containsKey(offset);
    if (reply instanceof WriteReply.Written w) {
      if (current) {
        unwrittenBytes -= bytesOf(unwritten.remove(offset)).length;
        slot[offset] = w.slotOffset();
        length[offset] = written == null ? PageImage.PAGE_SIZE : written;
        kept(offset, true);
      } else { // the page changed meanwhile: these bytes are no longer its copy
        backing.tell(new BackingStore.Free(w.slotOffset(), written == null ? PageImage.PAGE_SIZE : written));
      }
    } else if (current) {
      refusedWrites++;
      unwrittenBytes -= bytesOf(unwritten.remove(offset)).length; // the file is full or failing: no copy
      kept(offset, false);
    }
  }

  private static long key(int offset, int generation) {
    return ((long) offset << 32) | (generation & 0xFFFF_FFFFL);
  }

  long refusedWrites() {
    return refusedWrites;
  }

  /** Bytes of images held in memory until their slot writes complete. */
  long unwrittenBytes() {
    return unwrittenBytes;
  }

  /**
   * The page's bytes from its copy, to {@code page} (null when it has none, or its copy does
   * not decompress): at once for a word or an image still in memory, else after a read of its
   * slot.
   */
  void read(int offset, Consumer<byte[]> page) {
    if (length[offset] == SAME_FILLED) {
      byte[] p = new byte[PageImage.PAGE_SIZE];
      SameFilledPage.fill(words.getOrDefault(offset, 0L), p, 0, PageImage.PAGE_SIZE);
      page.accept(p);
    } else if (unwritten.containsKey(offset)) {
      page.accept(decompress(bytesOf(unwritten.get(offset))));
    } else if (slot[offset] != NONE) {
      readSlot(offset, stored -> page.accept(decompress(stored)));
    } else {
      page.accept(null);
    }
  }

  /** The image a page's copy holds (to store it on a new memory node), as {@link #read}. */
  void image(int offset, Consumer<PageImage> image) {
    if (length[offset] == SAME_FILLED) {
      image.accept(new PageImage.SameFilled(words.getOrDefault(offset, 0L)));
    } else if (unwritten.containsKey(offset)) {
      image.accept(unwritten.get(offset));
    } else if (slot[offset] != NONE) {
      readSlot(offset, stored -> image.accept(stored == null ? null
          : stored.length == PageImage.PAGE_SIZE ? new PageImage.Raw(stored) : new PageImage.Compressed(stored)));
    } else {
      image.accept(null);
    }
  }

  private void readSlot(int offset, Consumer<byte[]> stored) {
    reading.computeIfAbsent(offset, o -> new ArrayDeque<>()).add(stored);
    backing.tell(new BackingStore.Read(slot[offset], length[offset], basePage + offset, codec, readReplies));
  }

  /**
   * A slot read finished: its bytes (as stored; null if the read failed) to the first reader
   * waiting on that page. A page's reads all name its one slot while it is being read: its copy
   * changes only with a store, which the shard serves from the memory node, not from here.
   */
  void readDone(ReadReply reply) {
    int offset = (int) (reply.pageIndex() - basePage);
    ArrayDeque<Consumer<byte[]>> waiting = reading.get(offset);
    if (waiting == null || waiting.isEmpty()) {
      return;
    }
    Consumer<byte[]> next = waiting.poll();
    if (waiting.isEmpty()) {
      reading.remove(offset);
    }
    next.accept(reply instanceof ReadReply.ReadDone d ? d.bytes() : null);
  }

  private static byte[] bytesOf(PageImage image) {
    return image instanceof PageImage.Compressed c ? c.bytes() : ((PageImage.Raw) image).bytes();
  }

  byte[] decompress(byte[] stored) {
    if (stored == null) {
      return null;
    }
    try {
      return PageCompressor.decompress(stored, codec);
    } catch (CorruptPageException e) {
      return null;
    }
  }
}
