#!/usr/bin/env bash
# Embedded store/load throughput vs raw lz4-java, and memory after a steady 1 GiB write.
# Usage: testkit/bench/embedded.sh [seconds-per-measurement] [GiB-for-memory-run]
set -euo pipefail
cd "$(dirname "$0")/../.."
cp=$(testkit/bench/classpath.sh)
exec java -Xms4g -Xmx4g -XX:MaxDirectMemorySize=8g -Dlogback.configurationFile=testkit/bench/logback-bench.xml \
  -cp "$cp" io.zswapd.testkit.bench.EmbeddedBenchmark "$@"
