#!/usr/bin/env bash
# A Linux kernel swapping four ways, same guest, same program, same working set, one run:
# zram (lz4) inside the guest, zswapd over NBD with a pool that holds everything, zswapd over
# NBD with a small pool and a backing file ($SMALL_POOL, 48 MiB unless set), nbdkit's memory
# plugin over NBD.
#
#   testkit/bench/vm_swap.sh [GUEST_RAM] [WORKING_SET_MIB]      # defaults: 384M 576 (1.5x)
#
# The guest is the VM test's (docs/VM-TEST.md): testkit/vm/build-initramfs.sh builds it,
# testkit/vm/run-guest.sh boots it (KVM only if a probe boot works, TCG otherwise: the first
# line of each console says which). swaptest fills the working set (swap-out), checks every
# page in random order (swap-in), rewrites a quarter and checks again. Prints a Markdown table
# for docs/BENCHMARKS.md: swaptest's MB/s, the kernel's pswpout/pswpin, mismatches, and the
# server's memory on the host (VmRSS when the guest has powered off, and VmHWM, its peak).
# zram's memory is in the guest: its mm_stat mem_used_max is given instead.
#
# The default is not the test's 160 MiB guest with 240 MiB: zram keeps its compressed pages
# in the guest's own RAM, and a 160 MiB guest (70 MiB free after boot) thrashes without end
# holding 240 MiB at lz4's 3x; 384 MiB (290 MiB free) holds 576 MiB.
#
# Needs: the jar (mvn -B -ntp -q -DskipTests package), java 17+ (22+ for the launcher's
# defaults), nbdkit, and the VM test's
# inputs (qemu-system-x86 busybox-static nbd-client gcc libc6-dev, the kernel .deb).
# Consoles and logs go to bench-out/vm-swap/.
set -euo pipefail
cd "$(dirname "$0")/../.."
. testkit/bench/daemon-start.sh

ram=${1:-384M}
mib=${2:-576}
jar=io-bridge/target/zswapd.jar
out=bench-out/vm-swap
image=testkit/target/vm/guest
[ -f "$jar" ] || { echo "$jar is missing: mvn -B -ntp -q -DskipTests package" >&2; exit 2; }
command -v nbdkit >/dev/null || { echo "nbdkit not found (Debian: apt-get install nbdkit)" >&2; exit 2; }
mkdir -p "$out"
testkit/vm/build-initramfs.sh "$image" >&2

status_kib() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status"; }
mib_of() { awk -v k="$1" 'BEGIN{printf "%.0f MiB", k/1024}'; }

