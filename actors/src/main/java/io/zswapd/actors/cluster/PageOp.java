package io.zswapd.actors.cluster;

import akka.actor.typed.ActorRef;
import io.zswapd.protocol.engine.EngineCommand;
import io.zswapd.protocol.engine.EngineCommand.PageRequest;
import io.zswapd.protocol.engine.InvalidateReply;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.engine.StoreReply;

/**
 * A page request as it travels to a remote tree shard: the request without its export (the
 * entity id names it) and without its reply-to (the front keeps that, and matches the answer by
 * the op's id). Store images travel as the front compressed them.
 */
public sealed interface PageOp {

  record Store(long page, PageImage image) implements PageOp {}

  record Patch(long page, int offset, byte[] bytes) implements PageOp {}

  record Load(long page) implements PageOp {}

  record StoreRange(long firstPage, PageImage[] images) implements PageOp {}

  record LoadRange(long firstPage, int pageCount) implements PageOp {}

  record Invalidate(long page) implements PageOp {}

  record InvalidateRange(long firstPage, long pageCount) implements PageOp {}

  record InvalidateArea() implements PageOp {}

  /** The first page an op names (0 for {@link InvalidateArea}). */
  static long firstPage(PageOp op) {
    if (op instanceof Store s) {
      return s.page();
    } else if (op instanceof Patch p) {
      return p.page();
    } else if (op instanceof Load l) {
      return l.page();
    } else if (op instanceof StoreRange s) {
      return s.firstPage();
    } else if (op instanceof LoadRange l) {
      return l.firstPage();
    } else if (op instanceof Invalidate i) {
      return i.page();
    } else if (op instanceof InvalidateRange i) {
      return i.firstPage();
    }
    return 0;
  }

  /** The op of a request, as the front sends it. */
  public static PageOp of(PageRequest r) {
    if (r instanceof EngineCommand.Store s) {
      return new Store(s.pageIndex(), s.page());
    } else if (r instanceof EngineCommand.Patch p) {
      return new Patch(p.pageIndex(), p.offset(), p.bytes());
    } else if (r instanceof EngineCommand.Load l) {
      return new Load(l.pageIndex());
    } else if (r instanceof EngineCommand.StoreRange s) {
      return new StoreRange(s.firstPage(), s.pages());
    } else if (r instanceof EngineCommand.LoadRange l) {
      return new LoadRange(l.firstPage(), l.pageCount());
    } else if (r instanceof EngineCommand.Invalidate i) {
      return new Invalidate(i.pageIndex());
    } else if (r instanceof EngineCommand.InvalidateRange i) {
      return new InvalidateRange(i.firstPage(), i.pageCount());
    } else {
      return new InvalidateArea();
    }
  }

  /** A store or trim op's request again, on the memory node, answering to {@code replyTo}. */
  @SuppressWarnings("unchecked")
  public static PageRequest toRequest(PageOp op, String export, ActorRef<?> replyTo) {
    if (op instanceof Store s) {
      return new EngineCommand.Store(export, s.page(), s.image(), (ActorRef<StoreReply>) replyTo);
    } else if (op instanceof Patch p) {
      return new EngineCommand.Patch(export, p.page(), p.offset(), p.bytes(), (ActorRef<StoreReply>) replyTo);
    } else if (op instanceof StoreRange s) {
      return new EngineCommand.StoreRange(export, s.firstPage(), s.images(), (ActorRef<StoreReply>) replyTo);
    } else if (op instanceof Load || op instanceof LoadRange) {
      throw new IllegalArgumentException("a load reaches the memory node's tree shard as TreeShard.LoadImages");
    } else if (op instanceof Invalidate i) {
      return new EngineCommand.Invalidate(export, i.page(), (ActorRef<InvalidateReply>) replyTo);
    } else if (op instanceof InvalidateRange i) {
      return new EngineCommand.InvalidateRange(export, i.firstPage(), i.pageCount(),
          (ActorRef<InvalidateReply>) replyTo);
    } else {
      return new EngineCommand.InvalidateArea(export, (ActorRef<InvalidateReply>) replyTo);
    }
  }
}
