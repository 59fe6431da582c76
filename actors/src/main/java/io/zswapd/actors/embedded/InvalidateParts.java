package io.zswapd.actors.embedded;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.support.LocalRef;
import io.zswapd.actors.tree.ExportRoute;
import io.zswapd.protocol.engine.InvalidateReply;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Where the parts of an invalidation split at tree-shard boundaries answer, for a sender that
 * is not an actor (the embedded API, an NBD connection): once every part has answered, the
 * caller gets one {@code Invalidated} with the pages freed, or the first part's failure. The
 * parts answer from their shards' threads, so the count is atomic; nothing else is shared.
 * ({@link ExportRoute.Gatherer})
 */
final class InvalidateParts extends LocalRef<InvalidateReply> {
  private static final long serialVersionUID = 1L;

  private final transient ActorRef<InvalidateReply> replyTo;
  private final AtomicInteger remaining;
  private final AtomicLong freed = new AtomicLong();
  private final AtomicReference<InvalidateReply.InvalidateFailed> failure = new AtomicReference<>();

  InvalidateParts(int parts, ActorRef<InvalidateReply> replyTo) {
    this.remaining = new AtomicInteger(parts);
    this.replyTo = replyTo;
  }

  @Override
  protected void receive(InvalidateReply reply) {
    if (reply instanceof InvalidateReply.Invalidated i) {
      freed.addAndGet(i.pagesFreed());
    } else {
      failure.compareAndSet(null, (InvalidateReply.InvalidateFailed) reply);
    }
    if (remaining.decrementAndGet() == 0) {
      InvalidateReply.InvalidateFailed failed = failure.get();
      replyTo.tell(failed != null ? failed : new InvalidateReply.Invalidated(freed.get()));
    }
  }

  /** Told from a task when its caller's reply-to runs a caller's code; at once otherwise. */
  @Override
  public boolean runsCallerCode() {
    return replyTo instanceof LocalRef<?> local && local.runsCallerCode();
  }
}
