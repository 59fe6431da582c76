package io.zswapd.testkit.fuzz;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Everything a fuzz run is told, parsed from the command line that {@code testkit/bench/nbd-fuzz.sh}
 * and {@code NbdFuzzTest} both use ({@link #USAGE} lists the options).
 *
 * @param seed           the run's seed; each client's choices are a function of it and the client's index
 * @param duration       how long the clients run
 * @param operations     stop once this many operations were sent (0: no limit)
 * @param clients        concurrent fuzzing clients
 * @param tcp            the daemon's NBD TCP address, if it is to be used
 * @param unix           the daemon's NBD Unix socket, if it is to be used
 * @param export         a writable export of at least {@link ExportLayout#minimumExportSize} bytes
 * @param readOnlyExport a read-only export, for EPERM answers and zero reads
 * @param region         bytes each client checks (its own part of the export)
 * @param maxRequest     largest valid READ or WRITE a checking session sends
 * @param maxDepth       most requests a checking session keeps in flight
 * @param floods         the flood modes to pick among
 * @param floodPercent   share of episodes that are floods, when floods are given
 * @param floodHold      how long a flood keeps its connections
 * @param floodRequests  most requests (or options) one flood connection sends
 * @param floodConnections connections of one {@code many-connections} flood
 * @param replyTimeout   longest wait for any answer a well-behaved client is owed
 * @param probeEvery     how often the probe client checks the daemon serves
 * @param probeTimeout   longest a probe may take
 * @param pid            the daemon's process, for liveness and memory figures
 * @param rssLimit       fail once the daemon's RSS passes this (0: no limit)
 * @param heapEvery      how often to ask {@code jcmd PID GC.heap_info} (zero: never)
 * @param admin          the daemon's admin socket, for live limit changes, compaction and writeback
 * @param adminEvery     how often an admin command is sent
 * @param poolMin        smallest pool.max-size the admin changes may set
 * @param poolMax        largest pool.max-size the admin changes may set (restored at the end)
 * @param writeback      whether the admin commands include {@code writeback} (the export has a backing file)
 */
public record FuzzSettings(long seed, Duration duration, long operations, int clients,
    Optional<InetSocketAddress> tcp, Optional<Path> unix, String export, Optional<String> readOnlyExport,
    long region, int maxRequest, int maxDepth, Set<Flood> floods, int floodPercent, Duration floodHold,
    int floodRequests, int floodConnections, Duration replyTimeout, Duration probeEvery, Duration probeTimeout,
    OptionalLong pid, long rssLimit, Duration heapEvery, Optional<Path> admin, Duration adminEvery, long poolMin,
    long poolMax, boolean writeback) {

  public static final String USAGE = """
      Options of the NBD fuzzer (io.zswapd.testkit.fuzz.NbdFuzzer):
        --seed N               the run's seed (default: from the clock; printed either way)
        --duration D           how long to run, e.g. 60s, 10m, 2h (default 60s)
        --operations N         stop after N operations, e.g. 10000000 (default: no limit)
        --clients N            concurrent clients (default 4)
        --tcp HOST:PORT        the daemon's NBD TCP address
        --unix PATH            the daemon's NBD Unix socket (at least one of --tcp, --unix)
        --export NAME          a writable export (default fuzz)
        --ro-export NAME       a read-only export, for EPERM answers (default: none)
        --region SIZE          bytes each client owns and checks (default 4MiB)
        --max-request SIZE     largest valid READ/WRITE of a checking session (default 256KiB)
        --depth N              most requests a checking session keeps in flight (default 64)
        --floods LIST          flood modes: unread-reads, option-list, huge-zeroes, idle,
                               many-connections, all or none (default none)
        --flood-percent N      share of episodes that are floods (default 5)
        --flood-hold D         how long a flood sends and keeps its connections (default 3s)
        --flood-requests N     most requests one flood connection sends (default 1000000)
        --flood-connections N  connections of a many-connections flood (default 200)
        --reply-timeout D      longest wait for an answer owed to a good client (default 60s)
        --probe-every D        how often the probe writes and reads a page (default 2s)
        --probe-timeout D      longest a probe may take (default 30s)
        --pid PID              the daemon's process: liveness, RSS, heap
        --rss-limit SIZE       fail when the daemon's RSS passes SIZE (default: no limit)
        --heap-every D         sample the heap with jcmd this often (default: never)
        --admin PATH           the daemon's admin socket: live limit changes, compact, writeback
        --admin-every D        how often an admin command is sent (default 5s)
        --pool-range MIN:MAX   pool.max-size values the admin changes pick from (default: none)
        --writeback            the admin commands include writeback (the export has a backing file)
      Sizes: bytes, or with KiB, MiB, GiB (k, m, g). Durations: ms, s, m, h.
      """;

  /** The addresses clients connect to, TCP first. */
  public List<SocketAddress> addresses() {
    List<SocketAddress> a = new ArrayList<>();
    tcp.ifPresent(a::add);
    unix.ifPresent(p -> a.add(UnixDomainSocketAddress.of(p)));
    return a;
  }

  /** Parses the command line; {@link IllegalArgumentException} names the option that is wrong. */
  public static FuzzSettings parse(List<String> args) {
    long seed = System.nanoTime();
    Duration duration = Duration.ofSeconds(60);
    long operations = 0;
    int clients = 4;
    Optional<InetSocketAddress> tcp = Optional.empty();
    Optional<Path> unix = Optional.empty();
    String export = "fuzz";
    Optional<String> readOnlyExport = Optional.empty();
    long region = 4L << 20;
    int maxRequest = 256 << 10;
    int maxDepth = 64;
    Set<Flood> floods = Flood.parse("none");
    int floodPercent = 5;
    Duration floodHold = Duration.ofSeconds(3);
    int floodRequests = 1_000_000;
    int floodConnections = 200;
    Duration replyTimeout = Duration.ofSeconds(60);
    Duration probeEvery = Duration.ofSeconds(2);
    Duration probeTimeout = Duration.ofSeconds(30);
    OptionalLong pid = OptionalLong.empty();
    long rssLimit = 0;
    Duration heapEvery = Duration.ZERO;
    Optional<Path> admin = Optional.empty();
    Duration adminEvery = Duration.ofSeconds(5);
    long poolMin = 0;
    long poolMax = 0;
    boolean writeback = false;
    for (int i = 0; i < args.size(); i++) {
      String option = args.get(i);
      if (option.equals("--writeback")) {
        writeback = true;
        continue;
      }
      if (i + 1 == args.size()) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      String v = args.get(++i);
      try {
        switch (option) {
          case "--seed" -> seed = Long.decode(v);
          case "--duration" -> duration = duration(v);
          case "--operations" -> operations = Long.parseLong(v.replace("_", ""));
          case "--clients" -> clients = positive(Integer.parseInt(v));
          case "--tcp" -> tcp = Optional.of(hostPort(v));
          case "--unix" -> unix = Optional.of(Path.of(v));
          case "--export" -> export = v;
          case "--ro-export" -> readOnlyExport = Optional.of(v);
          case "--region" -> region = size(v);
          case "--max-request" -> maxRequest = Math.toIntExact(size(v));
          case "--depth" -> maxDepth = positive(Integer.parseInt(v));
          case "--floods" -> floods = Flood.parse(v);
          case "--flood-percent" -> floodPercent = Integer.parseInt(v);
          case "--flood-hold" -> floodHold = duration(v);
          case "--flood-requests" -> floodRequests = positive(Integer.parseInt(v));
          case "--flood-connections" -> floodConnections = positive(Integer.parseInt(v));
          case "--reply-timeout" -> replyTimeout = duration(v);
          case "--probe-every" -> probeEvery = duration(v);
          case "--probe-timeout" -> probeTimeout = duration(v);
          case "--pid" -> pid = OptionalLong.of(Long.parseLong(v));
          case "--rss-limit" -> rssLimit = size(v);
          case "--heap-every" -> heapEvery = duration(v);
          case "--admin" -> admin = Optional.of(Path.of(v));
          case "--admin-every" -> adminEvery = duration(v);
          case "--pool-range" -> {
            String[] mm = v.split(":");
            if (mm.length != 2) {
              throw new IllegalArgumentException("expected MIN:MAX");
            }
            poolMin = size(mm[0]);
            poolMax = size(mm[1]);
            if (poolMin > poolMax) {
              throw new IllegalArgumentException("MIN is above MAX");
            }
          }
          default -> throw new IllegalArgumentException("unknown option (see --help)");
        }
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(option + " " + v + ": " + e.getMessage(), e);
      }
    }
    if (tcp.isEmpty() && unix.isEmpty()) {
      throw new IllegalArgumentException("give --tcp, --unix or both");
    }
    if (floodPercent < 0 || floodPercent > 100) {
      throw new IllegalArgumentException("--flood-percent must be 0..100");
    }
    if (region < 64 << 10 || region > 1L << 30) {
      throw new IllegalArgumentException("--region must be 64KiB..1GiB");
    }
    return new FuzzSettings(seed, duration, operations, clients, tcp, unix, export, readOnlyExport, region,
        maxRequest, maxDepth, floods, floodPercent, floodHold, floodRequests, floodConnections, replyTimeout,
        probeEvery, probeTimeout, pid, rssLimit, heapEvery, admin, adminEvery, poolMin, poolMax, writeback);
  }

  /** The settings as the command line that gives them (for the summary and failure reports). */
  public String commandLine() {
    StringBuilder b = new StringBuilder("--seed " + seed + " --duration " + duration.toSeconds() + "s");
    if (operations > 0) {
      b.append(" --operations ").append(operations);
    }
    b.append(" --clients ").append(clients).append(" --region ").append(region)
        .append(" --max-request ").append(maxRequest).append(" --depth ").append(maxDepth)
        .append(" --floods ").append(Flood.names(floods));
    if (!floods.isEmpty()) {
      b.append(" --flood-percent ").append(floodPercent).append(" --flood-hold ").append(floodHold.toMillis())
          .append("ms --flood-requests ").append(floodRequests).append(" --flood-connections ")
          .append(floodConnections);
    }
    return b.toString();
  }

  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmgt]?)(i?b)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

  /** {@code 4MiB}, {@code 512k}, {@code 1g}, {@code 4096}. */
  static long size(String s) {
    Matcher m = SIZE.matcher(s.strip().replace("_", ""));
    if (!m.matches()) {
      throw new IllegalArgumentException("not a size");
    }
    int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
      case "k" -> 10;
      case "m" -> 20;
      case "g" -> 30;
      case "t" -> 40;
      default -> 0;
    };
    return Long.parseLong(m.group(1)) << shift;
  }

  /** {@code 500ms}, {@code 60s}, {@code 10m}, {@code 2h}. */
  static Duration duration(String s) {
    Matcher m = DURATION.matcher(s.strip().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("not a duration (500ms, 60s, 10m, 2h)");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }

  private static InetSocketAddress hostPort(String s) {
    int colon = s.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("expected HOST:PORT");
    }
    String host = s.substring(0, colon).replace("[", "").replace("]", "");
    return new InetSocketAddress(host, Integer.parseInt(s.substring(colon + 1)));
  }

  private static int positive(int n) {
    if (n <= 0) {
      throw new IllegalArgumentException("must be positive");
    }
    return n;
  }
}
