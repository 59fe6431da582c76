package io.zswapd.actors.tree;

import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.PageImage;

/**
 * The answer to {@link TreeShard.LoadImages}: pages as the pool keeps them, not decompressed.
 * A memory node answers a front's loads with them (the front decompresses, so loaded pages
 * cross the network compressed), and a shard handed to another node travels as them.
 */
public sealed interface ImagesReply {
  long firstPage();

  /**
   * The images of pages {@code firstPage} .. {@code firstPage + images.length - 1}: a
   * {@link PageImage.Compressed} in the pool's codec, a {@link PageImage.Raw} page, a
   * {@link PageImage.SameFilled} word, or null for a page never written (or trimmed).
   */
  record Images(long firstPage, PageImage[] images) implements ImagesReply {}

  /** No images: the page {@code firstPage} names could not be read ({@code error}). */
  record ImagesFailed(long firstPage, EngineError error) implements ImagesReply {}
}
