package io.zswapd.bridge.admin;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CLI's side of the admin endpoint: a blocking {@link SocketChannel} (the CLI does nothing
 * else while it waits) that sends one request line and reads the answer to the end.
 *
 * <pre>{@code
 * AdminClient.Answer a = AdminClient.unix(Path.of("zswapd-admin.sock")).send(new AdminRequest.Stats(false));
 * if (a.ok()) a.lines().forEach(System.out::println); else System.err.println(a.error());
 * }</pre>
 */
public final class AdminClient {
  /** Longest answer read; the size-class table is about 30 KiB. */
  private static final int MAX_ANSWER = 4 << 20;

  private final SocketAddress address;

  private AdminClient(SocketAddress address) {
    this.address = address;
  }

  public static AdminClient unix(Path socket) {
    return new AdminClient(UnixDomainSocketAddress.of(socket));
  }

  public static AdminClient tcp(InetSocketAddress address) {
    return new AdminClient(address);
  }

  /** Where this client connects, as the user would name it. */
  public String endpoint() {
    return address instanceof UnixDomainSocketAddress u ? u.getPath().toString()
        : ((InetSocketAddress) address).getHostString() + ":" + ((InetSocketAddress) address).getPort();
  }

  /**
   * The daemon's answer: {@code lines} before the status line, and {@code error} (the text after
   * {@code error: }) or null when the status was {@code ok}.
   */
  public record Answer(List<String> lines, String error) {
    public boolean ok() {
      return error == null;
    }
  }

  /**
   * Sends {@code request} and reads the whole answer.
   *
   * @throws IOException the endpoint cannot be reached, or the answer ended without a status line
   */
  public Answer send(AdminRequest request) throws IOException {
    try (SocketChannel ch = address instanceof UnixDomainSocketAddress
        ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open()) {
      ch.connect(address);
      ByteBuffer out = ByteBuffer.wrap((request.line() + "\n").getBytes(StandardCharsets.UTF_8));
      while (out.hasRemaining()) {
        ch.write(out);
      }
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      ByteBuffer in = ByteBuffer.allocate(16 << 10);
      while (read(ch, in, answer.size()) >= 0) {
        in.flip();
        answer.write(in.array(), 0, in.limit());
        in.clear();
        if (answer.size() > MAX_ANSWER) {
          throw new IOException("the answer is longer than " + MAX_ANSWER + " bytes");
        }
      }
      return parse(answer.toString(StandardCharsets.UTF_8));
    }
  }

  /**
   * One read; a reset after some of the answer came counts as its end. The endpoint closes a
   * connection it refuses (too many open) without reading the request, and closing a socket
   * with unread bytes resets it after the answer has been sent.
   */
  private static int read(SocketChannel ch, ByteBuffer in, int answered) throws IOException {
    try {
      return ch.read(in);
    } catch (IOException e) {
      if (answered > 0) {
        return -1;
      }
      throw e;
    }
  }

  /** Splits an answer into its lines and its status line. */
  static Answer parse(String text) throws IOException {
    List<String> lines = new ArrayList<>(text.lines().toList());
    if (lines.isEmpty()) {
      throw new IOException("the daemon closed the connection without answering");
    }
    String status = lines.remove(lines.size() - 1);
    if (status.equals(AdminService.OK)) {
      return new Answer(List.copyOf(lines), null);
    }
    if (status.startsWith(AdminService.ERROR)) {
      return new Answer(List.copyOf(lines), status.substring(AdminService.ERROR.length()));
    }
    throw new IOException("the answer ended without a status line (last line: " + status + ")");
  }
}
