package io.zswapd.actors.pool;

/**
 * A size class's handle table: the location of the object each handle slot names,
 * {@code (zspage id << objBits) | object index}, or -1 for a free slot. Free slots are reused
 * first, so the table is as long as the most objects the class has held at once. Owned by one
 * {@link SizeClass} actor and used only from its thread.
 */
final class HandleTable {
  private final IntBlocks locations = new IntBlocks(-1, 10); // blocks of 1024
  private int nextSlot;
  private final IntStack freeSlots = new IntStack();

  /** The location slot {@code slot} holds, -1 when it is free. */
  int get(int slot) {
    return locations.get(slot);
  }

  void set(int slot, int location) {
    locations.set(slot, location);
  }

  /** A slot for a new object: a freed one if any, else one past every slot used so far. */
  int newSlot() {
    if (!freeSlots.isEmpty()) {
      return freeSlots.pop();
    }
    if (nextSlot == locations.capacity()) {
      locations.ensure(nextSlot + 1);
    }
    return nextSlot++;
  }

  /** Marks {@code slot} free, for a later {@link #newSlot} to reuse. */
  void free(int slot) {
    locations.set(slot, -1);
    freeSlots.push(slot);
  }

  /** One past the highest slot ever handed out: every slot in use lies below it. */
  int slotLimit() {
    return nextSlot;
  }
}
