package io.zswapd.testkit.fuzz;

import io.zswapd.protocol.nbd.ClientHandshake;
import io.zswapd.protocol.nbd.ExportDetails;
import io.zswapd.protocol.nbd.Nbd;
import io.zswapd.protocol.nbd.OptionReply;
import io.zswapd.protocol.nbd.ServerHandshake;
import io.zswapd.testkit.nbd.ExportModel;
import io.zswapd.testkit.nbd.NbdClient;
import io.zswapd.testkit.nbd.Negotiation;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The handshake, fuzzed: valid option sequences whose every answer is checked, and the bad
 * input the spec tells a server to refuse or to close on.
 *
 * <pre>
 *   valid options       LIST, INFO (random info requests, unknown ones too), INFO/GO for an unknown
 *                       export (ERR_UNKNOWN), STRUCTURED_REPLY and other unsupported options
 *                       (an error reply: the client goes on with simple replies), unknown option
 *                       numbers (ERR_UNSUP), malformed INFO/GO/LIST data (ERR_INVALID)
 *   endings             GO or EXPORT_NAME (a session follows), ABORT (ACK, then close), an
 *                       abrupt close between options or inside one
 *   must close          unknown client flag, bad option magic, an option declaring an absurd
 *                       length, EXPORT_NAME the server cannot satisfy
 * </pre>
 */
final class Handshakes {
  /** A connection in transmission and the largest payload it may send. */
  record Attached(NbdClient nbd, int maxPayload) {}

  private final FuzzClient c;
  private final SplittableRandom rnd;

  Handshakes(FuzzClient c) {
    this.c = c;
    this.rnd = c.rnd;
  }

  /**
   * A valid handshake to {@code export}: a few options first (each answer checked), then GO or,
   * now and then and always for a client without FIXED_NEWSTYLE, EXPORT_NAME.
   */
  Attached attach(SocketAddress address, ExportFacts export, Duration timeout) throws IOException, Violation {
    boolean fixed = rnd.nextInt(10) != 0;
    boolean noZeroes = rnd.nextBoolean();
    int flags = (fixed ? Nbd.FLAG_C_FIXED_NEWSTYLE : 0) | (noZeroes ? Nbd.FLAG_C_NO_ZEROES : 0);
    Negotiation n = Negotiation.openWithClientFlags(address, flags, timeout);
    try {
      checkGreeting(n);
      for (int i = fixed ? rnd.nextInt(4) : 0; i > 0; i--) {
        validOption(n, export);
      }
      NbdClient nbd;
      if (!fixed || rnd.nextInt(4) == 0) {
        step("option:EXPORT_NAME", export.name() + (noZeroes ? "" : ", with the 124 zeroes"));
        nbd = n.exportName(export.name());
      } else {
        int[] requests = infoRequests();
        step("option:GO", export.name() + " requests " + Arrays.toString(requests));
        nbd = n.go(export.name(), requests);
        checkBlockSize(nbd.export(), export, "NBD_OPT_GO");
      }
      checkDetails(nbd.export(), export, fixed ? "the attach" : "NBD_OPT_EXPORT_NAME");
      return new Attached(nbd, export.maxPayload());
    } catch (IOException | Violation | RuntimeException e) {
      n.close();
      throw e;
    }
  }

