#!/usr/bin/env bash
# Memory back to the OS over NBD, against the daemon itself (java -jar zswapd.jar serve): write
# mixed data, trim 80% of it plus whole ranges, let the migration worker run; the daemon's RSS
# (minus its idle RSS) against the compressed bytes left, from /proc/PID/status and its
# Prometheus endpoint every 500 ms. memory_return.py runs it; memory_chart.py draws OUT.svg.
# Writes OUT.csv and OUT.svg (default docs/memory-return) and prints Markdown for BENCHMARKS.md.
# Usage: testkit/bench/memory_return.sh [GiB written] [seconds to settle] [cycles] [OUT]
#   GLIBC_DEFAULT_MMAP=1 in the environment starts the daemon without MALLOC_MMAP_THRESHOLD_.
# Needs the daemon jar (mvn -B -ntp -q -DskipTests package), fio (nbd engine) and
# python3-libnbd (Debian: fio python3-libnbd).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=""
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import nbd' 2>/dev/null; then python="$p"; break; fi
done
[ -n "$python" ] || { echo "python3-libnbd is needed (apt-get install python3-libnbd)" >&2; exit 1; }
[ -f io-bridge/target/zswapd.jar ] || { echo "no io-bridge/target/zswapd.jar: mvn -B -ntp -q -DskipTests package" >&2; exit 1; }
out="${4:-docs/memory-return}"
"$python" testkit/bench/memory_return.py --gib "${1:-2}" --settle "${2:-40}" --cycles "${3:-1}" --out "$out"
title="zswapd daemon: memory back to the OS after trimming 80% over NBD"
[ "${3:-1}" != 1 ] && title="$title, ${3} cycles"
[ "${GLIBC_DEFAULT_MMAP:-0}" = 1 ] && title="$title, glibc defaults"
python3 testkit/bench/memory_chart.py "$out.csv" "$out.svg" "$title"
