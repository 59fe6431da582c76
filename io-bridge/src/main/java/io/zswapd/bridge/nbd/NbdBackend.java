package io.zswapd.bridge.nbd;

import akka.util.ByteString;
import io.zswapd.actors.codec.PageCompressor;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.actors.embedded.ZswapdException;
import io.zswapd.protocol.engine.PageImage;
import io.zswapd.protocol.nbd.Nbd;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Turns NBD byte ranges into the engine's page operations.
 *
 * <p>A request covers whole pages and, at either end, parts of pages. Whole pages are
 * compressed on the default dispatcher (so one connection's writes use every core, like
 * zswap compressing on whichever CPU swaps) and stored; a part of a page becomes a patch,
 * the read-modify-write that the page's tree shard performs, so two connections writing
 * different bytes of one page never lose each other's bytes.
 */
final class NbdBackend {
  private static final int PAGE = PageImage.PAGE_SIZE;

  private final Zswapd zswapd;
  private final PageCompressor compressor;
  private final Executor executor;

  NbdBackend(Zswapd zswapd, Executor executor) {
    this.zswapd = zswapd;
    this.compressor = zswapd.compressor();
    this.executor = executor;
  }

  /** Pages per range request to the engine: a swap cluster's worth, compressed by one task. */
  private static final int RANGE_PAGES = 32;

