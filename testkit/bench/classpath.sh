#!/usr/bin/env bash
# Builds the project and prints a classpath for running a benchmark from a private copy of
# the compiled classes, so rebuilding the work tree cannot change a benchmark in flight.
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -ntp -q -DskipTests package >&2
snapshot=$(mktemp -d /tmp/zswapd-bench.XXXXXX)
for m in config protocol actors io-bridge testkit; do
  mkdir -p "$snapshot/$m" && cp -r "$m/target/classes/." "$snapshot/$m/"
done
deps=$(mktemp)
mvn -B -ntp -q -pl testkit dependency:build-classpath -Dmdep.outputFile="$deps" -DexcludeGroupIds=io.zswapd >&2
printf '%s:%s:%s:%s:%s:%s' "$snapshot/config" "$snapshot/protocol" "$snapshot/actors" "$snapshot/io-bridge" \
  "$snapshot/testkit" "$(cat "$deps")"
rm -f "$deps"
