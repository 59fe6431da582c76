package io.zswapd.testkit.fuzz;

import io.zswapd.protocol.nbd.Nbd;
import java.util.SplittableRandom;

/**
 * What a {@link CheckedSession} sends, and the answers that are right for it.
 *
 * <pre>
 *   writable export   READ 34%, WRITE 34%, TRIM 7%, WRITE_ZEROES 7%, FLUSH 4%, one-fault requests 14%
 *   read-only export  READ 50% (must read zeros), WRITE/TRIM/WRITE_ZEROES 35% (EPERM), FLUSH 5%,
 *                     one-fault requests 10%
 * </pre>
 *
 * <p>Valid requests stay in the client's own region: page-aligned half the time, else at any
 * offset and length; lengths mostly up to a page or 64 KiB, now and then up to the limit (the
 * region for TRIM and WRITE_ZEROES). FUA on a fifth of them, NO_HOLE on half the WRITE_ZEROES.
 * A refused valid WRITE or WRITE_ZEROES is right only as ENOSPC (a full pool).
 */
final class RequestMix {
  private static final int PAGE = 4096;

  /**
   * A request as planned: {@code allowed} lists the right answers, {@code inModel} says its bytes
   * lie in the client's region and count for the model.
   */
  record Request(String label, int type, int flags, long offset, int length, byte[] payload, int[] allowed,
      boolean inModel) {
    boolean changesBytes() {
      return inModel && (type == Nbd.CMD_WRITE || type == Nbd.CMD_TRIM || type == Nbd.CMD_WRITE_ZEROES);
    }

    boolean conflictsWith(Request other) {
      return inModel && other.inModel && (changesBytes() || other.changesBytes())
          && offset < other.offset + other.length && other.offset < offset + length;
    }

    @Override
    public String toString() {
      return String.format("%s %s [%d, +%d) flags 0x%x", label, Nbd.commandName(type), offset,
          Integer.toUnsignedLong(length), flags);
    }
  }

  private final FuzzClient c;
  private final SplittableRandom rnd;
  private final ExportFacts export;

  RequestMix(FuzzClient c, ExportFacts export) {
    this.c = c;
    this.rnd = c.rnd;
    this.export = export;
  }

  /** The next request of a session on {@code export}. */
  Request next() {
    return export.readOnly() ? nextReadOnly() : nextWritable();
  }

  private Request nextWritable() {
    int r = rnd.nextInt(100);
    int dataLimit = Math.min(Math.min(c.settings.maxRequest(), export.maxPayload()), c.model.size());
    if (r < 34) {
      long[] at = range(dataLimit);
      return new Request("READ", Nbd.CMD_READ, fua(), at[0], (int) at[1], null, ok(), true);
    } else if (r < 68) {
      long[] at = range(dataLimit);
      return new Request("WRITE", Nbd.CMD_WRITE, fua(), at[0], (int) at[1], c.data((int) at[1]),
          new int[] {0, Nbd.ENOSPC}, true);
    } else if (r < 75) {
      long[] at = range(c.model.size());
      return new Request("TRIM", Nbd.CMD_TRIM, fua(), at[0], (int) at[1], null, ok(), true);
    } else if (r < 82) {
      long[] at = range(c.model.size());
      int flags = fua() | (rnd.nextBoolean() ? Nbd.CMD_FLAG_NO_HOLE : 0);
      return new Request("WRITE_ZEROES", Nbd.CMD_WRITE_ZEROES, flags, at[0], (int) at[1], null,
          new int[] {0, Nbd.ENOSPC}, true);
    } else if (r < 86) {
      return new Request("FLUSH", Nbd.CMD_FLUSH, fua(), 0, 0, null, ok(), false);
    }
    return invalid(true);
  }

  private Request nextReadOnly() {
    int r = rnd.nextInt(100);
    int limit = Math.min(c.settings.maxRequest(), export.maxPayload());
    long offset = rnd.nextLong(export.size() - limit);
    int length = 1 + rnd.nextInt(limit);
    int[] eperm = {Nbd.EPERM};
    if (r < 50) {
      return new Request("ro:READ", Nbd.CMD_READ, fua(), offset, length, null, ok(), false);
    } else if (r < 65) {
      return new Request("ro:WRITE", Nbd.CMD_WRITE, fua(), offset, length, c.data(length), eperm, false);
    } else if (r < 75) {
      return new Request("ro:TRIM", Nbd.CMD_TRIM, fua(), offset, length, null, eperm, false);
    } else if (r < 85) {
      return new Request("ro:WRITE_ZEROES", Nbd.CMD_WRITE_ZEROES, fua(), offset, length, null, eperm, false);
    } else if (r < 90) {
      return new Request("ro:FLUSH", Nbd.CMD_FLUSH, fua(), 0, 0, null, ok(), false);
    }
    return invalid(false);
  }