  /** One handshake that ends before transmission, or breaks a rule the server must answer by closing. */
  void episode() {
    SocketAddress address = c.address();
    Duration timeout = c.settings.replyTimeout();
    int kind = rnd.nextInt(100);
    try {
      if (kind < 8) {
        raw(address);
        return;
      }
      if (kind < 16) {
        int flags = Nbd.FLAG_C_FIXED_NEWSTYLE | (1 << (2 + rnd.nextInt(30)));
        step("handshake:unknown-client-flag", String.format("client flags 0x%08x", flags));
        try (Negotiation n = Negotiation.openWithClientFlags(address, flags, timeout)) {
          expectClose(n, String.format("client flags 0x%08x", flags));
        }
        return;
      }
      try (Negotiation n = Negotiation.open(address, true, timeout)) {
        checkGreeting(n);
        for (int i = rnd.nextInt(3); i > 0; i--) {
          validOption(n, c.main);
        }
        if (kind < 36) {
          step("option:ABORT", "");
          n.sendRaw(ClientHandshake.abort());
          try {
            OptionReply r = n.readOptionReply();
            if (r.option() != Nbd.OPT_ABORT || r.type() != Nbd.REP_ACK) {
              throw new Violation("NBD_OPT_ABORT answered " + r + ", not NBD_REP_ACK");
            }
          } catch (EOFException closedWithoutReply) {
            return; // the spec lets the server close without a reply
          }
          expectClose(n, "NBD_OPT_ABORT");
        } else if (kind < 50) {
          step("handshake:vanish", "between options");
          n.vanish();
        } else if (kind < 64) {
          byte[] frame = anyFrame();
          int cut = 1 + rnd.nextInt(frame.length - 1);
          step("handshake:truncated-option", "the first " + cut + " of " + frame.length + " bytes, then close");
          n.sendRaw(Arrays.copyOf(frame, cut));
          if (rnd.nextBoolean()) {
            n.vanish();
          }
        } else if (kind < 74) {
          byte[] frame = anyFrame();
          frame[rnd.nextInt(8)] ^= (byte) (1 + rnd.nextInt(255));
          step("handshake:bad-option-magic", "");
          n.sendRaw(frame);
          expectClose(n, "an option with a bad magic");
        } else if (kind < 86) {
          long length = rnd.nextBoolean() ? 0xFFFFFFFFL
              : ServerHandshake.MAX_OPTION_DATA + 1 + rnd.nextLong(0xFFFFFFFFL - ServerHandshake.MAX_OPTION_DATA);
          int option = rnd.nextBoolean() ? Nbd.OPT_GO : rnd.nextInt(1 << 16);
          step("handshake:absurd-option-length", Nbd.optionName(option) + " declaring " + length + " bytes");
          n.sendRaw(ClientHandshake.optionHeader(option, length));
          expectClose(n, Nbd.optionName(option) + " declaring " + length + " bytes of data");
        } else {
          byte[] name = badExportName();
          step("handshake:bad-export-name", "NBD_OPT_EXPORT_NAME of " + name.length + " bytes");
          n.sendRaw(ClientHandshake.option(Nbd.OPT_EXPORT_NAME, name));
          expectClose(n, "NBD_OPT_EXPORT_NAME that names no export (" + name.length + " bytes)");
        }
      }
    } catch (Violation v) {
      c.fail(v.getMessage());
    } catch (IOException e) {
      c.fail("a handshake episode failed: " + e);
    }
  }

  /** Connects and closes at once, or after part of the client flags: the close at the earliest points. */
  private void raw(SocketAddress address) throws IOException {
    int bytes = rnd.nextInt(4);
    step("handshake:close-early", bytes == 0 ? "at once" : "after " + bytes + " bytes of client flags");
    try (SocketChannel ch = SocketChannel.open(address)) {
      if (bytes > 0) {
        ch.write(ByteBuffer.wrap(ClientHandshake.clientFlags(Nbd.FLAG_C_FIXED_NEWSTYLE), 0, bytes));
      }
    }
  }

