/*
 * Thrown when stored compressed bytes cannot be turned back into the page they came from. It is
 * unchecked because the engine cannot recover the page in place: it reports the page as lost (the
 * way zram returns -EIO on a failed read) instead of handing back wrong memory. The message names
 * the codec and the lengths so a log line alone says which store and object size to look at.
 */
package io.zswapd.actors.codec;

/** Compressed data is malformed or does not decode to exactly the expected page length. */
public final class CorruptPageException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final CodecKind codec;
  private final int compressedLength;
  private final int expectedLength;

  CorruptPageException(
      CodecKind codec, int level, int compressedLength, int expectedLength, String reason,
      Throwable cause) {
    super(
        codec.name().toLowerCase(java.util.Locale.ROOT) + " (level " + level + ") could not decode "
            + compressedLength + " compressed bytes into exactly " + expectedLength + " bytes: "
            + reason,
        cause);
    this.codec = codec;
    this.compressedLength = compressedLength;
    this.expectedLength = expectedLength;
  }

  public CodecKind codec() {
    return codec;
  }

  public int compressedLength() {
    return compressedLength;
  }

  public int expectedLength() {
    return expectedLength;
  }
}
