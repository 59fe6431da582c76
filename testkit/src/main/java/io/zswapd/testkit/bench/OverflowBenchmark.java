package io.zswapd.testkit.bench;

import akka.actor.typed.ActorSystem;
import akka.serialization.SerializerWithStringManifest;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.sun.management.OperatingSystemMXBean;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.embedded.SpillBuffer;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.protocol.engine.ExportStats;
import io.zswapd.testkit.EngineFixture;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongFunction;

/**
 * The overflow store as an Akka application uses it (issue 19), each figure beside its peer in
 * the same run: put and get of 1 KiB values as {@code byte[]}, as objects through Akka
 * Serialization, and kept on the heap in a {@code ConcurrentHashMap}; the heap that 1M values
 * of 1 KiB cost in the store against a {@code HashMap}; the spill buffer's throughput with a
 * consumer that keeps up and with one held back until everything has spilled, against Akka's
 * own {@code buffer}. Prints Markdown for docs/BENCHMARKS.md.
 *
 * <p>Run: {@code testkit/bench/overflow.sh [ENTRIES]} (default 1,000,000).
 */
public final class OverflowBenchmark {
  private static final int VALUE = 1024;
  private static final int IN_FLIGHT = 256;
  private static final OperatingSystemMXBean OS =
      (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

  /** An application's message: an id and a payload, serialized by {@link ItemSerializer}. */
  public record Item(long id, byte[] payload) {}

  public static final class ItemSerializer extends SerializerWithStringManifest {
    @Override
    public int identifier() {
      return 917_100;
    }

    @Override
    public String manifest(Object o) {
      return "I";
    }

    @Override
    public byte[] toBinary(Object o) {
      Item i = (Item) o;
      return ByteBuffer.allocate(8 + i.payload().length).putLong(i.id()).put(i.payload()).array();
    }

    @Override
    public Object fromBinary(byte[] bytes, String manifest) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      long id = b.getLong();
      byte[] payload = new byte[bytes.length - 8];
      b.get(payload);
      return new Item(id, payload);
    }
  }

  public static void main(String[] args) throws Exception {
    int entries = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    System.out.printf(Locale.ROOT, "# zswapd overflow-store benchmark: %d cores, java %s, -Xmx%d MiB%n%n",
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
        Runtime.getRuntime().maxMemory() >> 20);
    String hocon = "zswapd.pool.max-size = 3 GiB\nzswapd.metrics.prometheus = off\n"
        + "zswapd.pool.migration { checked-memory = off, period = off }\n"
        + "zswapd.exports = [ { name = \"swap0\", size = 16 MiB } ]\n"
        + "akka.actor.serializers.item = \"" + ItemSerializer.class.getName() + "\"\n"
        + "akka.actor.serialization-bindings { \"" + Item.class.getName() + "\" = item }\n";
    byte[][] payloads = payloads(4096);
    try (EngineFixture engine = EngineFixture.start(hocon)) {
      Zswapd z = engine.zswapd();
      ActorSystem<?> system = engine.testKit().system();
      int ops = Math.min(entries, 200_000);
      throughput(z, payloads, ops / 4); // JIT warm-up, not reported
      System.out.println(throughput(z, payloads, ops));
      System.out.println(heap(z, payloads, entries));
      System.out.println(spill(z, system));
    }
  }

