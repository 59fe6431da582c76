package io.zswapd.protocol.engine;

/**
 * A page as the engine keeps it: compressed exactly once, then immutable.
 *
 * <p>The "stable pages" rule (DESIGN.md) lives in this type: whoever accepts a page from a
 * caller turns it into a {@code PageImage} before the caller gets control back, and every
 * later step (allocation, copy into the pool, writeback) works from these bytes only. The
 * allocation is sized from this one compression result, so a caller that rewrites its buffer
 * can never make the engine write past an allocation (the 2016 stable-pages seed).
 *
 * <p>The byte arrays inside are never mutated after construction; records cannot enforce
 * that, so nothing in the engine writes into them.
 */
public sealed interface PageImage {
  /** Bytes in one page: the unit of store, load and invalidate. */
  int PAGE_SIZE = 4096;

  /** Length the page occupies in the pool's accounting (zram's compr_data_size share). */
  int storedLength();

  /** A page made of one repeated 8-byte word (little-endian); stored in the entry, allocates nothing. */
  record SameFilled(long word) implements PageImage {
    @Override
    public int storedLength() {
      return 0;
    }
  }

  /** A page compressed below the huge threshold. */
  record Compressed(byte[] bytes) implements PageImage {
    public Compressed {
      if (bytes.length == 0 || bytes.length >= PAGE_SIZE) {
        throw new IllegalArgumentException(
            "compressed page length " + bytes.length + " must be in 1.." + (PAGE_SIZE - 1));
      }
    }

    @Override
    public int storedLength() {
      return bytes.length;
    }
  }

  /** A page that did not compress below the huge threshold: kept raw, one object per page. */
  record Raw(byte[] bytes) implements PageImage {
    public Raw {
      if (bytes.length != PAGE_SIZE) {
        throw new IllegalArgumentException("raw page must be " + PAGE_SIZE + " bytes, got " + bytes.length);
      }
    }

    @Override
    public int storedLength() {
      return PAGE_SIZE;
    }
  }
}
