package io.zswapd.bridge.nbd;

import akka.util.ByteString;
import akka.util.ByteStringBuilder;
import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLEngineResult.Status;
import javax.net.ssl.SSLException;

/**
 * TLS on one NBD connection after {@code NBD_OPT_STARTTLS}: the server side of a JDK
 * {@link SSLEngine} over byte strings, owned by the connection stage and used only on its
 * thread. Bytes from the client go in through {@link #unwrap}, which returns the decrypted
 * bytes; bytes for the client go in through {@link #wrap}. Everything the engine has to send
 * (handshake messages, encrypted replies, alerts) collects in order in one outbound buffer,
 * taken with {@link #takeOutbound}.
 *
 * <p>The handshake's delegated tasks (certificate and key work, a few milliseconds) run inline:
 * a connection has nothing else to do until its handshake is done.
 */
final class TlsSession {
  private final SSLEngine engine;
  /** Encrypted bytes from the client not yet unwrapped (a partial record). */
  private ByteBuffer netIn = ByteBuffer.allocate(0);
  private final ByteStringBuilder outbound = new ByteStringBuilder();
  private ByteBuffer appScratch;
  private ByteBuffer netScratch;

  TlsSession(SSLEngine engine) throws SSLException {
    this.engine = engine;
    this.appScratch = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
    this.netScratch = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    engine.beginHandshake();
  }

  /** Whether the handshake has finished (application data can flow both ways). */
  boolean established() {
    HandshakeStatus s = engine.getHandshakeStatus();
    return s == HandshakeStatus.NOT_HANDSHAKING || s == HandshakeStatus.FINISHED;
  }

  /** Whether the client has sent close_notify, or the engine is closed. */
  boolean inboundDone() {
    return engine.isInboundDone();
  }

  /**
   * Takes encrypted bytes from the client; returns the application bytes they decrypt to
   * (possibly none). Handshake replies go to the outbound buffer. Throws on a bad record or a
   * failed handshake (an alert for the client is then in the outbound buffer).
   */
  ByteString unwrap(ByteString encrypted) throws SSLException {
    ByteBuffer in = append(netIn, encrypted);
    ByteStringBuilder plain = new ByteStringBuilder();
    boolean progress = true;
    while (progress) {
      progress = false;
      HandshakeStatus hs = engine.getHandshakeStatus();
      if (hs == HandshakeStatus.NEED_TASK) {
        runTasks();
        progress = true;
      } else if (hs == HandshakeStatus.NEED_WRAP) {
        wrapInto(ByteBuffer.allocate(0));
        progress = true;
      } else if (in.hasRemaining()) {
        appScratch.clear();
        SSLEngineResult r = engine.unwrap(in, appScratch);
        if (r.getStatus() == Status.BUFFER_OVERFLOW) {
          appScratch = ByteBuffer.allocate(appScratch.capacity() * 2);
          progress = true;
          continue;
        }
        if (r.bytesProduced() > 0) {
          plain.putBytes(copy(appScratch.flip()));
        }
        progress = r.getStatus() == Status.OK && (r.bytesConsumed() > 0 || r.bytesProduced() > 0)
            || r.getHandshakeStatus() == HandshakeStatus.NEED_TASK || r.getHandshakeStatus() == HandshakeStatus.NEED_WRAP;
        if (r.getStatus() == Status.CLOSED) {
          break;
        }
      }
    }
    netIn = in.hasRemaining() ? ByteBuffer.wrap(copy(in)) : ByteBuffer.allocate(0);
    return plain.result();
  }

  /** Encrypts application bytes for the client into the outbound buffer. */
  void wrap(ByteString plain) throws SSLException {
    for (ByteBuffer b : plain.getByteBuffers()) {
      ByteBuffer src = b.duplicate();
      while (src.hasRemaining()) {
        int before = src.remaining();
        wrapInto(src);
        if (src.remaining() == before && !engine.getHandshakeStatus().equals(HandshakeStatus.NEED_WRAP)) {
          // application data before the handshake finished: the protocol never sends any
          throw new SSLException("TLS cannot send data yet (" + engine.getHandshakeStatus() + ")");
        }
      }
    }
  }

  /** Starts a clean close: close_notify goes to the outbound buffer. */
  void close() {
    engine.closeOutbound();
    try {
      while (!engine.isOutboundDone()) {
        int before = outbound.length();
        wrapInto(ByteBuffer.allocate(0));
        if (outbound.length() == before) {
          break;
        }
      }
    } catch (SSLException e) {
      // the connection is going away; nothing more to say
    }
  }

  /** Everything to send to the client, in order; empties the buffer. */
  ByteString takeOutbound() {
    ByteString out = outbound.result();
    outbound.clear();
    return out;
  }

  /** A short description of the session for a log line: protocol, cipher, client certificate. */
  String describe() {
    var s = engine.getSession();
    String peer;
    try {
      peer = s.getPeerPrincipal().getName();
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      peer = "no client certificate";
    }
    return s.getProtocol() + " " + s.getCipherSuite() + ", " + peer;
  }

  private void wrapInto(ByteBuffer src) throws SSLException {
    while (true) {
      netScratch.clear();
      SSLEngineResult r = engine.wrap(src, netScratch);
      if (r.getStatus() == Status.BUFFER_OVERFLOW) {
        netScratch = ByteBuffer.allocate(netScratch.capacity() * 2);
        continue;
      }
      if (r.bytesProduced() > 0) {
        outbound.putBytes(copy(netScratch.flip()));
      }
      if (r.getHandshakeStatus() == HandshakeStatus.NEED_TASK) {
        runTasks();
      }
      return;
    }
  }

  private void runTasks() {
    Runnable task;
    while ((task = engine.getDelegatedTask()) != null) {
      task.run();
    }
  }

  private static ByteBuffer append(ByteBuffer pending, ByteString more) {
    if (!pending.hasRemaining()) {
      return ByteBuffer.wrap(more.toArray());
    }
    ByteBuffer all = ByteBuffer.allocate(pending.remaining() + more.size());
    all.put(pending).put(more.toByteBuffer()).flip();
    return all;
  }

  private static byte[] copy(ByteBuffer b) {
    byte[] bytes = new byte[b.remaining()];
    b.get(bytes);
    return bytes;
  }
}
