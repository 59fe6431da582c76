package io.zswapd.testkit;

import java.util.SplittableRandom;

/**
 * Deterministic 4 KiB pages of known compressibility, for tests and benchmarks.
 *
 * <p>A page is a function of (seed, content id, kind) only, so a test can regenerate what it
 * wrote instead of keeping it, and a failure can be replayed from the printed seed.
 *
 * <ul>
 *   <li>{@link Kind#ZERO}: all zeros (same-filled, the commonest swapped page);</li>
 *   <li>{@link Kind#SAME_FILLED}: one random 8-byte word repeated;</li>
 *   <li>{@link Kind#C25}, {@link Kind#C50}, {@link Kind#C75}: that share of the page is runs of
 *       a repeated short pattern, the rest random bytes, in 64-byte blocks shuffled by the
 *       seed, so LZ4 saves about that share;</li>
 *   <li>{@link Kind#TEXT}: words from a small vocabulary, like heap dumps of strings;</li>
 *   <li>{@link Kind#RANDOM}: incompressible.</li>
 * </ul>
 */
public final class PageGenerator {
  public static final int PAGE_SIZE = 4096;

  public enum Kind { ZERO, SAME_FILLED, C25, C50, C75, TEXT, RANDOM }

  private static final String[] WORDS = {"swap", "page", "actor", "zspage", "handle", "class", "arena",
      "chunk", "tree", "shard", "entry", "compress", "memory", "kernel", "the", "of", "and", "a", "to"};

  private final long seed;

  public PageGenerator(long seed) {
    this.seed = seed;
  }

  public long seed() {
    return seed;
  }

  public byte[] page(long contentId, Kind kind) {
    byte[] p = new byte[PAGE_SIZE];
    fill(p, contentId, kind);
    return p;
  }

  /** Picks a kind from the content id: a realistic mix, a third of it zero or same-filled. */
  public Kind mixedKind(long contentId) {
    int r = (int) Math.floorMod(mix(seed * 31 + contentId), 100);
    if (r < 20) {
      return Kind.ZERO;
    } else if (r < 30) {
      return Kind.SAME_FILLED;
    } else if (r < 45) {
      return Kind.C25;
    } else if (r < 65) {
      return Kind.C50;
    } else if (r < 80) {
      return Kind.C75;
    } else if (r < 92) {
      return Kind.TEXT;
    }
    return Kind.RANDOM;
  }

  public void fill(byte[] p, long contentId, Kind kind) {
    SplittableRandom rnd = new SplittableRandom(mix(seed ^ (contentId * 0x9E3779B97F4A7C15L)));
    switch (kind) {
      case ZERO -> java.util.Arrays.fill(p, (byte) 0);
      case SAME_FILLED -> {
        long word = rnd.nextLong() | 1;
        for (int i = 0; i < PAGE_SIZE; i += 8) {
          for (int b = 0; b < 8; b++) {
            p[i + b] = (byte) (word >>> (8 * b));
          }
        }
      }
      case C25 -> blocks(p, rnd, 25);
      case C50 -> blocks(p, rnd, 50);
      case C75 -> blocks(p, rnd, 75);
      case TEXT -> {
        int i = 0;
        while (i < PAGE_SIZE) {
          String w = WORDS[rnd.nextInt(WORDS.length)];
          for (int c = 0; c < w.length() && i < PAGE_SIZE; c++) {
            p[i++] = (byte) w.charAt(c);
          }
          if (i < PAGE_SIZE) {
            p[i++] = (byte) (rnd.nextInt(10) == 0 ? '\n' : ' ');
          }
        }
      }
      case RANDOM -> rnd.nextBytes(p);
      default -> throw new IllegalArgumentException(kind.toString());
    }
  }

  /** 64 blocks of 64 bytes: {@code percent}% of them a repeated 4-byte pattern, the rest random. */
  private static void blocks(byte[] p, SplittableRandom rnd, int percent) {
    int blocks = PAGE_SIZE / 64;
    int repeated = blocks * percent / 100;
    byte[] pattern = new byte[4];
    rnd.nextBytes(pattern);
    boolean[] isRepeated = new boolean[blocks];
    for (int i = 0; i < repeated; i++) {
      isRepeated[i] = true;
    }
    for (int i = blocks - 1; i > 0; i--) { // shuffle
      int j = rnd.nextInt(i + 1);
      boolean t = isRepeated[i];
      isRepeated[i] = isRepeated[j];
      isRepeated[j] = t;
    }
    byte[] random = new byte[64];
    for (int b = 0; b < blocks; b++) {
      if (isRepeated[b]) {
        for (int i = 0; i < 64; i++) {
          p[b * 64 + i] = pattern[i & 3];
        }
      } else {
        rnd.nextBytes(random);
        System.arraycopy(random, 0, p, b * 64, 64);
      }
    }
  }

  /** A 64-bit hash of a page (FNV-1a over longs, then mixed): how the oracle names contents. */
  public static long hash(byte[] page) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i + 8 <= page.length; i += 8) {
      long v = 0;
      for (int b = 7; b >= 0; b--) {
        v = (v << 8) | (page[i + b] & 0xFF);
      }
      h = (h ^ v) * 0x100000001b3L;
    }
    return mix(h ^ page.length);
  }

  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  public static final long ZERO_HASH = hash(new byte[PAGE_SIZE]);
}
