#!/usr/bin/env bash
# fio over NBD with a working set 4x the pool limit vs all in memory; backing bytes per page.
# Usage: testkit/bench/writeback.sh [seconds] [working-set-MiB]
set -euo pipefail
cd "$(dirname "$0")/../.."
cp=$(testkit/bench/classpath.sh)
exec java -Xms512m -Xmx512m -XX:MaxDirectMemorySize=4g -Dlogback.configurationFile=testkit/bench/logback-bench.xml \
  -Dakka.actor.default-dispatcher.fork-join-executor.parallelism-min=2 \
  -Dakka.actor.default-dispatcher.fork-join-executor.parallelism-max=2 \
  -Dakka.actor.default-dispatcher.throughput=64 \
  -cp "$cp" io.zswapd.testkit.bench.WritebackBenchmark "$@"
