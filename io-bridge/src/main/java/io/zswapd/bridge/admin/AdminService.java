package io.zswapd.bridge.admin;

import io.zswapd.actors.ZswapGuardian;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.config.LiveSetting;
import io.zswapd.config.PoolSettings;
import io.zswapd.protocol.engine.WritebackResult;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers one admin request line with the engine's embedded API: the text lines of the answer,
 * then a status line, {@code ok} or {@code error: <one line>}. Every refusal (a malformed
 * request, a bad value, writeback without a backing file) is decided before anything changes.
 *
 * <pre>{@code
 * new AdminService(zswapd).answer("set pool.max-size 512MiB")
 *     .thenAccept(text -> System.out.print(text));
 * // pool.max-size = 536870912 B (512.0 MiB); limit in force 536870912 B, accept below ...
 * // ok
 * }</pre>
 */
public final class AdminService {
  private static final Logger LOG = LoggerFactory.getLogger(AdminService.class);

  /** The last line of a successful answer. */
  public static final String OK = "ok";
  /** The prefix of the last line of a refused request. */
  public static final String ERROR = "error: ";

  private final Zswapd zswapd;

  public AdminService(Zswapd zswapd) {
    this.zswapd = zswapd;
  }

  /** The whole answer to {@code line}: lines ending in {@code \n}, the last one the status. */
  public CompletionStage<String> answer(String line) {
    AdminRequest request;
    try {
      request = AdminRequest.parse(line);
    } catch (AdminRequest.BadRequest e) {
      return CompletableFuture.completedStage(ERROR + e.getMessage() + "\n");
    }
    CompletionStage<List<String>> lines;
    try {
      lines = execute(request);
    } catch (RuntimeException e) {
      lines = CompletableFuture.failedStage(e);
    }
    return lines.handle((text, failure) -> {
      if (failure != null) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause() : failure;
        LOG.info("admin request '{}' refused: {}", request.line(), cause.getMessage());
        return ERROR + oneLine(cause.getMessage()) + "\n";
      }
      StringBuilder b = new StringBuilder();
      text.forEach(l -> b.append(l).append('\n'));
      return b.append(OK).append('\n').toString();
    });
  }

  private CompletionStage<List<String>> execute(AdminRequest request) {
    if (request instanceof AdminRequest.Stats s) {
      return zswapd.stats().thenApply(stats -> switch (s.view()) {
        case FIGURES -> StatsReport.figures(stats);
        case CLASSES -> StatsReport.classes(stats);
        case SHARDS -> StatsReport.shards(stats);
      });
    }
    if (request instanceof AdminRequest.Compact) {
      return zswapd.compact().thenApply(r -> List.of(String.format(Locale.ROOT,
          "compacted: %d pages freed, %d objects moved", r.pagesFreed(), r.objectsMoved())));
    }
    if (request instanceof AdminRequest.Writeback w) {
      if (!hasBackingFile()) {
        return CompletableFuture.failedStage(new IllegalStateException(
            "writeback needs an export with a backing-file; none is configured"));
      }
      return zswapd.writeback(w.mode()).thenApply(r -> List.of(written(w, r)));
    }
    if (request instanceof AdminRequest.Recompress r) {
      if (zswapd.settings().exports().stream().noneMatch(e -> e.recompressor().isPresent())) {
        return CompletableFuture.failedStage(new IllegalStateException(
            "recompress needs an export with a recompressor (a second codec); none is configured"));
      }
      return zswapd.recompress(r.mode(), r.threshold()).thenApply(x -> List.of(String.format(Locale.ROOT,
          "%s: %d pages recompressed (%d bytes saved), %d kept (no gain), %d failed", r.line(), x.recompressed(),
          x.bytesSaved(), x.kept(), x.failed())));
    }
    if (request instanceof AdminRequest.Set s) {
      return zswapd.set(s.key(), s.value()).thenApply(this::changed);
    }
    if (request instanceof AdminRequest.ResetMax) {
      return zswapd.resetMax().thenCompose(v -> zswapd.stats()).thenApply(stats -> List.of(
          "mem_used_max reset to mem_used_total: " + stats.pool().memUsedMax() + " B ("
              + StatsReport.human(stats.pool().memUsedMax()) + ")"));
    }
    throw new IllegalArgumentException("unhandled request " + request);
  }

  private boolean hasBackingFile() {
    return zswapd.settings().exports().stream().anyMatch(e -> e.backingFile().isPresent());
  }

  private static String written(AdminRequest.Writeback w, WritebackResult r) {
    return String.format(Locale.ROOT, "%s: %d pages written back, %d failed, %d refused (backing file full)",
        w.line(), r.writtenBack(), r.failed(), r.refused());
  }

  private List<String> changed(ZswapGuardian.SettingChanged c) {
    boolean backed = hasBackingFile();
    PoolSettings p = c.pool();
    LiveSetting s = c.setting();
    String name = s.key().substring("zswapd.".length());
    if (s instanceof LiveSetting.MaxSize m) {
      return List.of(name + " = " + m.bytes() + " B (" + StatsReport.human(m.bytes()) + ")", limits(c));
    }
    if (s instanceof LiveSetting.AcceptThreshold) {
      return List.of(name + " = " + s.value(), limits(c));
    }
    if (s instanceof LiveSetting.Recompress) {
      return List.of(name + " = " + s.value(), StatsReport.recompressPolicy(p.recompress())
          + (zswapd.settings().exports().stream().anyMatch(e -> e.recompressor().isPresent()) ? ""
              : " (no export has a recompressor: nothing is recompressed)"));
    }
    return List.of(name + " = " + s.value(), "writeback: idle-after "
        + p.writeback().idleAfter().map(LiveSetting::duration).orElse("off") + ", reclaim-timeout "
        + LiveSetting.duration(p.writeback().reclaimTimeout())
        + (backed ? "" : " (no export has a backing-file: nothing is written back)"));
  }

  private static String limits(ZswapGuardian.SettingChanged c) {
    PoolSettings p = c.pool();
    return "pool limit in force " + c.poolLimitBytes() + " B (" + StatsReport.human(c.poolLimitBytes())
        + "), accept below " + c.acceptBelowBytes() + " B (" + percent(p.acceptThreshold()) + ")";
  }

  private static String percent(double fraction) {
    return String.format(Locale.ROOT, "%.0f%%", fraction * 100);
  }

  private static String oneLine(String message) {
    return message == null ? "failed" : message.replace('\n', ' ');
  }
}
