package io.zswapd.bridge;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.zswapd.actors.embedded.Zswapd;
import io.zswapd.bridge.nbd.NbdServer;
import io.zswapd.config.SettingsException;
import io.zswapd.config.ZswapdSettings;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.slf4j.LoggerFactory;

/**
 * The zswapd command line. {@code serve} runs the daemon; the other subcommands talk to a
 * running one. Every error a user can cause ends in one line on stderr and a non-zero exit.
 */
public final class Main {
  static final String USAGE = """
      Usage: java -jar zswapd.jar <command> [options]

      Commands:
        serve [--config FILE]   Run the daemon: serve every configured export over NBD (TCP and a
                                Unix socket) from compressed off-heap memory. Without --config the
                                embedded defaults are used (one 4 GiB export "swap0", pool limit 20%
                                of RAM, lz4, TCP 127.0.0.1:10809, socket ./zswapd.sock). Stops
                                cleanly on SIGTERM or SIGINT.
        help                    Show this text.

      Options:
        --config FILE           A HOCON file layered over the defaults; every setting is documented
                                in config/src/main/resources/reference.conf.
        -h, --help              Show this text.

      Exit status: 143 (the JVM's status for SIGTERM, 128 + 15) or 130 (SIGINT) after a clean
      shutdown; 2 for a usage or configuration error; 1 when the daemon cannot start (for
      example, a port already in use).
      """;

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
    if (!command.equals("serve")) {
      err.println("zswapd: unknown command '" + command + "' (see --help)");
      return 2;
    }
    Config config;
    try {
      config = loadConfig(configFile);
      ZswapdSettings.fromConfig(config); // validate before anything starts
    } catch (SettingsException e) {
      err.println("zswapd: " + e.getMessage());
      return 2;
    }
    return serve(config, out, err);
  }

  /** The operator's file (if any), over the daemon's own settings, over every reference.conf. */
  static Config loadConfig(Optional<Path> file) {
    Config daemon = ConfigFactory.parseResources(Main.class.getClassLoader(), "zswapd-daemon.conf");
    Config base = daemon.withFallback(ConfigFactory.load());
    if (file.isEmpty()) {
      return base;
    }
    Path p = file.get();
    if (!Files.isReadable(p)) {
      throw new SettingsException(p.toString(), p + ": cannot read the file (missing or no permission)");
    }
    ZswapdSettings.load(p); // one-line errors for syntax and values, naming the file
    return ConfigFactory.parseFile(p.toFile()).withFallback(base).resolve();
  }

  private static int serve(Config config, PrintStream out, PrintStream err) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "zswapd", config);
    Zswapd zswapd;
    try {
      zswapd = Zswapd.get(system); // opens backing files and the metrics endpoint
    } catch (RuntimeException e) {
      err.println("zswapd: " + e.getMessage());
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
      return 1;
    }
    NbdServer server;
    try {
      server = NbdServer.start(system, zswapd).toCompletableFuture().join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      err.println("zswapd: " + cause.getMessage());
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
      return 1;
    }
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "zswapd-nbd-stop",
        () -> server.stop().thenApply(d -> Done.getInstance()));
    out.print(Banner.text(zswapd.settings(), zswapd.poolLimitBytes(), server));
    out.flush();
    system.getWhenTerminated().toCompletableFuture().join();
    return 0;
  }
}