  /**
   * A request with exactly one fault, and the answer the spec gives it: EINVAL for an unknown
   * command or flag, a READ or TRIM past the end, and a READ or WRITE over the maximum payload
   * (EOVERFLOW allowed too); ENOSPC for a WRITE or WRITE_ZEROES past the end. Faults in bytes
   * the client owns must change nothing there, which later READs check.
   */
  private Request invalid(boolean writable) {
    long size = export.size();
    int[] einval = {Nbd.EINVAL};
    int[] tooBig = {Nbd.EINVAL, Nbd.EOVERFLOW};
    int kind = rnd.nextInt(writable ? 9 : 5);
    switch (kind) {
      case 0 -> {
        int[] unknown = {Nbd.CMD_CACHE, Nbd.CMD_BLOCK_STATUS, Nbd.CMD_RESIZE, 9 + rnd.nextInt(0xffff - 9)};
        int type = unknown[rnd.nextInt(unknown.length)];
        long[] at = writable ? range(PAGE * 4) : new long[] {0, PAGE};
        return new Request("invalid:unknown-command", type, fua(), at[0], (int) at[1], null, einval, false);
      }
      case 1 -> {
        int[] types = writable ? new int[] {Nbd.CMD_READ, Nbd.CMD_WRITE, Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES,
            Nbd.CMD_FLUSH} : new int[] {Nbd.CMD_READ, Nbd.CMD_FLUSH};
        int type = types[rnd.nextInt(types.length)];
        int allowedFlags = Nbd.CMD_FLAG_FUA | (type == Nbd.CMD_WRITE_ZEROES ? Nbd.CMD_FLAG_NO_HOLE : 0);
        int bad;
        do {
          bad = 1 << rnd.nextInt(16);
        } while ((bad & allowedFlags) != 0);
        long[] at = type == Nbd.CMD_FLUSH ? new long[] {0, 0} : writable ? range(PAGE * 4) : new long[] {0, PAGE};
        byte[] payload = type == Nbd.CMD_WRITE ? c.data((int) at[1]) : null;
        return new Request("invalid:bad-flags", type, fua() | bad, at[0], (int) at[1], payload, einval, false);
      }
      case 2 -> {
        return switch (rnd.nextInt(3)) {
          case 0 -> {
            int before = rnd.nextInt(PAGE);
            yield new Request("invalid:read-past-end", Nbd.CMD_READ, 0, size - before, before + 1 + rnd.nextInt(PAGE),
                null, einval, false);
          }
          case 1 -> new Request("invalid:read-past-end", Nbd.CMD_READ, 0, size + rnd.nextInt(1 << 20), 1 + rnd.nextInt(PAGE),
              null, einval, false);
          default -> new Request("invalid:read-offset-wraps", Nbd.CMD_READ, 0, -1L - rnd.nextInt(PAGE), 2 * PAGE, null,
              einval, false);
        };
      }
      case 3 -> {
        int length = rnd.nextInt(4) == 0 ? -1 : export.maxPayload() + 1 + rnd.nextInt(export.maxPayload());
        long offset = writable ? c.model.base() : 0;
        return new Request("invalid:read-too-long", Nbd.CMD_READ, 0, offset, length, null, tooBig, false);
      }
      case 4 -> {
        int before = rnd.nextInt(PAGE);
        return new Request("invalid:trim-past-end", Nbd.CMD_TRIM, 0, size - before, before + 1 + rnd.nextInt(PAGE),
            null, writable ? einval : new int[] {Nbd.EINVAL, Nbd.EPERM}, false);
      }
      case 5, 6 -> {
        int before = rnd.nextInt(PAGE);
        int length = before + 1 + rnd.nextInt(2 * PAGE);
        return new Request("invalid:write-past-end", Nbd.CMD_WRITE, fua(), size - before, length, c.data(length),
            new int[] {Nbd.ENOSPC}, false);
      }
      case 7 -> {
        int before = rnd.nextInt(PAGE);
        return new Request("invalid:write-zeroes-past-end", Nbd.CMD_WRITE_ZEROES, 0, size - before,
            before + 1 + rnd.nextInt(1 << 20), null, new int[] {Nbd.ENOSPC}, false);
      }
      default -> {
        if (rnd.nextInt(4) != 0) { // a payload over the maximum is costly to send: now and then
          return invalid(true);
        }
        int length = export.maxPayload() + 1 + rnd.nextInt(64 << 10);
        return new Request("invalid:write-too-long", Nbd.CMD_WRITE, 0, c.model.base(), length, c.data(length),
            tooBig, false);
      }
    }
  }

  /**
   * {offset, length} inside the client's region, length at most {@code limit}: page-aligned half
   * the time, else anywhere; lengths mostly small, sometimes up to the limit.
   */
  private long[] range(int limit) {
    long base = c.model.base();
    long end = c.model.end();
    int length = switch (rnd.nextInt(10)) {
      case 0, 1, 2, 3 -> 1 + rnd.nextInt(PAGE);
      case 4, 5, 6, 7 -> 1 + rnd.nextInt(64 << 10);
      default -> 1 + rnd.nextInt(limit);
    };
    length = Math.min(length, limit);
    long firstPage = ExportLayout.alignUp(base);
    long pages = (end / PAGE * PAGE - firstPage) / PAGE;
    if (rnd.nextBoolean() && pages > 0) {
      long n = Math.min(Math.max(1, length / PAGE), Math.min(pages, limit / PAGE));
      if (n > 0) {
        return new long[] {firstPage + PAGE * rnd.nextLong(pages - n + 1), n * PAGE};
      }
    }
    return new long[] {base + rnd.nextLong(end - base - length + 1), length};
  }

  private int fua() {
    return rnd.nextInt(5) == 0 ? Nbd.CMD_FLAG_FUA : 0;
  }

  private static int[] ok() {
    return new int[] {0};
  }
}
