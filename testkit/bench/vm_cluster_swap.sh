#!/usr/bin/env bash
# A Linux kernel swapping to an export on memory nodes while one node is killed and another
# leaves: the VM test's guest and program (docs/VM-TEST.md) against a front, not one daemon.
#
#   testkit/bench/vm_cluster_swap.sh [WORKING_SET_MIB] [GUEST_RAM]     # defaults: 240 160M
#   NODE_POOL=24MiB testkit/bench/vm_cluster_swap.sh    # memory nodes too small for the working set
#
# Starts, all through bin/zswapd serve: a front (the cluster's seed) serving swap0 (512 MiB,
# placement = cluster, a backing file for the copies) and two memory nodes of 128 MiB each
# ($NODE_POOL: with pools smaller than the swapped pages, the pages they refuse are kept in the
# backing file only, and the front logs that it does so).
# The guest attaches swap0 with nbd-client -swap -persist and runs swaptest. When swaptest
# starts checking its pages (swap-in), memory node 2 is killed with SIGKILL and node 3 joins;
# when it is a quarter through them, node 1 leaves with SIGTERM (its shards are handed to node 3).
# Prints swaptest's result line, the kernel's pswpin/pswpout, the I/O error lines on the guest
# console (there must be none), and what the front logged about the shards that moved.
# Exit status: 0 when swaptest found no mismatch and the console has no I/O error line.
#
# Needs: the jar (mvn -B -ntp -q -DskipTests package), java 17+ and the VM test's inputs
# (qemu-system-x86 busybox-static nbd-client gcc libc6-dev, the kernel .deb). Logs and the
# console go to bench-out/vm-cluster-swap/.
set -euo pipefail
cd "$(dirname "$0")/../.."
. testkit/bench/daemon-start.sh

mib=${1:-240}
ram=${2:-160M}
node_pool=${NODE_POOL:-128MiB}
out=bench-out/vm-cluster-swap
image=testkit/target/vm/guest
[ -f io-bridge/target/zswapd.jar ] || { echo "io-bridge/target/zswapd.jar is missing: mvn -B -ntp -q -DskipTests package" >&2; exit 2; }
rm -rf "$out" && mkdir -p "$out"
out=$(cd "$out" && pwd)
testkit/vm/build-initramfs.sh "$image" >&2

front_port=$(free_port) nbd_port=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

cat > "$out/front.conf" <<EOF
zswapd { pool.max-size = 64 MiB
  exports = [ { name = "swap0", size = 512 MiB, placement = cluster, backing-file = "$out/swap0.backing" } ]
  cluster { role = front, bind = "127.0.0.1:$front_port", seed-nodes = ["127.0.0.1:$front_port"], down-unreachable-after = 5s }
  nbd { tcp = "127.0.0.1:$nbd_port", unix-socket = off }
  admin.unix-socket = "$out/front.sock", metrics.prometheus = off }
EOF
start() { # NAME CONFIG: a daemon in the background, its pid in $out/NAME.pid
  bin/zswapd serve --config "$2" > "$out/$1.log" 2>&1 &
  echo $! > "$out/$1.pid"
  pids+=("$!")
  await_banner "$out/$1.log" "$!"
}
node() { # I: memory node I
  cat > "$out/mem$1.conf" <<EOF
zswapd { pool.max-size = $node_pool, exports = []
  cluster { role = memory, bind = "127.0.0.1:$(free_port)", seed-nodes = ["127.0.0.1:$front_port"], down-unreachable-after = 5s }
  admin.unix-socket = "$out/mem$1.sock", metrics.prometheus = off }
EOF
  start "mem$1" "$out/mem$1.conf"
}
start front "$out/front.conf"
node 1
node 2

console=$out/console.log
ZSWAPD_VM_MEM=$ram timeout 1800 testkit/vm/run-guest.sh "$image" nbd "$mib" "$nbd_port" swap0 > "$console" 2>&1 &
guest=$!
await_console() { # PATTERN: waits until the console shows it (or the guest ends)
  until grep -aq "$1" "$console"; do
    kill -0 "$guest" 2>/dev/null || return 0
    sleep 0.5
  done
}
await_console 'swaptest: fill: '
kill -9 "$(cat "$out/mem2.pid")"
echo "$(date +%T) swap-in begins: memory node 2 killed with SIGKILL; node 3 joins"
node 3
await_console 'swaptest: verify 25%'
kill -TERM "$(cat "$out/mem1.pid")"
echo "$(date +%T) a quarter checked: memory node 1 leaves with SIGTERM"
wait "$guest" || true
for name in front mem3; do kill -TERM "$(cat "$out/$name.pid")" 2>/dev/null || true; done
wait || true

head -n 1 "$console"
grep -a '^SWAPTEST \|pswpin\|pswpout\|END status' "$console" | tr -d '\r' || true
errors=$(grep -a -c -E 'Write-error on swap-device|Read-error on swap-device|Other side returned error|I/O error|blk_update_request|Kernel panic' "$console" || true)
echo "guest console: $errors I/O error lines"
echo "front: $(grep -c 'are served from their copies' "$out/front.log" || true) shards came back from their copies," \
  "$(grep -c 'which takes its pages over' "$out/front.log" || true) were handed over;" \
  "$(grep -c 'pages it refuses are kept in the backing file only' "$out/front.log" || true) kept pages in the file only;" \
  "$(grep -c ' ERROR ' "$out/front.log" || true) ERROR lines"
if grep -aq '^SWAPTEST .*mismatches=0 ' "$console" && grep -aq 'ZSWAPD-VM: END status=0' "$console" && [ "$errors" = 0 ]; then
  echo "PASSED"
else
  echo "FAILED: the end of the console:"; tail -n 30 "$console"; exit 1
fi
