#!/usr/bin/env bash
# Embedded store/load throughput vs raw lz4-java, and memory after a steady 1 GiB write.
# Usage: testkit/bench/embedded.sh [seconds-per-measurement] [GiB-for-memory-run]
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -ntp -q -DskipTests install
cp=$(mvn -B -ntp -q -pl testkit dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
exec java -Xms4g -Xmx4g -XX:MaxDirectMemorySize=8g -cp "testkit/target/classes:$cp" \
  io.zswapd.testkit.bench.EmbeddedBenchmark "$@"
