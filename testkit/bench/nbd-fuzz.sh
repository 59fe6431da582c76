#!/usr/bin/env bash
# The NBD fuzzer (io.zswapd.testkit.fuzz.NbdFuzzer) against a daemon of its own: starts
# `bin/zswapd serve` as the README does (the launcher's JVM and flags: a fixed, pre-touched heap
# sized from the config, the serial GC) with a writable export "fuzz" (a backing file by default), a read-only
# export "ro", the admin socket and a migration period of 1 s; runs the fuzzer over TCP and the
# Unix socket with live pool-limit changes, compaction and writeback through the admin socket,
# RSS sampled from /proc and the heap from jcmd; then stops the daemon and says how it ended.
#
# Usage: testkit/bench/nbd-fuzz.sh [script options] [fuzzer options]
#   script options:
#     --xmx SIZE          the daemon's -Xms/-Xmx instead of the launcher's (for example 512m)
#     --java PATH         the java to run the daemon on (default: the launcher's choice)
#     --pool SIZE         zswapd.pool.max-size; the admin changes pick in [pool/8, pool] (default 256MiB)
#     --export-size SIZE  size of the "fuzz" export (default 8GiB; sparse)
#     --no-backing        no backing file (a full pool then answers ENOSPC) and no writeback commands
#     --memory-nodes N    place "fuzz" on N memory nodes (daemons of their own, each with a pool
#                         of --pool) instead of the daemon's pool: the daemon is then their front
#     --kill-node-every D with --memory-nodes: every D (30s, 2m) stop one memory node with
#                         --node-signal and start a fresh one in its place; nothing acknowledged
#                         may be lost
#     --node-signal SIG   KILL (the default; needs the backing file, whose copies the front serves
#                         and restores) or TERM (a graceful leave: the node hands its shards off,
#                         with or without a backing file)
#     --keep              keep the work directory (config, daemon log, backing file)
#   fuzzer options: see `NbdFuzzer --help` (printed by --fuzzer-help); the script passes --tcp,
#     --unix, --export fuzz, --ro-export ro, --pid and --admin, and --pool-range, --writeback and
#     --heap-every 10s unless given.
# Examples:
#   the 10M-operation soak:      testkit/bench/nbd-fuzz.sh --seed 1 --operations 10000000 --duration 24h \
#                                  --clients 8 --region 16MiB
#   the floods of issue 15:      testkit/bench/nbd-fuzz.sh --seed 1 --duration 3m --floods all --flood-percent 20
#   one flood, bounded RSS:      testkit/bench/nbd-fuzz.sh --floods unread-reads --rss-limit 1GiB --duration 2m
#   on memory nodes, one lost:   testkit/bench/nbd-fuzz.sh --seed 1 --duration 5m --memory-nodes 2 --kill-node-every 90s
#   ... leaving gracefully:      testkit/bench/nbd-fuzz.sh --seed 1 --duration 5m --memory-nodes 2 --no-backing \
#                                  --kill-node-every 60s --node-signal TERM
# Exit status: the fuzzer's (0 passed, 1 failed, 2 usage); 3 if the daemon did not start.
set -euo pipefail
cd "$(dirname "$0")/../.."
. testkit/bench/daemon-start.sh
xmx=""
java_bin=""
pool=256MiB
size=8GiB
backing=1
keep=0
nodes=0
kill_every=""
node_signal=KILL
fuzz=()
while [ $# -gt 0 ]; do
  case "$1" in
    --xmx) xmx=$2; shift 2 ;;
    --java) java_bin=$2; shift 2 ;;
    --pool) pool=$2; shift 2 ;;
    --export-size) size=$2; shift 2 ;;
    --no-backing) backing=0; shift ;;
    --memory-nodes) nodes=$2; shift 2 ;;
    --kill-node-every) kill_every=$2; shift 2 ;;
    --node-signal) node_signal=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fuzz+=("$1"); shift ;;
  esac
done
given() { local o; for o in "${fuzz[@]+"${fuzz[@]}"}"; do [ "$o" = "$1" ] && return 0; done; return 1; }
if [ "$node_signal" != KILL ] && [ "$node_signal" != TERM ]; then
  echo "--node-signal is KILL or TERM, not $node_signal" >&2
  exit 2