  /** 1 KiB payloads that compress about 2:1 with lz4: words from a small vocabulary, some noise. */
  private static byte[][] payloads(int count) {
    String[] words = {"session", "user", "cart", "item", "price", "42", "true", "null", "id", "name", "event",
        "created", "2026-12-05", "status", "ok", "quantity", "book", "shipped"};
    SplittableRandom rnd = new SplittableRandom(19);
    byte[][] out = new byte[count][VALUE];
    for (byte[] p : out) {
      int i = 0;
      while (i < VALUE) {
        byte[] w = rnd.nextInt(6) == 0 ? Long.toHexString(rnd.nextLong()).getBytes(java.nio.charset.StandardCharsets.US_ASCII)
            : words[rnd.nextInt(words.length)].getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int j = 0; j < w.length && i < VALUE; j++) {
          p[i++] = w[j];
        }
        if (i < VALUE) {
          p[i++] = (byte) (rnd.nextInt(4) == 0 ? ',' : ' ');
        }
      }
    }
    return out;
  }

  /** Runs {@code n} operations with at most {@link #IN_FLIGHT} waiting; returns ops/s and CPU s. */
  private static double[] run(int n, LongFunction<CompletionStage<?>> op) throws InterruptedException {
    Semaphore window = new Semaphore(IN_FLIGHT);
    AtomicReference<Throwable> failed = new AtomicReference<>();
    long cpu0 = OS.getProcessCpuTime();
    long t0 = System.nanoTime();
    for (long i = 0; i < n; i++) {
      window.acquire();
      op.apply(i).whenComplete((v, e) -> {
        if (e != null) {
          failed.compareAndSet(null, e);
        }
        window.release();
      });
    }
    window.acquire(IN_FLIGHT);
    double seconds = (System.nanoTime() - t0) / 1e9;
    double cpu = (OS.getProcessCpuTime() - cpu0) / 1e9;
    if (failed.get() != null) {
      throw new IllegalStateException("an operation failed", failed.get());
    }
    return new double[] {n / seconds, cpu / seconds};
  }

  private static String throughput(Zswapd z, byte[][] payloads, int n) throws Exception {
    OverflowStore bytes = EngineFixture.await(z.overflowStore("bench-bytes-" + n));
    OverflowStore objects = EngineFixture.await(z.overflowStore("bench-objects-" + n));
    Map<Long, Object> heap = new ConcurrentHashMap<>();
    double[] heapPut = run(n, i -> {
      heap.put(i, new Item(i, payloads[(int) (i % payloads.length)].clone()));
      return CompletableFuture.completedFuture(null);
    });
    double[] heapGet = run(n, i -> CompletableFuture.completedFuture(heap.get(i)));
    heap.clear();
    double[] bytesPut = run(n, i -> bytes.put(i, payloads[(int) (i % payloads.length)]));
    double[] bytesGet = run(n, i -> bytes.get(i).thenAccept(v -> check(v.isPresent(), i)));
    double[] objPut = run(n, i -> objects.putObject(i, new Item(i, payloads[(int) (i % payloads.length)])));
    double[] objGet = run(n, i -> objects.getObject(i, Item.class).thenAccept(v -> check(v.isPresent(), i)));
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "## Put and get, %,d values of 1 KiB, %d in flight%n%n", n, IN_FLIGHT));
    b.append("| values | put/s | cores busy | get/s | cores busy | put, vs byte[] | get, vs byte[] |\n");
    b.append("|---|---|---|---|---|---|---|\n");
    row(b, "`byte[]` in the store", bytesPut, bytesGet, bytesPut, bytesGet);
    row(b, "objects, Akka Serialization", objPut, objGet, bytesPut, bytesGet);
    row(b, "objects on the heap (`ConcurrentHashMap`)", heapPut, heapGet, bytesPut, bytesGet);
    return b.toString();
  }

  private static void row(StringBuilder b, String what, double[] put, double[] get, double[] basePut, double[] baseGet) {
    b.append(String.format(Locale.ROOT, "| %s | %,.0f | %.2f | %,.0f | %.2f | %.2fx | %.2fx |%n", what, put[0], put[1],
        get[0], get[1], put[0] / basePut[0], get[0] / baseGet[0]));
  }

  private static void check(boolean ok, long key) {
    if (!ok) {
      throw new IllegalStateException("no value under " + key);
    }
  }

  private static long usedHeapAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return MEMORY.getHeapMemoryUsage().getUsed();
  }

  private static String heap(Zswapd z, byte[][] payloads, int n) throws Exception {
    long base = usedHeapAfterGc();
    OverflowStore store = EngineFixture.await(z.overflowStore("bench-heap"));
    run(n, i -> store.put(i, payloads[(int) (i % payloads.length)]));
    long inStore = usedHeapAfterGc() - base;
    ExportStats ns = EngineFixture.await(z.stats()).export("overflow:bench-heap").orElseThrow();
    for (long i = 0; i < n; i++) {
      store.remove(i);
    }
    EngineFixture.await(store.figures());
    long base2 = usedHeapAfterGc();
    Map<Long, byte[]> map = new HashMap<>();
    for (long i = 0; i < n; i++) {
      map.put(i, payloads[(int) (i % payloads.length)].clone());
    }
    long onHeap = usedHeapAfterGc() - base2;
    check(map.size() == n, n);
    map.clear();
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "## Heap for %,d values of 1 KiB%n%n", n));
    b.append("| where | heap used | per value | off-heap: the namespace's compr_data_size (orig_data_size) |\n|---|---|---|---|\n");
    b.append(String.format(Locale.ROOT, "| overflow store (`byte[]` values, long keys) | %.1f MiB | %.0f B | %.1f MiB (%.1f MiB: one page per value) |%n",
        inStore / 1048576.0, inStore / (double) n, ns.comprDataSize() / 1048576.0, ns.origDataSize() / 1048576.0));
    b.append(String.format(Locale.ROOT, "| `HashMap<Long, byte[]>` on the heap | %.1f MiB | %.0f B | |%n",
        onHeap / 1048576.0, onHeap / (double) n));
    b.append(String.format(Locale.ROOT, "%nThe store's heap is %.1f%% of the map's.%n", 100.0 * inStore / onHeap));
    return b.toString();
  }

  /** An element of the spill benchmark: its sequence number and 64 bytes of text of its own. */
  private static Item event(long i, byte[][] small) {
    return new Item(i, small[(int) (i % small.length)].clone());
  }

  private static String spill(Zswapd z, ActorSystem<?> system) throws Exception {
    int n = 2_000_000;
    byte[][] small = new byte[256][];
    byte[][] big = payloads(256);
    for (int i = 0; i < small.length; i++) {
      small[i] = java.util.Arrays.copyOf(big[i], 64);
    }
    OverflowStore store = EngineFixture.await(z.overflowStore("bench-spill"));
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "## Spill buffer, %,d elements of 72 bytes serialized%n%n", n));
    b.append("| stage | consumer | elements/s | cores busy | live heap when all is produced |\n|---|---|---|---|---|\n");
    for (int round = 0; round < 2; round++) { // the first round warms up
      boolean report = round == 1;
      measureSpill(b, report, "Akka `buffer(10000, backpressure)`", system, n, small, false,
          f -> f.buffer(10_000, akka.stream.OverflowStrategy.backpressure()));
      measureSpill(b, report, "`spillBuffer(10000, 1 GiB)`", system, n, small, false,
          f -> f.via(store.spillBuffer(Item.class, 10_000, 1L << 30, SpillBuffer.WhenFull.BACKPRESSURE)));
      measureSpill(b, report, "Akka `buffer(2000000, backpressure)`", system, n, small, true,
          f -> f.buffer(n, akka.stream.OverflowStrategy.backpressure()));
      measureSpill(b, report, "`spillBuffer(10000, 1 GiB)`", system, n, small, true,
          f -> f.via(store.spillBuffer(Item.class, 10_000, 1L << 30, SpillBuffer.WhenFull.BACKPRESSURE)));
    }
    return b.toString();
  }

  /**
   * Streams {@code n} elements through {@code stage}. Held: the consumer takes nothing until the
   * producer has produced all of them; then the live heap (after a GC) is read and the consumer
   * let go. Elements/s count the whole run, the wait included.
   */
  private static void measureSpill(StringBuilder b, boolean report, String stage, ActorSystem<?> system, int n,
      byte[][] small, boolean held, java.util.function.UnaryOperator<Source<Item, akka.NotUsed>> stageOf)
      throws Exception {
    long base = usedHeapAfterGc();
    AtomicLong produced = new AtomicLong();
    CompletableFuture<Void> gate = new CompletableFuture<>();
    if (!held) {
      gate.complete(null);
    }
    long cpu0 = OS.getProcessCpuTime();
    long t0 = System.nanoTime();
    AtomicLong next = new AtomicLong();
    Source<Item, akka.NotUsed> source = Source.range(0, n - 1).map(i -> {
      produced.incrementAndGet();
      return event(i, small);
    });
    CompletionStage<akka.Done> done = stageOf.apply(source)
        .mapAsync(1, e -> gate.thenApply(x -> e))
        .runWith(Sink.foreach(e -> {
          if (e.id() != next.getAndIncrement()) {
            throw new IllegalStateException("element " + e.id() + " out of order, expected " + (next.get() - 1));
          }
        }), system);
    String live = "";
    if (held) {
      while (produced.get() < n) {
        TimeUnit.MILLISECONDS.sleep(20); // a benchmark's wait, not a test's
      }
      live = String.format(Locale.ROOT, "%.0f MiB", (usedHeapAfterGc() - base) / 1048576.0);
      gate.complete(null);
    }
    done.toCompletableFuture().get(10, TimeUnit.MINUTES);
    double seconds = (System.nanoTime() - t0) / 1e9;
    double cpu = (OS.getProcessCpuTime() - cpu0) / 1e9;
    check(next.get() == n, next.get());
    if (report) {
      b.append(String.format(Locale.ROOT, "| %s | %s | %,.0f | %.2f | %s |%n", stage,
          held ? "held until all is produced" : "keeps up", n / seconds, cpu / seconds, live));
    }
  }
}
