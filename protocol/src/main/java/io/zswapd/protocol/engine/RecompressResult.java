package io.zswapd.protocol.engine;

/**
 * What a recompression achieved.
 *
 * @param recompressed pages now held by the export's second codec, in a smaller size class
 * @param kept         pages tried that did not shrink enough and keep their original object
 *                     (zram's rule); no later pass tries them again until they are rewritten
 * @param failed       pages that could not be recompressed: their stored bytes did not
 *                     decompress, or the pool had no room for the smaller copy; they keep their object
 * @param bytesSaved   stored bytes the recompressed pages take less than before
 */
public record RecompressResult(long recompressed, long kept, long failed, long bytesSaved) {
  public static final RecompressResult NONE = new RecompressResult(0, 0, 0, 0);

  public RecompressResult plus(RecompressResult o) {
    return new RecompressResult(recompressed + o.recompressed, kept + o.kept, failed + o.failed,
        bytesSaved + o.bytesSaved);
  }
}