  /** One option a good client may send before GO, and the check of its answer. */
  void validOption(Negotiation n, ExportFacts export) throws IOException, Violation {
    switch (rnd.nextInt(8)) {
      case 0 -> {
        step("option:LIST", "");
        List<OptionReply> replies = n.optionRaw(Nbd.OPT_LIST, new byte[0]);
        checkEchoes(replies, Nbd.OPT_LIST);
        if (last(replies).type() != Nbd.REP_ACK || !ClientHandshake.parseListReplies(replies).contains(export.name())) {
          throw new Violation("NBD_OPT_LIST answered " + replies + ", without ACK or without '" + export.name() + "'");
        }
      }
      case 1 -> {
        int[] requests = infoRequests();
        step("option:INFO", export.name() + " requests " + Arrays.toString(requests));
        List<OptionReply> replies = n.optionRaw(Nbd.OPT_INFO, ClientHandshake.infoData(export.name(), requests));
        checkEchoes(replies, Nbd.OPT_INFO);
        if (last(replies).type() != Nbd.REP_ACK) {
          throw new Violation("NBD_OPT_INFO for '" + export.name() + "' answered " + replies);
        }
        ExportDetails d = ClientHandshake.parseInfoReplies(replies);
        checkDetails(d, export, "NBD_OPT_INFO");
        checkBlockSize(d, export, "NBD_OPT_INFO");
      }
      case 2 -> {
        int option = rnd.nextBoolean() ? Nbd.OPT_INFO : Nbd.OPT_GO;
        String name = "no-such-export-" + rnd.nextInt(1000);
        step("option:" + Nbd.optionName(option).substring(8) + "-unknown-export", name);
        expectError(n.optionRaw(option, ClientHandshake.infoData(name, infoRequests())), option,
            Nbd.REP_ERR_UNKNOWN);
      }
      case 3 -> {
        step("option:STRUCTURED_REPLY", "refused: the session goes on with simple replies");
        expectError(n.optionRaw(Nbd.OPT_STRUCTURED_REPLY, new byte[0]), Nbd.OPT_STRUCTURED_REPLY,
            Nbd.REP_ERR_UNSUP);
      }
      case 4 -> {
        int[] unsupported = {Nbd.OPT_STARTTLS, Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT,
            Nbd.OPT_EXTENDED_HEADERS, Nbd.OPT_PEEK_EXPORT};
        int option = unsupported[rnd.nextInt(unsupported.length)];
        step("option:unsupported", Nbd.optionName(option));
        expectError(n.optionRaw(option, new byte[0]), option, Nbd.REP_ERR_UNSUP, Nbd.REP_ERR_POLICY);
      }
      case 5 -> {
        int option = 12 + rnd.nextInt(Integer.MAX_VALUE - 12);
        byte[] data = c.data(rnd.nextInt(2048));
        step("option:unknown", Nbd.optionName(option) + " with " + data.length + " bytes");
        expectError(n.optionRaw(option, data), option, Nbd.REP_ERR_UNSUP);
      }
      case 6 -> {
        int option = rnd.nextBoolean() ? Nbd.OPT_INFO : Nbd.OPT_GO;
        byte[] data = malformedInfo(export.name());
        step("option:" + Nbd.optionName(option).substring(8) + "-malformed", data.length + " bytes of data");
        expectError(n.optionRaw(option, data), option, Nbd.REP_ERR_INVALID);
      }
      default -> {
        byte[] data = c.data(1 + rnd.nextInt(64));
        step("option:LIST-with-data", data.length + " bytes");
        expectError(n.optionRaw(Nbd.OPT_LIST, data), Nbd.OPT_LIST, Nbd.REP_ERR_INVALID);
      }
    }
  }

  /** Random information requests, known and unknown (which the server must ignore). */
  private int[] infoRequests() {
    int[] r = new int[rnd.nextInt(5)];
    for (int i = 0; i < r.length; i++) {
      r[i] = rnd.nextInt(6) == 0 ? 4 + rnd.nextInt(0xfffc) : rnd.nextInt(4);
    }
    return r;
  }