declare -A row
# run_guest NAME MODE [PORT]: boots the guest, keeps its console in $out/NAME.console
run_guest() {
  local name=$1 mode=$2 port=${3:-10809} start
  start=$(date +%s)
  ZSWAPD_VM_MEM=$ram timeout 1800 testkit/vm/run-guest.sh "$image" "$mode" "$mib" "$port" \
    > "$out/$name.console" 2>&1 || true
  row[$name.seconds]=$(( $(date +%s) - start ))
  local console=$out/$name.console result
  result=$(grep -a '^SWAPTEST ' "$console" | tr -d '\r' || true)
  if [ -z "$result" ] || ! grep -aq 'ZSWAPD-VM: END status=0' "$console"; then
    echo "$name: the guest did not finish cleanly; its console:" >&2
    tail -n 40 "$console" >&2
    exit 1
  fi
  field() { echo "$result" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k{print $2}'; }
  row[$name.out]=$(field out_mbps)
  row[$name.in]=$(field in_mbps)
  row[$name.in2]=$(field in2_mbps)
  row[$name.mismatches]=$(field mismatches)
  row[$name.pswpout]=$(grep -a 'vmstat pswpout' "$console" | tr -d '\r' | awk '{print $NF}')
  row[$name.pswpin]=$(grep -a 'vmstat pswpin' "$console" | tr -d '\r' | awk '{print $NF}')
  row[$name.accel]=$(sed -n 's/^zswapd-vm: accelerator \([a-z]*\).*/\1/p' "$console" | head -n 1)
  echo "$name: ${row[$name.seconds]} s, $result" >&2
}

# 1. zram in the guest
run_guest zram zram
used_max=$(grep -a 'zram mm_stat' "$out/zram.console" | tr -d '\r' | awk '{print $(NF-4)}')
row[zram.rss]="— (in the guest)"
row[zram.hwm]="zram mem_used_max $(mib_of $((used_max / 1024)))"

# 2. zswapd over NBD, started by the launcher as the README says (bin/zswapd: JDK 22+ when
# there is one, mmap'ed chunks, locked memory, a heap sized from the exports), twice:
# with a 1 GiB pool (every page stays in memory), and with a pool smaller than what the
# guest swaps out plus a backing file (stores past the limit wait for writeback, swap-ins
# read the file): $SMALL_POOL, 48 MiB unless set.
# run_zswapd NAME POOL [BACKING_SIZE]
run_zswapd() {
  local name=$1 pool=$2 backing=${3:-} port work zpid file=""
  port=$(free_port)
  work=$(mktemp -d)
  [ -z "$backing" ] || file=", backing-file = \"$work/swap0.backing\", backing-size = $backing"
  cat > "$work/zswapd.conf" <<EOF
zswapd.pool.max-size = $pool
zswapd.exports = [ { name = "swap0", size = 1 GiB$file } ]
zswapd.nbd { tcp = "127.0.0.1:$port", unix-socket = "$work/zswapd.sock" }
zswapd.admin.unix-socket = "$work/admin.sock"
zswapd.metrics.prometheus = off
EOF
  ZSWAPD_JAR=$jar bin/zswapd serve --config "$work/zswapd.conf" > "$out/$name.log" 2>&1 &
  zpid=$!
  trap "kill $zpid 2>/dev/null || true; rm -rf '$work'" EXIT
  await_banner "$out/$name.log" "$zpid"
  row[$name.rss0]=$(status_kib "$zpid" VmRSS)
  run_guest "$name" nbd "$port"
  sleep 12 # a migration period (10 s): what the engine gives back after the last discards
  row[$name.rss]="$(mib_of "$(status_kib "$zpid" VmRSS)")"
  row[$name.hwm]="$(mib_of "$(status_kib "$zpid" VmHWM)")"
  ZSWAPD_JAR=$jar bin/zswapd stats --admin "$work/admin.sock" > "$out/$name.stats"
  kill "$zpid"
  wait "$zpid" 2>/dev/null || true
  rm -rf "$work"
  trap - EXIT
}
stat_of() { awk -v k="$2" '$1==k{print $2}' "$out/$1.stats"; }
small_pool=${SMALL_POOL:-48MiB}
run_zswapd zswapd "1 GiB"
run_zswapd zswapd_file "$small_pool" "1 GiB"

# 3. nbdkit's memory plugin over NBD (pages kept uncompressed; TRIM frees them)
port=$(free_port)
nbdkit -f -i 127.0.0.1 -p "$port" memory 1G > "$out/nbdkit.log" 2>&1 &
npid=$!
trap 'kill $npid 2>/dev/null || true' EXIT
sleep 1
run_guest nbdkit nbd "$port"
row[nbdkit.rss]="$(mib_of "$(status_kib "$npid" VmRSS)")"
row[nbdkit.hwm]="$(mib_of "$(status_kib "$npid" VmHWM)")"
kill "$npid"
wait "$npid" 2>/dev/null || true

echo
echo "Guest RAM $ram, working set $mib MiB, accelerator ${row[zswapd.accel]}; zswapd's RSS before the guest: $(mib_of "${row[zswapd.rss0]}"), its compression ratio at the end $(stat_of zswapd compression_ratio), invalidated_pages $(stat_of zswapd invalidated_pages)."
echo "With the $small_pool pool and a backing file: pool_limit_hit $(stat_of zswapd_file pool_limit_hit), reject_reclaim_fail $(stat_of zswapd_file reject_reclaim_fail), written_back_pages $(stat_of zswapd_file written_back_pages), loads_from_backing $(stat_of zswapd_file loads_from_backing), backing_file_bytes $(stat_of zswapd_file backing_file_bytes), write_errors $(stat_of zswapd_file write_errors), read_errors $(stat_of zswapd_file read_errors)."
echo
echo "| swap device | swap-out (fill) MB/s | swap-in (verify) MB/s | verify after rewrite MB/s | pswpout | pswpin | mismatches | guest run | server RSS at the end | server peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for name in zram zswapd zswapd_file nbdkit; do
  case $name in
    zram) label="zram (lz4) in the guest" ;;
    zswapd) label="zswapd over NBD (TCP)" ;;
    zswapd_file) label="zswapd over NBD (TCP), $small_pool pool + backing file" ;;
    nbdkit) label="nbdkit memory over NBD (TCP)" ;;
  esac
  echo "| $label | ${row[$name.out]} | ${row[$name.in]} | ${row[$name.in2]} | ${row[$name.pswpout]} | ${row[$name.pswpin]} | ${row[$name.mismatches]} | ${row[$name.seconds]} s | ${row[$name.rss]} | ${row[$name.hwm]} |"
done
