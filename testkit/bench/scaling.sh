#!/usr/bin/env bash
# Embedded store/load throughput by client threads (1, 2, 4, ... twice the cores), single pages
# and 32-page ranges, vs raw lz4-java on as many threads; cores busy and wake-ups per page.
# Usage: testkit/bench/scaling.sh [seconds-per-measurement] [max-threads] [store|load: that one cell]
# (JAVA_OPTS: more JVM flags, such as -Dzswapd.bench.executor=...; see ScalingBenchmark)
# (A 2 GiB heap holds the pages of 32 client threads; it is touched up front, or the first
# measurements pay for first-touch page faults the later ones do not.)
set -euo pipefail
cd "$(dirname "$0")/../.."
cp=$(testkit/bench/classpath.sh)
# shellcheck disable=SC2086 # JAVA_OPTS is a list of flags
exec java ${JAVA_OPTS:-} -Xms2g -Xmx2g -XX:+AlwaysPreTouch -XX:MaxDirectMemorySize=4g -Dlogback.configurationFile=testkit/bench/logback-bench.xml \
  -cp "$cp" io.zswapd.testkit.bench.ScalingBenchmark "$@"