  /** INFO/GO data that is wrong in one way: too short, a name longer than the data, a wrong request count. */
  private byte[] malformedInfo(String name) {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    return switch (rnd.nextInt(3)) {
      case 0 -> c.data(rnd.nextInt(6));
      case 1 -> ByteBuffer.allocate(4 + n.length + 2).putInt(n.length + 3 + rnd.nextInt(1000)).put(n)
          .putShort((short) 0).array();
      default -> {
        int count = 1 + rnd.nextInt(5);
        int sent = rnd.nextBoolean() ? count - 1 : count + 1;
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * sent).putInt(n.length).put(n)
            .putShort((short) count);
        for (int i = 0; i < sent; i++) {
          b.putShort((short) Nbd.INFO_NAME);
        }
        yield b.array();
      }
    };
  }

  /** An export name NBD_OPT_EXPORT_NAME cannot satisfy: unknown, over 4096 bytes, not UTF-8, or with a NUL. */
  private byte[] badExportName() {
    return switch (rnd.nextInt(4)) {
      case 0 -> ("no-such-export-" + rnd.nextInt(1000)).getBytes(StandardCharsets.UTF_8);
      case 1 -> ExportModel.filled(Nbd.MAX_STRING_BYTES + 1 + rnd.nextInt(4000), 'x');
      case 2 -> new byte[] {'s', 'w', (byte) 0xC3, (byte) 0x28};
      default -> (c.main.name() + "\0").getBytes(StandardCharsets.UTF_8);
    };
  }

  /** A whole option frame of some kind, to cut short or corrupt. */
  private byte[] anyFrame() {
    return switch (rnd.nextInt(5)) {
      case 0 -> ClientHandshake.list();
      case 1 -> ClientHandshake.info(c.main.name(), infoRequests());
      case 2 -> ClientHandshake.go(c.main.name(), infoRequests());
      case 3 -> ClientHandshake.exportName(c.main.name());
      default -> ClientHandshake.option(12 + rnd.nextInt(1000), c.data(1 + rnd.nextInt(100)));
    };
  }

  private void expectClose(Negotiation n, String after) throws IOException, Violation {
    boolean closed;
    try {
      closed = n.awaitServerClose();
    } catch (SocketTimeoutException e) {
      throw new Violation("the server kept the connection open " + c.settings.replyTimeout().toSeconds()
          + " s after " + after + " (it must close it)");
    }
    if (!closed) {
      throw new Violation("the server sent data after " + after + " instead of closing the connection");
    }
    c.tally.event("handshake: closed by the server as it must");
  }

  private static void checkGreeting(Negotiation n) throws Violation {
    if ((n.handshakeFlags() & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
      throw new Violation(String.format("greeting flags 0x%04x lack FIXED_NEWSTYLE", n.handshakeFlags()));
    }
  }

  private static void checkDetails(ExportDetails d, ExportFacts export, String what) throws Violation {
    if (d.sizeBytes() != export.size() || d.transmissionFlags() != export.transmissionFlags()) {
      throw new Violation(String.format("%s for '%s' says size %d, flags 0x%04x; the run began with size %d, "
          + "flags 0x%04x", what, export.name(), d.sizeBytes(), d.transmissionFlags(), export.size(),
          export.transmissionFlags()));
    }
  }

  private static void checkBlockSize(ExportDetails d, ExportFacts export, String what) throws Violation {
    if (d.blockSize().map(ExportDetails.BlockSize::maximum).orElse(-1) != export.maxPayload()) {
      throw new Violation(what + " for '" + export.name() + "' gave block sizes " + d.blockSize()
          + "; the run began with maximum " + export.maxPayload());
    }
  }

  private static void checkEchoes(List<OptionReply> replies, int option) throws Violation {
    for (OptionReply r : replies) {
      if (r.option() != option) {
        throw new Violation("a reply to " + Nbd.optionName(option) + " names " + Nbd.optionName(r.option()) + ": " + r);
      }
    }
  }

  private static void expectError(List<OptionReply> replies, int option, int... allowed) throws Violation {
    checkEchoes(replies, option);
    OptionReply r = last(replies);
    if (replies.size() != 1 || Arrays.stream(allowed).noneMatch(t -> t == r.type())) {
      throw new Violation(Nbd.optionName(option) + " answered " + replies + "; expected one "
          + String.join(" or ", Arrays.stream(allowed).mapToObj(Nbd::replyTypeName).toList()));
    }
  }

  private static OptionReply last(List<OptionReply> replies) {
    return replies.get(replies.size() - 1);
  }

  private void step(String kind, String detail) {
    c.tally.op(kind);
    c.trace(kind + (detail.isEmpty() ? "" : " " + detail));
  }
}
