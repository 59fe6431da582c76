package io.zswapd.actors.cluster;

import io.zswapd.actors.support.LocalRef;
import java.util.function.Consumer;

/**
 * A reply-to inside a memory node: hands a tree shard's reply on ({@code relay}: as a message
 * to the actor that asked, or nowhere), never running a caller's code, so the shard tells it at
 * once. Never leaves the node.
 */
final class Relay<T> extends LocalRef<T> {
  private static final long serialVersionUID = 1L;
  private final transient Consumer<T> relay;

  Relay(Consumer<T> relay) {
    this.relay = relay;
  }

  @Override
  protected void receive(T message) {
    relay.accept(message);
  }

  @Override
  public boolean runsCallerCode() {
    return false;
  }
}