fi
if [ -n "$kill_every" ] && { [ "$nodes" -lt 2 ] || { [ "$backing" = 0 ] && [ "$node_signal" = KILL ]; }; }; then
  echo "--kill-node-every needs --memory-nodes 2 or more, and with SIGKILL a backing file (the copies that survive)" >&2
  exit 2
fi

# The fuzzer needs the testkit's classes and what the daemon jar already holds (the protocol,
# the admin client, logging), so the daemon jar is its classpath too; both are private copies,
# so rebuilding the work tree cannot change a run in flight.
mvn -B -ntp -q -DskipTests package >&2
dir=$(mktemp -d /tmp/zswapd-fuzz.XXXXXX)
cp io-bridge/target/zswapd.jar "$dir/zswapd.jar"
cp -r testkit/target/classes "$dir/testkit-classes"
cp="$dir/testkit-classes:$dir/zswapd.jar"
if given --fuzzer-help; then java -cp "$cp" io.zswapd.testkit.fuzz.NbdFuzzer --help; rm -rf "$dir"; exit 0; fi
daemon=""
cleanup() {
  if [ -n "$chaos" ]; then kill "$chaos" 2>/dev/null || true; fi
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -9 "$daemon" 2>/dev/null || true; fi
  for f in "$dir"/mem*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
  if [ "$keep" = 1 ]; then echo "work directory kept: $dir" >&2; else rm -rf "$dir"; fi
}
chaos=""
trap cleanup EXIT

pool_bytes=$(python3 -c "import re,sys; m=re.fullmatch(r'(\d+)\s*([kmgt]?)(i?b)?', sys.argv[1].strip(), re.I); \
print(int(m.group(1)) << {'':0,'k':10,'m':20,'g':30,'t':40}[m.group(2).lower()])" "$pool")
backing_conf=""
placement_conf=""
if [ "$nodes" -gt 0 ]; then
  # The front is the cluster's only seed node: a memory node started again in a dead one's place
  # must join the cluster, never start one of its own.
  placement_conf=", placement = cluster"
  front_port=$(free_port)
  cluster_conf="zswapd.cluster { role = front, bind = \"127.0.0.1:$front_port\", seed-nodes = [\"127.0.0.1:$front_port\"], down-unreachable-after = 5s }"
fi
if [ "$backing" = 1 ]; then backing_conf=", backing-file = \"$dir/fuzz.backing\""; fi
cat > "$dir/zswapd.conf" <<EOF
zswapd.pool.max-size = $pool_bytes
zswapd.pool.migration.period = 1s
zswapd.exports = [
  { name = "fuzz", size = $size$backing_conf$placement_conf },
  { name = "ro", size = 64 MiB, read-only = true }
]
zswapd.nbd.tcp = "127.0.0.1:0"
zswapd.nbd.unix-socket = "$dir/zswapd.sock"
# Floods hold hundreds of connections (--flood-connections per client); the default limit of 64
# would refuse the checked clients and the probe, which is right for a daemon but not what a run
# measures. ConnectionLimitsTest covers the limit itself.
zswapd.nbd.max-connections = 1024
zswapd.admin.unix-socket = "$dir/zswapd-admin.sock"
zswapd.metrics.prometheus = off
${cluster_conf:-}
EOF
if [ "$backing" = 1 ]; then echo 'zswapd.pool.writeback.idle-after = 5s' >> "$dir/zswapd.conf"; fi

# The launcher execs java, so $! is the daemon's JVM.
launcher=$(pwd)/bin/zswapd

# Memory node I (1..N) on a port of its own, started in the background; its pid in mem$I.pid,
# its log appended to mem$I.log (a node started again in a killed one's place is its next
# incarnation, on the same port).
start_node() {
  local i=$1
  if [ ! -f "$dir/mem$i.conf" ]; then
    cat > "$dir/mem$i.conf" <<EOF
zswapd { pool.max-size = $pool_bytes, exports = []
  cluster { role = memory, bind = "127.0.0.1:$(free_port)", seed-nodes = ["127.0.0.1:$front_port"], down-unreachable-after = 5s }
  admin.unix-socket = "$dir/mem$i-admin.sock", metrics.prometheus = off }
EOF
  fi
  (cd "$dir" && exec env ZSWAPD_JAR="$dir/zswapd.jar" ${java_bin:+ZSWAPD_JAVA="$java_bin"} "$launcher" serve \
    --config "mem$i.conf" >> "mem$i.log" 2>&1) &
  echo $! > "$dir/mem$i.pid"
}