  /**
   * Whole pages are read as ranges of up to {@link #RANGE_PAGES} pages (one engine message per
   * shard and size class), the partial pages at either end one by one.
   */
  CompletionStage<ByteString> read(String export, long offset, int length) {
    if (length == 0) {
      return CompletableFuture.completedFuture(ByteString.emptyByteString());
    }
    long end = offset + length;
    List<CompletableFuture<ByteString>> parts = new ArrayList<>();
    for (long pos = offset; pos < end; ) {
      long page = pos / PAGE;
      int from = (int) (pos % PAGE);
      int whole = from == 0 ? (int) Math.min(RANGE_PAGES, (end - pos) / PAGE) : 0;
      if (whole > 1) {
        parts.add(zswapd.loadPages(export, page, whole).toCompletableFuture().thenApply(ByteString::fromArrayUnsafe));
        pos += (long) whole * PAGE;
        continue;
      }
      int to = (int) Math.min(PAGE, end - page * PAGE);
      parts.add(zswapd.load(export, page).toCompletableFuture()
          .thenApply(bytes -> ByteString.fromArrayUnsafe(bytes).slice(from, to)));
      pos = page * PAGE + to;
    }
    if (parts.size() == 1) {
      return parts.get(0);
    }
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
      ByteString out = ByteString.emptyByteString();
      for (CompletableFuture<ByteString> p : parts) {
        out = out.concat(p.join());
      }
      return out;
    });
  }

  /**
   * Whole pages are stored as ranges of up to {@link #RANGE_PAGES} pages, each range compressed
   * by one task on the default dispatcher (so one large request uses every core, like zswap
   * compressing on whichever CPU swaps); partial pages at either end are patched.
   */
  CompletionStage<Void> write(String export, long offset, ByteString data) {
    long end = offset + data.length();
    List<CompletableFuture<Void>> parts = new ArrayList<>();
    for (long pos = offset; pos < end; ) {
      long page = pos / PAGE;
      int from = (int) (pos % PAGE);
      int at = (int) (pos - offset);
      int whole = from == 0 ? (int) Math.min(RANGE_PAGES, (end - pos) / PAGE) : 0;
      if (whole == 1 && data.length() == PAGE) {
        // One page (the swap case): compress right here; a hand-off would cost more than it saves.
        parts.add(zswapd.storeImage(export, page, compressor.compress(data.asByteBuffer())).toCompletableFuture());
      } else if (whole >= 1) {
        ByteString run = data.slice(at, at + whole * PAGE);
        // storePages compresses on the thread that calls it: here a task of the dispatcher.
        parts.add(CompletableFuture.supplyAsync(() -> zswapd.storePages(export, page, run.asByteBuffer()), executor)
            .thenCompose(stored -> stored));
      } else {
        int n = (int) Math.min(PAGE - from, end - pos);
        parts.add(zswapd.patch(export, page, from, data.slice(at, at + n).toArray()).toCompletableFuture());
        pos += n;
        continue;
      }
      pos += (long) whole * PAGE;
    }
    return parts.size() == 1 ? parts.get(0) : CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
  }

  /**
   * Zeros: whole pages become same-filled zero pages (no allocation), stored as ranges of at most
   * {@link Zswapd#MAX_RANGE_PAGES} pages one after the other, so even a request over a whole
   * export holds one range's worth of engine work at a time; the parts of pages at either end
   * are patched.
   */
  CompletionStage<Void> writeZeroes(String export, long offset, long length) {
    long end = offset + length;
    long firstWhole = (offset + PAGE - 1) / PAGE;
    long endWhole = end / PAGE;
    List<CompletableFuture<Void>> parts = new ArrayList<>(3);
    if (endWhole <= firstWhole) {
      // no whole page: the bytes lie in one page, or in the end of one and the start of the next
      for (long pos = offset; pos < end; ) {
        long page = pos / PAGE;
        int n = (int) Math.min(PAGE - pos % PAGE, end - pos);
        parts.add(zswapd.patch(export, page, (int) (pos % PAGE), new byte[n]).toCompletableFuture());
        pos += n;
      }
    } else {
      if (offset % PAGE != 0) {
        parts.add(zswapd.patch(export, offset / PAGE, (int) (offset % PAGE), new byte[(int) (firstWhole * PAGE - offset)])
            .toCompletableFuture());
      }
      if (end % PAGE != 0) {
        parts.add(zswapd.patch(export, endWhole, 0, new byte[(int) (end % PAGE)]).toCompletableFuture());
      }
      parts.add(zeroPages(export, firstWhole, endWhole - firstWhole));
    }
    return parts.size() == 1 ? parts.get(0) : CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
  }

  private static final PageImage ZERO_PAGE = new PageImage.SameFilled(0);

  /** Stores {@code count} zero pages from {@code first}, one range after another. */
  private CompletableFuture<Void> zeroPages(String export, long first, long count) {
    int n = (int) Math.min(count, Zswapd.MAX_RANGE_PAGES);
    PageImage[] zeros = new PageImage[n];
    Arrays.fill(zeros, ZERO_PAGE);
    CompletableFuture<Void> stored = zswapd.storeImages(export, first, zeros).toCompletableFuture();
    return count == n ? stored : stored.thenCompose(v -> zeroPages(export, first + n, count - n));
  }

  /**
   * Trim frees the whole pages inside the range (zswap invalidate: the memory goes back). The
   * parts of pages at either end keep their bytes, which the spec allows for an advisory trim.
   */
  CompletionStage<Void> trim(String export, long offset, long length) {
    long first = (offset + PAGE - 1) / PAGE;
    long last = (offset + length) / PAGE;
    if (last <= first) {
      return CompletableFuture.completedFuture(null);
    }
    return zswapd.invalidateRange(export, first, last - first).thenApply(n -> null);
  }

  /** The NBD error for a failed engine request. */
  static int errno(Throwable t) {
    Throwable cause = t;
    while ((cause instanceof CompletionException || cause instanceof java.util.concurrent.ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof ZswapdException z) {
      return switch (z.code()) {
        case POOL_FULL -> Nbd.ENOSPC;
        case READ_ONLY -> Nbd.EPERM;
        case IO_ERROR, CORRUPT, ENGINE_FAILED -> Nbd.EIO;
        case SHUTTING_DOWN -> Nbd.ESHUTDOWN;
        case NO_SUCH_EXPORT, OUT_OF_RANGE, INVALID -> Nbd.EINVAL;
      };
    }
    return Nbd.EIO;
  }
}
