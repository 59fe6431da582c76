package io.zswapd.bridge;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.zswapd.actors.arena.ChunkMemory;
import io.zswapd.actors.arena.DirectMemoryBudget;
import io.zswapd.actors.arena.OffHeap;
import io.zswapd.actors.cluster.ClusterShards;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.bridge.admin.AdminClient;
import io.zswapd.bridge.admin.AdminRequest;
import io.zswapd.bridge.admin.AdminServer;
import io.zswapd.bridge.nbd.NbdServer;
import io.zswapd.config.AdminSettings;
import io.zswapd.config.ClusterSettings;
import io.zswapd.config.SettingsException;
import io.zswapd.config.ZswapdSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The zswapd command line. {@code serve} runs the daemon; the other subcommands talk to a
 * running one. Every error a user can cause ends in one line on stderr and a non-zero exit.
 */
public final class Main {
  static final String USAGE = """
      Usage: zswapd <command> [options]        (bin/zswapd, or java -jar zswapd.jar)

      Commands:
        serve [--config FILE]   Run the daemon: serve every configured export over NBD (TCP and a
                                Unix socket) from compressed off-heap memory. Without --config the
                                embedded defaults are used (one 4 GiB export "swap0", pool limit 20%
                                of RAM, lz4, socket ./zswapd.sock (mode 0600; TCP is off unless
                                configured), admin socket ./zswapd-admin.sock). Stops cleanly on
                                SIGTERM or SIGINT.
        stats [--classes|--shards]
                                Every figure of a running daemon: the pool, then per export zram's
                                mm_stat, io_stat and bd_stat (bytes exact and human-readable, the
                                compression ratio). --classes: the size classes, as zsmalloc's
                                debugfs "classes" table. --shards: one row per remote shard of the
                                exports placed on memory nodes (node, pages, bytes, round trip,
                                bytes on the wire).
        compact                 Compact every size class now (zram's compact).
        writeback MODE          Write pages back to the exports' backing files now; MODE is idle,
                                huge, all or lru (zram's writeback).
        recompress MODE [--threshold BYTES]
                                Compress stored pages again with their export's recompressor
                                now; MODE is idle, huge or all; only pages stored in at least
                                BYTES (zram's recompress type=MODE threshold=BYTES).
        set KEY VALUE           Change a setting while running: pool.max-size (bytes or % of RAM),
                                pool.accept-threshold, pool.writeback.idle-after,
                                pool.writeback.reclaim-timeout, pool.recompress.idle-after, huge,
                                threshold, min-saving, max-rate. Values as in the config file.
        reset-max               Start mem_used_max again from mem_used_total.
        jvm-options [--config FILE]
                                The JVM flags bin/zswapd starts serve with for this config and
                                this JVM: a fixed, pre-touched heap sized from the exports, the
                                direct-memory limit, the GC (one per line; ENV lines first).
        version, --version      The version of zswapd and of the JVM, and the off-heap memory
                                this JVM gives (mmap on JDK 22+, else direct buffers).
        help                    Show this text.

      Options:
        --config FILE           A HOCON file layered over the defaults; every setting is documented
                                in config/src/main/resources/reference.conf. For the control
                                commands, where to find the daemon (zswapd.admin).
        --admin SOCKET          The daemon's admin socket (default: zswapd.admin.unix-socket,
                                ./zswapd-admin.sock).
        -h, --help              Show this text.

      Exit status: serve: 143 (the JVM's status for SIGTERM, 128 + 15) or 130 (SIGINT) after a
      clean shutdown; 2 for a usage or configuration error; 1 when the daemon cannot start (for
      example, a port already in use); 70 when its engine failed (an actor threw: the pages it
      held are lost; the log says which). Control commands: 0 done; 2 the command line is wrong
      (nothing was sent); 1 the daemon refused the request (its reason on stderr, nothing
      changed) or could not be reached.
      """;

  private static final Logger LOG = LoggerFactory.getLogger("zswapd");

  private Main() {}

  public static void main(String[] args) {
    // Initialise logging before Akka's threads race to do it, or SLF4J prints a replay warning.
    LoggerFactory.getILoggerFactory();
    System.exit(run(args, System.out, System.err));
  }

