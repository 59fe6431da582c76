#!/usr/bin/env bash
# Builds the project and prints a classpath for running a benchmark from a private copy of
# the compiled classes, so rebuilding the work tree cannot change a benchmark in flight.
set -euo pipefail
cd "$(dirname "$0")/../.."
deps=$(mktemp)
# One reactor build: the project's modules come from this work tree (never from ~/.m2, which may
# hold an older install), their third-party dependencies from the local repository. The last
# module, testkit, writes the file last, with everything it needs.
mvn -B -ntp -q -DskipTests package dependency:build-classpath -Dmdep.outputFile="$deps" \
  -DexcludeGroupIds=io.zswapd >&2
snapshot=$(mktemp -d /tmp/zswapd-bench.XXXXXX)
for m in config protocol actors io-bridge testkit; do
  mkdir -p "$snapshot/$m" && cp -r "$m/target/classes/." "$snapshot/$m/"
done
printf '%s:%s:%s:%s:%s:%s' "$snapshot/config" "$snapshot/protocol" "$snapshot/actors" "$snapshot/io-bridge" \
  "$snapshot/testkit" "$(cat "$deps")"
rm -f "$deps"