(cd "$dir" && exec env ZSWAPD_JAR="$dir/zswapd.jar" ZSWAPD_JAVA_OPTS="${xmx:+-Xms$xmx -Xmx$xmx}" \
  ${java_bin:+ZSWAPD_JAVA="$java_bin"} "$launcher" serve --config zswapd.conf > daemon.log 2>&1) &
daemon=$!
for i in $(seq 1 "$nodes"); do start_node "$i"; done
await_banner "$dir/daemon.log" "$daemon"
for i in $(seq 1 "$nodes"); do await_banner "$dir/mem$i.log" "$(cat "$dir/mem$i.pid")"; done
if [ "$nodes" -gt 0 ]; then echo "$nodes memory nodes, pool $pool each: the daemon is their front (cluster port $front_port)"; fi
if [ -n "$kill_every" ]; then
  seconds=$(python3 -c "import re,sys; m=re.fullmatch(r'(\d+)\s*(s|m|h)?', sys.argv[1]); \
print(int(m.group(1)) * {None:1,'s':1,'m':60,'h':3600}[m.group(2)])" "$kill_every")
  (
    i=0
    while sleep "$seconds"; do
      i=$((i % nodes + 1))
      pid=$(cat "$dir/mem$i.pid")
      kill -"$node_signal" "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      echo "$(date +%T) memory node $i (pid $pid) stopped with SIG$node_signal; started again" >&2
      start_node "$i"
    done
  ) &
  chaos=$!
fi
port=$(sed -n 's/^  NBD over TCP: *127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/daemon.log")
jvm=$(tr '\0' ' ' < "/proc/$daemon/cmdline" | grep -o -- '-Xmx[^ ]*' | tail -n 1)
echo "daemon pid $daemon: $(readlink "/proc/$daemon/exe") $jvm, pool $pool, export fuzz $size$([ "$backing" = 1 ] && echo ' with a backing file'), TCP port $port; work directory $dir"

extra=(--tcp "127.0.0.1:$port" --unix "$dir/zswapd.sock" --export fuzz --ro-export ro --pid "$daemon"
  --admin "$dir/zswapd-admin.sock")
given --pool-range || extra+=(--pool-range "$((pool_bytes / 8)):$pool_bytes")
given --heap-every || extra+=(--heap-every 10s)
if [ "$backing" = 1 ] && ! given --writeback; then extra+=(--writeback); fi
status=0
java -Xmx1g -Dlogback.configurationFile=testkit/bench/logback-bench.xml -cp "$cp" \
  io.zswapd.testkit.fuzz.NbdFuzzer "${extra[@]}" "${fuzz[@]+"${fuzz[@]}"}" || status=$?

if kill -0 "$daemon" 2>/dev/null; then
  kill -TERM "$daemon"
  end=$((SECONDS + 90))
  while kill -0 "$daemon" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
  if kill -0 "$daemon" 2>/dev/null; then
    echo "daemon: still running 90 s after SIGTERM; killed" >&2
  else
    wait "$daemon" && rc=0 || rc=$?
    echo "daemon: stopped by SIGTERM, exit status $rc (143 is a clean stop)"
  fi
else
  wait "$daemon" && rc=0 || rc=$?
  echo "daemon: DIED during the run, exit status $rc; the end of its log:"
  grep -v '^\s*at ' "$dir/daemon.log" | tail -n 15
fi
if [ -n "$chaos" ]; then kill "$chaos" 2>/dev/null || true; chaos=""; fi
for i in $(seq 1 "$nodes"); do
  pid=$(cat "$dir/mem$i.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    end=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
    echo "memory node $i: $(kill -0 "$pid" 2>/dev/null && echo 'still running 60 s after SIGTERM' || echo 'stopped by SIGTERM');" \
      "log: $(grep -c ' WARN ' "$dir/mem$i.log" || true) WARN, $(grep -c ' ERROR ' "$dir/mem$i.log" || true) ERROR"
  else
    echo "memory node $i: DIED during the run; the end of its log:"
    grep -v '^\s*at ' "$dir/mem$i.log" | tail -n 15
  fi
done
warns=$(grep -c ' WARN ' "$dir/daemon.log" || true)
errors=$(grep -c ' ERROR ' "$dir/daemon.log" || true)
echo "daemon log: $(wc -l < "$dir/daemon.log") lines, $warns WARN, $errors ERROR"
exit "$status"
