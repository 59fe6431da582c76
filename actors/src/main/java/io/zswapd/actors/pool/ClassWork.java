package io.zswapd.actors.pool;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.codec.CodecKind;
import io.zswapd.protocol.engine.LoadReply;
import java.util.Arrays;

/**
 * What one tree shard asks of one size-class actor in one turn, sent as one
 * {@link SizeClass.Work} message: single-page reads, frees and allocations, in as many as
 * the turn produced. The class serves them in that order, reads before frees before
 * allocations, which is safe for any order the shard produced them in: a read always names a
 * live handle (a free of it in the same turn was issued after the read, since the entry no
 * longer names the handle once it is freed), and a slot freed here can be handed out again
 * by an allocation after it.
 *
 * <p>Built by the shard on its thread, then handed over with the message and never touched by
 * the shard again.
 */
public final class ClassWork {
  private static final int FIRST = 4;

  final ActorRef<AllocReply> allocReplyTo;
  final ActorRef<SizeClass.AllocatedMany> allocatedTo;

  int reads;
  int[] readSlots;
  int[] readLengths;
  byte[] readCodecs;
  long[] readPages;
  Object[] readReplyTo;

  int frees;
  int[] freeSlots;

  int allocs;
  byte[][] allocData;
  int[] allocTags;
  long[] allocGenerations;

  /**
   * @param allocReplyTo where an allocation that must wait for pages (or is refused) is answered alone
   * @param allocatedTo  where the allocations made at once are answered, together
   */
  public ClassWork(ActorRef<AllocReply> allocReplyTo, ActorRef<SizeClass.AllocatedMany> allocatedTo) {
    this.allocReplyTo = allocReplyTo;
    this.allocatedTo = allocatedTo;
  }

  /**
   * Read object {@code slot} ({@code length} stored bytes written by {@code codec}) for a load
   * of page {@code pageIndex}: the class copies it out and a task decompresses it and answers
   * {@code replyTo}, together with the other reads of this message.
   */
  public void read(int slot, int length, CodecKind codec, long pageIndex, ActorRef<LoadReply> replyTo) {
    if (readSlots == null) {
      readSlots = new int[FIRST];
      readLengths = new int[FIRST];
      readCodecs = new byte[FIRST];
      readPages = new long[FIRST];
      readReplyTo = new Object[FIRST];
    } else if (reads == readSlots.length) {
      int n = reads * 2;
      readSlots = Arrays.copyOf(readSlots, n);
      readLengths = Arrays.copyOf(readLengths, n);
      readCodecs = Arrays.copyOf(readCodecs, n);
      readPages = Arrays.copyOf(readPages, n);
      readReplyTo = Arrays.copyOf(readReplyTo, n);
    }
    readSlots[reads] = slot;
    readLengths[reads] = length;
    readCodecs[reads] = (byte) codec.ordinal();
    readPages[reads] = pageIndex;
    readReplyTo[reads] = replyTo;
    reads++;
  }

  /** Free object {@code slot}. */
  public void free(int slot) {
    if (freeSlots == null) {
      freeSlots = new int[FIRST];
    } else if (frees == freeSlots.length) {
      freeSlots = Arrays.copyOf(freeSlots, frees * 2);
    }
    freeSlots[frees++] = slot;
  }

  /** Store {@code data} as a new object; {@code tag} and {@code generation} come back with its handle. */
  public void alloc(byte[] data, int tag, long generation) {
    if (allocData == null) {
      allocData = new byte[FIRST][];
      allocTags = new int[FIRST];
      allocGenerations = new long[FIRST];
    } else if (allocs == allocData.length) {
      int n = allocs * 2;
      allocData = Arrays.copyOf(allocData, n);
      allocTags = Arrays.copyOf(allocTags, n);
      allocGenerations = Arrays.copyOf(allocGenerations, n);
    }
    allocData[allocs] = data;
    allocTags[allocs] = tag;
    allocGenerations[allocs] = generation;
    allocs++;
  }

  public boolean isEmpty() {
    return reads == 0 && frees == 0 && allocs == 0;
  }

  /** Reads, frees and allocations asked for, for tests and logs. */
  public int reads() {
    return reads;
  }

  public int frees() {
    return frees;
  }

  public int allocs() {
    return allocs;
  }

  /** The codec that wrote the object of read {@code i}. */
  CodecKind readCodec(int i) {
    return CodecKind.values()[readCodecs[i]];
  }

  /** The page index of read {@code i}. */
  public long readPage(int i) {
    return readPages[i];
  }

  /** The stored length of allocation {@code i}. */
  public int allocLength(int i) {
    return allocData[i].length;
  }

  /** The tag of allocation {@code i}. */
  public int allocTag(int i) {
    return allocTags[i];
  }

  @Override
  public String toString() {
    return "ClassWork(" + reads + " reads, " + frees + " frees, " + allocs + " allocs)";
  }
}
