package io.zswapd.actors.embedded;

import akka.NotUsed;
import akka.stream.javadsl.Flow;
import io.zswapd.protocol.engine.EngineError;
import io.zswapd.protocol.engine.ErrorCode;
import io.zswapd.protocol.engine.PageImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.ToLongFunction;

/**
 * {@link Zswapd#storeFlow} and {@link Zswapd#loadFlow}: Akka Streams stages over the page
 * requests, batching what waits while the engine is busy into range requests. Holds no state
 * of its own; a store flow's map of in-flight writes belongs to its stream stage.
 */
final class PageFlows {
  private final Zswapd zswapd;

  PageFlows(Zswapd zswapd) {
    this.zswapd = zswapd;
  }

  /** {@link Zswapd#storeFlow}: batches, runs of consecutive pages as range stores, per-page order. */
  Flow<Zswapd.PageWrite, Long, NotUsed> storeFlow(String export, int parallelism) {
    return Flow.<Zswapd.PageWrite>create()
        .batch(Zswapd.FLOW_BATCH, w -> { List<Zswapd.PageWrite> b = new ArrayList<>(); b.add(w); return b; },
            (b, w) -> { b.add(w); return b; })
        .statefulMapConcat(() -> {
          Map<Long, CompletableFuture<Void>> lastWrite = new HashMap<>(); // this stage's own
          return batch -> List.of(storeBatch(export, batch, lastWrite, parallelism).thenApply(v -> batch));
        })
        .mapAsync(parallelism, stored -> stored)
        .mapConcat(batch -> batch.stream().map(Zswapd.PageWrite::pageIndex).toList());
  }

  /** {@link Zswapd#loadFlow}: batches, runs of consecutive pages as range loads, in input order. */
  Flow<Long, Zswapd.PageRead, NotUsed> loadFlow(String export, int parallelism) {
    return Flow.<Long>create()
        .batch(Zswapd.FLOW_BATCH, i -> { List<Long> b = new ArrayList<>(); b.add(i); return b; },
            (b, i) -> { b.add(i); return b; })
        .mapAsync(parallelism, batch -> loadBatch(export, batch))
        .mapConcat(reads -> reads);
  }

  /**
   * Runs of consecutive pages as range stores. A run waits for the earlier writes of its pages
   * still in flight ({@code lastWrite}, owned by the calling stream stage), so writes of one
   * page apply in stream order.
   */
  private CompletableFuture<Void> storeBatch(String export, List<Zswapd.PageWrite> batch,
      Map<Long, CompletableFuture<Void>> lastWrite, int parallelism) {
    if (lastWrite.size() > 4 * Zswapd.FLOW_BATCH * (parallelism + 1)) {
      lastWrite.values().removeIf(CompletableFuture::isDone);
    }
    List<CompletableFuture<Void>> runs = new ArrayList<>();
    int i = 0;
    while (i < batch.size()) {
      int j = runEnd(batch, i, Zswapd.PageWrite::pageIndex);
      List<Zswapd.PageWrite> run = batch.subList(i, j);
      PageImage[] images = new PageImage[run.size()];
      List<CompletableFuture<Void>> earlier = new ArrayList<>();
      for (int k = 0; k < images.length; k++) {
        byte[] page = run.get(k).page();
        if (page.length != PageImage.PAGE_SIZE) {
          return CompletableFuture.failedFuture(new ZswapdException(new EngineError(ErrorCode.INVALID,
              "a page is exactly " + PageImage.PAGE_SIZE + " bytes, got " + page.length)));
        }
        images[k] = zswapd.compressor().compress(page, 0); // now: the caller may reuse its array
        CompletableFuture<Void> previous = lastWrite.get(run.get(k).pageIndex());
        if (previous != null && !previous.isDone()) {
          earlier.add(previous);
        }
      }
      long first = run.get(0).pageIndex();
      CompletableFuture<Void> after = earlier.isEmpty() ? CompletableFuture.completedFuture(null)
          : CompletableFuture.allOf(earlier.toArray(CompletableFuture[]::new));
      CompletableFuture<Void> stored = after.thenCompose(v -> images.length == 1
          ? zswapd.storeImage(export, first, images[0]) : zswapd.storeImages(export, first, images));
      run.forEach(w -> lastWrite.put(w.pageIndex(), stored));
      runs.add(stored);
      i = j;
    }
    return CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new));
  }

  /** The end (exclusive) of the run of consecutive page indexes that starts at {@code from}. */
  private static <T> int runEnd(List<T> batch, int from, ToLongFunction<T> pageOf) {
    int end = from + 1;
    while (end < batch.size() && pageOf.applyAsLong(batch.get(end)) == pageOf.applyAsLong(batch.get(end - 1)) + 1) {
      end++;
    }
    return end;
  }

  private CompletionStage<List<Zswapd.PageRead>> loadBatch(String export, List<Long> batch) {
    List<CompletableFuture<byte[]>> runs = new ArrayList<>();
    List<Integer> runStarts = new ArrayList<>();
    int i = 0;
    while (i < batch.size()) {
      int j = runEnd(batch, i, Long::longValue);
      runStarts.add(i);
      runs.add((j - i == 1 ? zswapd.load(export, batch.get(i))
          : zswapd.loadPages(export, batch.get(i), j - i)).toCompletableFuture());
      i = j;
    }
    return CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).thenApply(v -> {
      List<Zswapd.PageRead> reads = new ArrayList<>(batch.size());
      for (int r = 0; r < runs.size(); r++) {
        byte[] bytes = runs.get(r).join();
        int start = runStarts.get(r);
        int n = bytes.length / PageImage.PAGE_SIZE;
        for (int k = 0; k < n; k++) {
          reads.add(new Zswapd.PageRead(batch.get(start + k), n == 1 ? bytes
              : Arrays.copyOfRange(bytes, k * PageImage.PAGE_SIZE, (k + 1) * PageImage.PAGE_SIZE)));
        }
      }
      return reads;
    });
  }
}
