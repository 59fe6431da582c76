#!/usr/bin/env bash
# Memory back to the OS over NBD: write mixed data, trim 80% of it plus whole ranges, let the
# migration worker run; RSS (minus the idle server's) against the compressed bytes left.
# Writes OUT.csv and OUT.svg (default docs/memory-return) and prints Markdown for BENCHMARKS.md.
# Usage: testkit/bench/memory_return.sh [GiB written] [seconds to settle] [cycles] [OUT]
#   GLIBC_DEFAULT_MMAP=1 in the environment runs without MALLOC_MMAP_THRESHOLD_ (see below).
# Needs fio (nbd engine) and python3-libnbd (Debian: fio python3-libnbd).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=""
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import nbd' 2>/dev/null; then python="$p"; break; fi
done
[ -n "$python" ] || { echo "python3-libnbd is needed (apt-get install python3-libnbd)" >&2; exit 1; }
out="${4:-docs/memory-return}"
cp=$(testkit/bench/classpath.sh)
# The heap is fixed and touched up front (as docs/OPERATIONS.md recommends for a swap daemon),
# so RSS moves with off-heap memory only. A fixed mmap threshold keeps glibc from serving
# chunks from its heap arenas after the first free (it raises the threshold dynamically),
# from where free() could not give them back to the OS.
malloc_env=(MALLOC_MMAP_THRESHOLD_=131072)
[ "${GLIBC_DEFAULT_MMAP:-0}" = 1 ] && malloc_env=()
env "${malloc_env[@]}" java -Xms256m -Xmx256m -XX:+AlwaysPreTouch -XX:MaxDirectMemorySize=4g \
  -Dlogback.configurationFile=testkit/bench/logback-bench.xml \
  -Dakka.actor.default-dispatcher.fork-join-executor.parallelism-min=2 \
  -Dakka.actor.default-dispatcher.fork-join-executor.parallelism-max=2 \
  -Dakka.actor.default-dispatcher.throughput=64 \
  -Dbench.python="$python" \
  -cp "$cp" io.zswapd.testkit.bench.MemoryReturnBenchmark "${1:-2}" "${2:-40}" "$out.csv" "${3:-1}"
python3 testkit/bench/memory_chart.py "$out.csv" "$out.svg"
