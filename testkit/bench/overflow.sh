#!/usr/bin/env bash
# The overflow store for Akka applications (issue 19): put/get of 1 KiB values as byte[], as
# objects through Akka Serialization and on the heap; heap for ENTRIES values of 1 KiB in the
# store against a HashMap; the spill buffer with and without spilling against Akka's buffer.
# Usage: testkit/bench/overflow.sh [ENTRIES (default 1000000)]
set -euo pipefail
cd "$(dirname "$0")/../.."
cp=$(testkit/bench/classpath.sh)
exec java -Xms3g -Xmx3g -XX:+UseParallelGC -XX:MaxDirectMemorySize=4g \
  -Dlogback.configurationFile=testkit/bench/logback-bench.xml \
  -cp "$cp" io.zswapd.testkit.bench.OverflowBenchmark "${1:-1000000}"
