/*
 * Seeded 4 KiB pages of known compressibility for the codec tests. One seed per test run comes
 * from -Dzswapd.test.seed or the clock; every assertion message quotes it, so a failure on some
 * unlucky page can be replayed exactly with that property.
 *
 * The RUNS_* pages are built from 32-byte chunks that are either random bytes or a single byte
 * repeated, with the given share of repeated chunks: about 25/50/75% of the page is trivially
 * compressible and the rest is not, which brackets what real anonymous memory looks like.
 */
package io.zswapd.actors.codec;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

enum SamplePages {
  ZERO,
  SAME_FILLED,
  TEXT,
  RUNS_75,
  RUNS_50,
  RUNS_25,
  RANDOM;

  static final int PAGE = 4096;
  static final long RUN_SEED = Long.getLong("zswapd.test.seed", System.nanoTime());

  private static final String[] WORDS = {
    "the", "page", "swap", "zspage", "object", "handle", "compress", "arena", "class", "free",
    "memory", "akka", "actor", "behavior", "message", "reply", "size", "fault", "kernel", "of",
    "and", "to", "in", "is", "that", "for", "with", "on", "as", "a", "it", "be", "by", "at"
  };

  /** This page kind generated from the run seed. */
  byte[] generate() {
    return generate(RUN_SEED + ordinal());
  }

  byte[] generate(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] page = new byte[PAGE];
    switch (this) {
      case ZERO -> { }
      case SAME_FILLED -> SameFilledPage.fill(random.nextLong() | 1L, page, 0, PAGE);
      case TEXT -> fillText(page, random);
      case RUNS_75 -> fillRuns(page, random, 0.75);
      case RUNS_50 -> fillRuns(page, random, 0.50);
      case RUNS_25 -> fillRuns(page, random, 0.25);
      case RANDOM -> random.nextBytes(page);
    }
    return page;
  }

  /** The message suffix that lets a failure be replayed. */
  static String replay() {
    return "(run seed " + RUN_SEED + ", rerun with -Dzswapd.test.seed=" + RUN_SEED + ")";
  }

  private static void fillRuns(byte[] page, SplittableRandom random, double repeatedShare) {
    byte[] chunk = new byte[32];
    for (int i = 0; i < PAGE; i += chunk.length) {
      if (random.nextDouble() < repeatedShare) {
        Arrays.fill(page, i, i + chunk.length, (byte) random.nextInt(256));
      } else {
        random.nextBytes(chunk);
        System.arraycopy(chunk, 0, page, i, chunk.length);
      }
    }
  }

  private static void fillText(byte[] page, SplittableRandom random) {
    StringBuilder text = new StringBuilder(PAGE + 16);
    while (text.length() < PAGE) {
      text.append(WORDS[random.nextInt(WORDS.length)]);
      text.append(random.nextInt(12) == 0 ? ".\n" : " ");
    }
    byte[] bytes = text.toString().getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(bytes, 0, page, 0, PAGE);
  }
}
