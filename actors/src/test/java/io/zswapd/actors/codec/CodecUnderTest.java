/*
 * The codec configurations every codec test runs against: each kind at its default and at the
 * edges of its level range that users are likely to configure.
 */
package io.zswapd.actors.codec;

import java.util.List;
import java.util.OptionalInt;

record CodecUnderTest(CodecKind kind, OptionalInt level) {

  static List<CodecUnderTest> all() {
    return List.of(
        new CodecUnderTest(CodecKind.LZ4, OptionalInt.empty()),
        new CodecUnderTest(CodecKind.LZ4HC, OptionalInt.of(1)),
        new CodecUnderTest(CodecKind.LZ4HC, OptionalInt.of(9)),
        new CodecUnderTest(CodecKind.LZ4HC, OptionalInt.of(17)),
        new CodecUnderTest(CodecKind.ZSTD, OptionalInt.of(1)),
        new CodecUnderTest(CodecKind.ZSTD, OptionalInt.of(3)),
        new CodecUnderTest(CodecKind.ZSTD, OptionalInt.of(19)));
  }

  PageCodec create() {
    return PageCodecs.create(kind, level);
  }

  @Override
  public String toString() {
    return kind + (level.isPresent() ? "-" + level.getAsInt() : "");
  }
}
