package io.zswapd.bridge.channel;

import akka.stream.stage.AsyncCallback;
import java.io.IOException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread of a server (the NBD server, the admin endpoint) that waits for its socket
 * connections, Unix-domain and TCP alike, to become readable or writable: a small cousin of
 * Akka's {@code SelectionHandler}, which serves only TCP and UDP, not Java's Unix-domain
 * channels, and cannot adopt a channel accepted elsewhere.
 *
 * <p>Each connection's {@link ChannelStage} reads and writes its non-blocking channel
 * itself, on the thread that runs the stage. Only when a read finds nothing, or a write finds
 * the socket buffer full, does the stage hand this thread an {@link Interest}: "call
 * {@code ready} with {@code op} once {@code channel} is ready for it". Each interest fires once;
 * the stage asks again if it needs to.
 *
 * <p>Shared state, and why it is safe: stages never touch the {@link Selector} or a
 * {@link SelectionKey}. They add to a {@link ConcurrentLinkedQueue} and wake the selector; this
 * thread alone registers channels, changes interest sets and reads the keys' {@link Waiting}
 * attachments. On readiness it removes the op from the key's interest set (epoll is
 * level-triggered here: a readable channel left in the set would fire on every select until
 * the stage got round to reading it) and invokes the stage's {@link AsyncCallback}, which may be
 * called from any thread and runs the stage's handler on the stage's own.
 *
 * <p>Closing a channel cancels its key; the selector releases the descriptor on its next
 * select, so whoever closes a registered channel wakes it ({@link #close(SocketChannel)}).
 * When the selector stops, every channel it still watches or was asked to watch is closed and
 * its stage called back, so that the stage finds the channel closed and stops, rather than
 * waiting for a call that will never come.
 */
public final class ChannelSelector implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ChannelSelector.class);

  /** Call {@code ready} with {@code op} (OP_READ or OP_WRITE) once {@code channel} is ready for it. */
  record Interest(SocketChannel channel, int op, AsyncCallback<Integer> ready) {}

  /** A key's attachment: whom to call for each op in its interest set. Selector thread only. */
  private static final class Waiting {
    AsyncCallback<Integer> readable;
    AsyncCallback<Integer> writable;
  }

  private final Selector selector;
  private final ConcurrentLinkedQueue<Interest> requests = new ConcurrentLinkedQueue<>();
  private final Thread thread;
  private volatile boolean running = true;
  /** Set by the selector thread once it no longer takes requests; see {@link #await}. */
  private volatile boolean stopped;

  private ChannelSelector(Selector selector, String name) {
    this.selector = selector;
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(true);
  }

  public static ChannelSelector start(String name) throws IOException {
    ChannelSelector s = new ChannelSelector(Selector.open(), name);
    s.thread.start();
    return s;
  }

  /** Any thread: asks for one call of {@code interest.ready()} when its channel is ready. */
  void await(Interest interest) {
    requests.add(interest);
    if (stopped) {
      // The thread may have drained the queue before this add; whoever polls it first abandons it.
      abandonRequests();
    } else {
      selector.wakeup();
    }
  }

  /** Any thread: closes a channel and lets the selector release its descriptor now. */
  void close(SocketChannel channel) {
    boolean registered = channel.isRegistered();
    try {
      channel.close();
    } catch (IOException e) {
      LOG.debug("closing a socket channel: {}", e.toString());
    }
    if (registered) {
      selector.wakeup();
    }
  }

  /** Stops the thread; the channels it watches are closed and their stages called back. */
  @Override
  public void close() {
    running = false;
    selector.wakeup();
  }

  private void run() {
    try {
      while (running) {
        Interest r;
        while ((r = requests.poll()) != null) {
          register(r);
        }
        selector.select(this::ready);
      }
    } catch (IOException | ClosedSelectorException e) {
      LOG.error("socket selector failed; closing its connections: {}", e.toString());
    } finally {
      stopped = true;
      for (SelectionKey key : selector.keys()) {
        Waiting w = (Waiting) key.attachment();
        abandon((SocketChannel) key.channel(), SelectionKey.OP_READ, w.readable);
        abandon((SocketChannel) key.channel(), SelectionKey.OP_WRITE, w.writable);
      }
      abandonRequests();
      try {
        selector.close();
      } catch (IOException e) {
        LOG.debug("closing the socket selector: {}", e.toString());
      }
    }
  }

  private void register(Interest r) {
    SelectionKey key = r.channel().keyFor(selector);
    try {
      if (key == null) {
        key = r.channel().register(selector, r.op(), new Waiting());
      } else {
        key.interestOps(key.interestOps() | r.op());
      }
    } catch (ClosedChannelException | CancelledKeyException closed) {
      // the stage closed its channel after asking; it has stopped and wants no call
      return;
    }
    Waiting w = (Waiting) key.attachment();
    if (r.op() == SelectionKey.OP_READ) {
      w.readable = r.ready();
    } else {
      w.writable = r.ready();
    }
  }

  private void ready(SelectionKey key) {
    Waiting w = (Waiting) key.attachment();
    int fired;
    try {
      fired = key.readyOps() & key.interestOps();
      key.interestOps(key.interestOps() & ~fired);
    } catch (CancelledKeyException closed) {
      return;
    }
    if ((fired & SelectionKey.OP_READ) != 0) {
      AsyncCallback<Integer> cb = w.readable;
      w.readable = null;
      call(cb, SelectionKey.OP_READ);
    }
    if ((fired & SelectionKey.OP_WRITE) != 0) {
      AsyncCallback<Integer> cb = w.writable;
      w.writable = null;
      call(cb, SelectionKey.OP_WRITE);
    }
  }

  /** A stage that has stopped drops the call; nothing a stage does may stop this thread. */
  private static void call(AsyncCallback<Integer> ready, int op) {
    if (ready == null) {
      return;
    }
    try {
      ready.invoke(op);
    } catch (RuntimeException e) {
      LOG.warn("calling back a socket connection: {}", e.toString());
    }
  }

  private void abandonRequests() {
    Interest r;
    while ((r = requests.poll()) != null) {
      abandon(r.channel(), r.op(), r.ready());
    }
  }

  private static void abandon(SocketChannel channel, int op, AsyncCallback<Integer> ready) {
    try {
      channel.close();
    } catch (IOException e) {
      LOG.debug("closing a socket channel: {}", e.toString());
    }
    call(ready, op);
  }
}
