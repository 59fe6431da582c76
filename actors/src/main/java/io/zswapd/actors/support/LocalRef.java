package io.zswapd.actors.support;

import akka.actor.ActorPath;
import akka.actor.typed.ActorRef;

/**
 * A reply-to reference that is not an actor: {@code tell} runs {@link #receive} on the sender's
 * thread. The engine only ever {@code tell}s a reply-to, so nothing more is needed: it is never
 * watched, never sent system messages and never serialized.
 *
 * <p>Used outside the engine's actors only: the embedded API completes a future with it (no
 * actor per request), and an NBD connection hands each answer back to its stage with it.
 */
public abstract class LocalRef<T> implements ActorRef<T> {
  private static final long serialVersionUID = 1L;
  private static final ActorPath PATH = ActorPath.fromString("akka://zswapd/temp/local-reply");

  /** Handles one reply; runs on the thread that sent it. */
  protected abstract void receive(T message);

  /**
   * Whether {@link #receive} runs code of the caller's (completing a future runs its callbacks):
   * an engine actor then tells it from a task, never from its own thread. A reply-to that only
   * hands the reply on (to a stream stage's callback) says false, and is told at once.
   */
  public boolean runsCallerCode() {
    return true;
  }

  @Override
  public final void tell(T message) {
    receive(message);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <U extends T> ActorRef<U> narrow() {
    return (ActorRef<U>) this;
  }

  @Override
  @SuppressWarnings("unchecked")
  public <U> ActorRef<U> unsafeUpcast() {
    return (ActorRef<U>) this;
  }

  @Override
  public ActorPath path() {
    return PATH;
  }

  @Override
  public int compareTo(ActorRef<?> other) {
    return Integer.compare(System.identityHashCode(this), System.identityHashCode(other));
  }
}
