package io.zswapd.actors.tree;

import io.zswapd.actors.codec.CodecKind;
import io.zswapd.actors.codec.PageCodecs;
import io.zswapd.config.ExportSettings;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * An export's second codec (its {@code recompressor}): the codec, at its level, that stored
 * pages are compressed again with (zram's {@code recomp_algorithm}). It differs from the pool's
 * compressor, so a page's entry tells the two apart by codec alone.
 *
 * @param kind  the codec
 * @param level its effective level (0 for LZ4)
 */
public record Recompressor(CodecKind kind, int level) {

  /** The export's second codec, or empty when it has none. */
  public static Optional<Recompressor> of(ExportSettings export) {
    return export.recompressor().map(c -> {
      CodecKind kind = CodecKind.valueOf(c.name());
      return new Recompressor(kind, PageCodecs.effectiveLevel(kind, export.recompressionLevel()));
    });
  }

  /** As the stats print it: {@code zstd:12}. */
  public String describe() {
    String name = kind.name().toLowerCase(Locale.ROOT);
    return kind == CodecKind.LZ4 ? name : name + ":" + level;
  }

  OptionalInt levelOption() {
    return kind == CodecKind.LZ4 ? OptionalInt.empty() : OptionalInt.of(level);
  }
}
