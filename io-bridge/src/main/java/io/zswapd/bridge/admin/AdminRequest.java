package io.zswapd.bridge.admin;

import io.zswapd.protocol.engine.RecompressMode;
import io.zswapd.protocol.engine.WritebackMode;
import java.util.List;
import java.util.Locale;

/**
 * One request to a running daemon's admin endpoint, as the CLI sends it and the daemon reads it:
 * a single line of words.
 *
 * <pre>
 * stats                      stats --classes            stats --shards
 * compact                    writeback idle|huge|all|lru
 * recompress idle|huge|all [--threshold BYTES]
 * set pool.max-size 512 MiB  reset-max
 * </pre>
 *
 * <p>{@link #parse} is used on both sides: the CLI refuses a malformed command before connecting,
 * and the daemon refuses one that did not come from the CLI. A {@link BadRequest} carries the
 * one line to show. Values of {@code set} are not checked here but by the daemon, with the
 * configuration's own rules ({@link io.zswapd.config.LiveSetting}).
 */
public sealed interface AdminRequest {

  /** The request as one line, without the newline. */
  String line();

  /** Every counter, per export ({@link View#FIGURES}), the size classes, or the remote shards. */
  record Stats(View view) implements AdminRequest {
    /** What {@code stats} prints. */
    public enum View {
      /** Every counter, per export: zram's {@code mm_stat}, {@code io_stat}, {@code bd_stat}. */
      FIGURES(),
      /** The size classes, as zsmalloc's debugfs {@code classes}. */
      CLASSES("--classes"),
      /** One row per remote shard of the exports placed on the cluster. */
      SHARDS("--shards");

      /** The words after {@code stats} that ask for this view. */
      final List<String> options;

      View(String... options) {
        this.options = List.of(options);
      }
    }

    @Override
    public String line() {
      return view.options.isEmpty() ? "stats" : "stats " + String.join(" ", view.options);
    }
  }

  /** Compact every size class now (zram's {@code compact}). */
  record Compact() implements AdminRequest {
    @Override
    public String line() {
      return "compact";
    }
  }

  /** Write pages back to the backing files now (zram's {@code writeback}). */
  record Writeback(WritebackMode mode) implements AdminRequest {
    @Override
    public String line() {
      return "writeback " + mode.name().toLowerCase(Locale.ROOT);
    }
  }

  /** Recompress pages now with the exports' second codecs (zram's {@code recompress}). */
  record Recompress(RecompressMode mode, int threshold) implements AdminRequest {
    @Override
    public String line() {
      return "recompress " + mode.name().toLowerCase(Locale.ROOT) + (threshold == 0 ? "" : " --threshold " + threshold);
    }
  }

  /** Change a live setting; {@code value} is the rest of the line, as typed. */
  record Set(String key, String value) implements AdminRequest {
    @Override
    public String line() {
      return "set " + key + " " + value;
    }
  }

  /** Start {@code mem_used_max} again from {@code mem_used_total}. */
  record ResetMax() implements AdminRequest {
    @Override
    public String line() {
      return "reset-max";
    }
  }

  /** A command that is not one of the above, or has the wrong arguments: the message is the line to show. */
  final class BadRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BadRequest(String message) {
      super(message);
    }
  }

  /** The commands, for usage text and error messages. */
  List<String> COMMANDS = List.of("stats", "compact", "writeback", "recompress", "set", "reset-max");

  /** Parses a request line (words separated by blanks). */
  static AdminRequest parse(String line) {
    String trimmed = line.strip();
    return parse(trimmed.isEmpty() ? List.of() : List.of(trimmed.split("\\s+")));
  }

  /** Parses a request given as words: the command, then its arguments. */
  static AdminRequest parse(List<String> words) {
    if (words.isEmpty()) {
      throw new BadRequest("empty request; commands: " + String.join(", ", COMMANDS));
    }
    String command = words.get(0);
    List<String> args = words.subList(1, words.size());
    return switch (command) {
      case "stats" -> {
        for (Stats.View v : Stats.View.values()) {
          if (args.equals(v.options)) {
            yield new Stats(v);
          }
        }
        throw new BadRequest("stats takes --classes or --shards, not '" + String.join(" ", args) + "'");
      }
      case "compact" -> noArguments(command, args, new Compact());
      case "reset-max" -> noArguments(command, args, new ResetMax());
      case "writeback" -> new Writeback(writebackMode(args));
      case "recompress" -> recompress(args);
      case "set" -> {
        if (args.size() < 2) {
          throw new BadRequest("set needs a key and a value, e.g. 'set pool.max-size 512MiB'");
        }
        yield new Set(args.get(0), String.join(" ", args.subList(1, args.size())));
      }
      default -> throw new BadRequest("unknown command '" + command + "'; commands: " + String.join(", ", COMMANDS));
    };
  }

  private static AdminRequest noArguments(String command, List<String> args, AdminRequest request) {
    if (!args.isEmpty()) {
      throw new BadRequest(command + " takes no arguments, not '" + String.join(" ", args) + "'");
    }
    return request;
  }

  private static Recompress recompress(List<String> args) {
    String usage = "recompress needs one mode, idle, huge or all, and optionally --threshold BYTES (0..4096)";
    if (args.size() != 1 && args.size() != 3) {
      throw new BadRequest(usage);
    }
    RecompressMode mode = switch (args.get(0)) {
      case "idle" -> RecompressMode.IDLE;
      case "huge" -> RecompressMode.HUGE;
      case "all" -> RecompressMode.ALL;
      default -> throw new BadRequest("recompress mode '" + args.get(0) + "' is not one of idle, huge or all");
    };
    int threshold = 0;
    if (args.size() == 3) {
      if (!args.get(1).equals("--threshold")) {
        throw new BadRequest(usage + ", not '" + args.get(1) + "'");
      }
      try {
        threshold = Integer.parseInt(args.get(2));
      } catch (NumberFormatException e) {
        threshold = -1;
      }
      if (threshold < 0 || threshold > 4096) {
        throw new BadRequest("recompress --threshold '" + args.get(2) + "' is not a byte count from 0 to 4096");
      }
    }
    return new Recompress(mode, threshold);
  }

  private static WritebackMode writebackMode(List<String> args) {
    String allowed = "idle, huge, all or lru";
    if (args.size() != 1) {
      throw new BadRequest("writeback needs one mode: " + allowed);
    }
    return switch (args.get(0)) {
      case "idle" -> WritebackMode.IDLE;
      case "huge" -> WritebackMode.HUGE;
      case "all" -> WritebackMode.ALL;
      case "lru" -> WritebackMode.LRU;
      default -> throw new BadRequest("writeback mode '" + args.get(0) + "' is not one of " + allowed);
    };
  }
}