  /** Runs a command; returns the exit status. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    List<String> rest = new ArrayList<>(List.of(args));
    if (rest.isEmpty() || rest.contains("-h") || rest.contains("--help") || rest.get(0).equals("help")) {
      (rest.isEmpty() ? err : out).print(USAGE);
      return rest.isEmpty() ? 2 : 0;
    }
    String command = rest.remove(0);
    if (command.equals("version") || command.equals("--version")) {
      out.println(version());
      return 0;
    }
    if (AdminRequest.COMMANDS.contains(command)) {
      return control(command, rest, out, err);
    }
    Optional<Path> configFile = Optional.empty();
    while (!rest.isEmpty()) {
      String flag = rest.remove(0);
      if (flag.equals("--config") && !rest.isEmpty()) {
        configFile = Optional.of(Path.of(rest.remove(0)));
      } else if (flag.equals("--config")) {
        err.println("zswapd: --config needs a file name");
        return 2;
      } else {
        err.println("zswapd: unknown option '" + flag + "' (see --help)");
        return 2;
      }
    }
    if (!command.equals("serve") && !command.equals("jvm-options")) {
      err.println("zswapd: unknown command '" + command + "' (see --help)");
      return 2;
    }
    Config config;
    ZswapdSettings settings;
    try {
      config = loadConfig(configFile);
      // validate before anything starts: values, unknown keys, the off-heap kind this JVM can
      // give, and a pool of direct buffers against the JVM's direct-memory limit
      settings = ZswapdSettings.fromConfig(config);
      ChunkMemory memory = OffHeap.choose(settings.pool().offHeap(), false);
      if (memory.limitedByDirectMemory() && command.equals("serve")) {
        DirectMemoryBudget.check(settings.pool().maxSizeBytes(), DirectMemoryBudget.jvmLimit());
      }
    } catch (SettingsException e) {
      err.println("zswapd: " + e.getMessage());
      return 2;
    }
    if (command.equals("jvm-options")) {
      JvmOptions.lines(settings).forEach(out::println);
      return 0;
    }
    if (settings.cluster().enabled()) { // the node's Akka settings: cluster provider, Artery, seeds, role
      config = ConfigFactory.parseString(ClusterShards.akkaConfig(settings.cluster(), "zswapd")).withFallback(config);
    }
    return serve(config, out, err);
  }

  /**
   * A control command against a running daemon: the request is checked here (a malformed one
   * is never sent), then sent to the admin endpoint; the answer goes to {@code out}, a refusal to
   * {@code err} as one line.
   */
  static int control(String command, List<String> args, PrintStream out, PrintStream err) {
    List<String> words = new ArrayList<>(List.of(command));
    Optional<Path> configFile = Optional.empty();
    Optional<Path> socket = Optional.empty();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--config") || a.equals("--admin")) {
        if (i + 1 == args.size()) {
          err.println("zswapd: " + a + (a.equals("--config") ? " needs a file name" : " needs a socket path"));
          return 2;
        }
        Path p = Path.of(args.get(++i));
        if (a.equals("--config")) {
          configFile = Optional.of(p);
        } else {
          socket = Optional.of(p);
        }
      } else {
        words.add(a);
      }
    }
    AdminRequest request;
    AdminClient client;
    try {
      request = AdminRequest.parse(words);
      client = socket.isPresent() ? AdminClient.unix(socket.get()) : adminClient(configFile);
    } catch (AdminRequest.BadRequest | SettingsException e) {
      err.println("zswapd: " + e.getMessage());
      return 2;
    }
    AdminClient.Answer answer;
    try {
      answer = client.send(request);
    } catch (IOException e) {
      err.println("zswapd: cannot reach the daemon's admin endpoint " + client.endpoint() + ": " + e.getMessage()
          + " (is it running? see zswapd.admin, --admin, --config)");
      return 1;
    }
    answer.lines().forEach(out::println);
    out.flush();
    if (!answer.ok()) {
      err.println("zswapd: " + answer.error());
      return 1;
    }
    return 0;
  }

  /** The admin endpoint a config names: its Unix socket, else its TCP address. */
  private static AdminClient adminClient(Optional<Path> configFile) {
    AdminSettings admin = ZswapdSettings.fromConfig(loadConfig(configFile)).admin();
    if (admin.unixSocket().isPresent()) {
      return AdminClient.unix(admin.unixSocket().get());
    }
    if (admin.tcp().isPresent()) {
      return AdminClient.tcp(admin.tcp().get());
    }
    String where = configFile.map(Path::toString).orElse("the defaults");
    throw new SettingsException("zswapd.admin", "the admin endpoint is off in " + where
        + " (zswapd.admin.unix-socket and zswapd.admin.tcp); nothing to connect to");
  }

  /**
   * JVM system properties ({@code -Dzswapd.nbd.buffer-memory=128MiB}), over the operator's file
   * (if any), over the daemon's own settings, over every reference.conf: Typesafe Config's usual
   * rule that {@code -D} overrides every file, with the daemon's defaults in between. The
   * launcher gives the same {@code -D} flags to {@code jvm-options}, so the heap it sizes sees them.
   */
  static Config loadConfig(Optional<Path> file) {
    Config daemon = ConfigFactory.parseResources(Main.class.getClassLoader(), "zswapd-daemon.conf");
    Config base = daemon.withFallback(ConfigFactory.load());
    if (file.isPresent()) {
      Path p = file.get();
      if (!Files.isReadable(p)) {
        throw new SettingsException(p.toString(), p + ": cannot read the file (missing or no permission)");
      }
      ZswapdSettings.load(p); // one-line errors for syntax and values, naming the file
      base = ConfigFactory.parseFile(p.toFile()).withFallback(base);
    }
    return ConfigFactory.defaultOverrides().withFallback(base).resolve();
  }

  private static int serve(Config config, PrintStream out, PrintStream err) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "zswapd", config);
    Zswapd zswapd;
    try {
      zswapd = Zswapd.get(system); // opens backing files and the metrics endpoint
    } catch (RuntimeException e) {
      err.println("zswapd: " + e.getMessage());
      stopAfterFailedStart(system);
      return 1;
    }
    Optional<NbdServer> server = Optional.empty();
    try {
      if (!zswapd.settings().exports().isEmpty()) { // a memory node may serve none
        server = Optional.of(NbdServer.start(system, zswapd).toCompletableFuture().join());
      }
    } catch (CompletionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      err.println("zswapd: " + cause.getMessage());
      stopAfterFailedStart(system);
      return cause instanceof SettingsException ? 2 : 1;
    }
    server.ifPresent(nbd -> CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(),
        "zswapd-nbd-stop", () -> nbd.stop().thenApply(d -> Done.getInstance())));
    AdminServer admin;
    try {
      admin = AdminServer.start(system, zswapd).toCompletableFuture().join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      err.println("zswapd: " + cause.getMessage());
      stopAfterFailedStart(system); // runs the NBD server's stop task too
      return 1;
    }
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "zswapd-admin-stop",
        admin::stop);
    if (zswapd.settings().daemon().lockMemory()) {
      // Once started (a start that fails prints its one line and nothing else), before the
      // banner says where to attach: what is mapped now is locked, and so is every later mapping.
      OffHeap.lockAll().ifPresentOrElse(LOG::warn,
          () -> LOG.info("memory locked: mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT)"));
    }
    if (zswapd.settings().cluster().role() == ClusterSettings.Role.MEMORY) {
      // ready means ready to take shards: a member, known to the sharding coordinator
      LOG.info("joining the cluster at {} (seed nodes {})", zswapd.settings().cluster().bind(),
          zswapd.settings().cluster().seedNodes());
      try {
        ClusterShards.whenHosting(system).toCompletableFuture().join();
      } catch (CompletionException stopped) { // stopped (SIGTERM, or downed) before it joined
        return exitStatus(system, zswapd, err);
      }
      LOG.info("in the cluster: this memory node takes tree shards");
    }
    LOG.info(StartupSummary.text(zswapd.settings(), zswapd.offHeap(), server, admin));
    PoolSizeWarning.text(zswapd.settings()).ifPresent(LOG::warn);
    if (zswapd.offHeap().equals("direct") && System.getenv("MALLOC_MMAP_THRESHOLD_") == null && System.getProperty("os.name").startsWith("Linux")) {
      // glibc raises its mmap threshold past 2 MiB after the first chunk is freed; later chunks
      // then come from malloc's heap and their memory stays in the process after release.
      LOG.warn("MALLOC_MMAP_THRESHOLD_ is not set: memory of released chunks may stay in this process "
          + "(RSS does not fall after trims); start the daemon with MALLOC_MMAP_THRESHOLD_=131072 "
          + "(docs/OPERATIONS.md)");
    }
    out.print(Banner.text(zswapd.settings(), server, admin, zswapd.metricsAddress()));
    out.flush();
    // A failed engine serves nothing: stop (clients get EIO meanwhile, not a hang) and exit with
    // EX_SOFTWARE, so that systemd's Restart=on-failure starts a fresh daemon.
    zswapd.whenFailed().thenAccept(what -> {
      err.println("zswapd: the engine failed (" + what + "); exiting with status " + EXIT_ENGINE_FAILED);
      system.terminate();
    });
    return exitStatus(system, zswapd, err);
  }

  /**
   * Waits for the actor system to stop; the status: 70 (EX_SOFTWARE) if the engine failed or the
   * cluster removed this node, else 0.
   */
  private static int exitStatus(ActorSystem<Void> system, Zswapd zswapd, PrintStream err) {
    system.getWhenTerminated().toCompletableFuture().join();
    Optional<CoordinatedShutdown.Reason> reason = CoordinatedShutdown.get(system).getShutdownReason();
    if (reason.isPresent() && (reason.get() == CoordinatedShutdown.clusterDowningReason()
        || reason.get() == CoordinatedShutdown.clusterJoinUnsuccessfulReason()
        || reason.get() == CoordinatedShutdown.incompatibleConfigurationDetectedReason())) {
      // the cluster removed this node (unreachable past down-unreachable-after, or it never
      // joined): its shards or its exports' pages are gone; a supervisor starts a fresh node
      String why;
      if (reason.get() == CoordinatedShutdown.clusterDowningReason()) {
        why = "was downed by the cluster (unreachable for longer than zswapd.cluster.down-unreachable-after)";
      } else if (reason.get() == CoordinatedShutdown.clusterJoinUnsuccessfulReason()) {
        why = "could not join the cluster (zswapd.cluster.seed-nodes)";
      } else {
        why = "was refused by the cluster: its settings are incompatible (the seed node's log says which; this "
            + "node speaks zswapd page protocol version "
            + system.settings().config().getInt(io.zswapd.actors.cluster.ProtocolCompatCheck.KEY)
            + ", and every node must speak the same)";
      }
      err.println("zswapd: this node " + why + "; exiting with status " + EXIT_ENGINE_FAILED);
      return EXIT_ENGINE_FAILED;
    }
    return zswapd.whenFailed().toCompletableFuture().isDone() ? EXIT_ENGINE_FAILED : 0;
  }

  /**
   * Stops what a failed start had started. The engine's shutdown steps, worth an INFO line each
   * for a daemon that ran, are noise after a start that did not happen: the one error line
   * printed before stays the only one.
   */
  private static void stopAfterFailedStart(ActorSystem<Void> system) {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.zswapd")).setLevel(ch.qos.logback.classic.Level.WARN);
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();
  }

  /** "zswapd 0.1.0 on Java 25.0.3 (Eclipse Adoptium), off-heap: mmap" and, without mmap, why. */
  static String version() {
    String v = Main.class.getPackage().getImplementationVersion();
    return "zswapd " + (v == null ? "(development build)" : v) + " on Java " + Runtime.version() + " ("
        + System.getProperty("java.vendor") + "), off-heap: "
        + OffHeap.whyNoMmap().map(why -> "direct (" + why + ")").orElse("mmap");
  }

  /** The daemon's exit status when its engine failed: sysexits' EX_SOFTWARE. */
  static final int EXIT_ENGINE_FAILED = 70;
}
