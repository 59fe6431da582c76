/*
 * Where page codecs come from. create() validates the (kind, level) pair and builds a codec the
 * caller owns; forCurrentThread() is the engine's "per-CPU context": the kernel gives each CPU its
 * own compression context so compressing never takes a lock, and here each thread (an Akka
 * dispatcher thread, in practice) keeps its own codecs in a ThreadLocal.
 *
 * A thread usually needs one or two codecs (the configured compressor, maybe the previous one
 * while old objects drain), so they sit in a small array scanned linearly: a lookup compares two
 * ints per entry and allocates nothing, unlike a map keyed by a (kind, level) record.
 */
package io.zswapd.actors.codec;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;
import java.util.OptionalInt;

/** Factory for {@link PageCodec}s. */
public final class PageCodecs {

  static final int LZ4HC_MIN_LEVEL = 1;
  static final int LZ4HC_DEFAULT_LEVEL = 9;
  static final int LZ4HC_MAX_LEVEL = 17;

  private static final ThreadLocal<ThreadCodecs> THREAD = ThreadLocal.withInitial(ThreadCodecs::new);

  /**
   * What one thread keeps for compressing, behind one ThreadLocal: its codecs, and the two page
   * buffers {@link PageCompressor} copies the caller's page into and compresses into. One lookup
   * a page rather than three (a busy thread's ThreadLocal map makes each lookup probe past other
   * entries more often than not). Touched only by its thread.
   */
  static final class ThreadCodecs {
    /** The caller's page, copied once before anything reads it (stable pages). */
    final ByteBuffer input = ByteBuffer.allocate(AbstractPageCodec.PAGE_SIZE);
    /** Where a page is compressed before it is copied out at its length. */
    final byte[] scratch = new byte[AbstractPageCodec.PAGE_SIZE];
    private AbstractPageCodec[] codecs = new AbstractPageCodec[0];

    /** This thread's codec for (kind, level): see {@link #forCurrentThread}. */
    PageCodec codec(CodecKind kind, OptionalInt level) {
      int effective = effectiveLevel(kind, level);
      for (int i = 0; i < codecs.length; i++) {
        AbstractPageCodec codec = codecs[i];
        if (codec.kind() == kind && codec.level() == effective) {
          if (codec.isClosed()) {
            codec = create(kind, effective);
            codecs[i] = codec;
          }
          return codec;
        }
      }
      AbstractPageCodec codec = create(kind, effective);
      codecs = Arrays.copyOf(codecs, codecs.length + 1);
      codecs[codecs.length - 1] = codec;
      return codec;
    }
  }

  private PageCodecs() {}

  /**
   * A new codec owned by the caller, who must confine it to one thread at a time and close it.
   *
   * <pre>{@code
   * try (PageCodec zstd = PageCodecs.create(CodecKind.ZSTD, OptionalInt.of(1))) { ... }
   * }</pre>
   *
   * @param level empty for the default; LZ4 accepts only 0, LZ4HC 1..17 (default 9), ZSTD zstd's
   *     minimum (negative, faster) to 22 (default 3; 0 also means 3, as in zstd)
   * @throws IllegalArgumentException when the level is out of range for the kind
   */
  public static PageCodec create(CodecKind kind, OptionalInt level) {
    return create(kind, effectiveLevel(kind, level));
  }

  /**
   * The calling thread's codec for (kind, level), created on first use and kept for the life of
   * the thread; different pairs get different instances. If the caller closed it, the next call
   * creates a fresh one. Never pass the result to another thread.
   *
   * <pre>{@code
   * int n = PageCodecs.forCurrentThread(CodecKind.LZ4, OptionalInt.empty()).compress(page, out, max);
   * }</pre>
   */
  public static PageCodec forCurrentThread(CodecKind kind, OptionalInt level) {
    return THREAD.get().codec(kind, level);
  }

  /** The calling thread's codecs and page buffers, for {@link PageCompressor}. */
  static ThreadCodecs thread() {
    return THREAD.get();
  }

  /**
   * The calling thread's decoder for pages {@code kind} wrote: its codec at the default level
   * (the level changes how hard a codec compresses, not how its output decodes; LZ4HC output
   * decodes as LZ4).
   */
  public static PageCodec decoder(CodecKind kind) {
    return forCurrentThread(kind == CodecKind.LZ4HC ? CodecKind.LZ4 : kind, OptionalInt.empty());
  }

  /**
   * Decodes LZ4 and LZ4HC pages from arrays on any thread: lz4-java's safe decompressor keeps no
   * state, so one codec serves every thread here (only its array path is used, which touches
   * nothing but that decompressor). It spares each page the ThreadLocal lookup of {@link #decoder},
   * which on a busy dispatcher thread, whose map holds Akka's, Scala's and the JDK's thread
   * locals, often probes past other entries: 4-8% of the CPU of single-page loads
   * (docs/BENCHMARKS.md). Never closed.
   */
  private static final PageCodec LZ4_ARRAYS = Lz4PageCodec.fast();

  /**
   * {@code src[srcOff .. srcOff+srcLen)}, written by {@code kind}, decoded into exactly
   * {@code dst[dstOff .. dstOff+dstLen)}; throws {@link CorruptPageException} otherwise. LZ4 and
   * LZ4HC by one shared decoder, ZSTD by the calling thread's ({@link #decoder}).
   */
  public static void decompress(CodecKind kind, byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff,
      int dstLen) {
    PageCodec codec = kind == CodecKind.ZSTD ? decoder(kind) : LZ4_ARRAYS;
    codec.decompress(src, srcOff, srcLen, dst, dstOff, dstLen);
  }

  private static AbstractPageCodec create(CodecKind kind, int effectiveLevel) {
    return switch (kind) {
      case LZ4 -> Lz4PageCodec.fast();
      case LZ4HC -> Lz4PageCodec.high(effectiveLevel);
      case ZSTD -> new ZstdPageCodec(effectiveLevel);
    };
  }

  /** The level {@code level} comes to for {@code kind}: its default when empty; throws when out of range. */
  public static int effectiveLevel(CodecKind kind, OptionalInt level) {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(level, "level");
    return switch (kind) {
      case LZ4 -> {
        if (level.isPresent() && level.getAsInt() != 0) {
          throw new IllegalArgumentException(
              "lz4 has no compression levels (got " + level.getAsInt()
                  + "); use lz4hc for levels " + LZ4HC_MIN_LEVEL + ".." + LZ4HC_MAX_LEVEL);
        }
        yield 0;
      }
      case LZ4HC -> inRange(kind, level.orElse(LZ4HC_DEFAULT_LEVEL), LZ4HC_MIN_LEVEL, LZ4HC_MAX_LEVEL);
      case ZSTD -> {
        int zstd = inRange(kind, level.orElse(ZstdPageCodec.DEFAULT_LEVEL), ZstdPageCodec.MIN_LEVEL,
            ZstdPageCodec.MAX_LEVEL);
        yield zstd == 0 ? ZstdPageCodec.DEFAULT_LEVEL : zstd; // zstd itself reads 0 as "default"
      }
    };
  }

  private static int inRange(CodecKind kind, int level, int min, int max) {
    if (level < min || level > max) {
      throw new IllegalArgumentException(
          kind.name().toLowerCase(java.util.Locale.ROOT) + " level " + level + " is outside "
              + min + ".." + max);
    }
    return level;
  }
}
