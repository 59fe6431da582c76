#!/usr/bin/env bash
# Packs the embedded scaling benchmark (ScalingBenchmark, as testkit/bench/scaling.sh runs it)
# for a machine with many cores and no Java: a jlink'ed runtime, the daemon jar slimmed to Linux
# x86-64 natives, the benchmark's classes and run.sh, as bench-out/device/ and, compressed,
# bench-out/device-kit.tar.xz (git-ignored), which must stay under the 64 MiB a device run
# may carry. Issue 16's 16-core table is made with it (docs/BENCHMARKS.md).
#
# Usage: testkit/bench/device-kit.sh                   build the kit (builds the project first)
#        bench-out/device/run.sh [seconds] [max-threads]  run it: Markdown on stdout
#                                                      (defaults: 3 s, twice the cores)
#   ZSWAPD_JDK  a JDK 22 or later whose jlink makes the runtime (default: Temurin 25)
# On the device machine (carry ["bench-out/device-kit.tar.xz"]):
#   tar -xJf bench-out/device-kit.tar.xz -C /tmp && /tmp/device/run.sh 3 > "$OUT/scaling.md"
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
jdk=${ZSWAPD_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}
[ -x "$jdk/bin/jlink" ] || { echo "device-kit: no jlink in $jdk (set ZSWAPD_JDK to a JDK 22 or later)" >&2; exit 2; }
command -v xz >/dev/null || { echo "device-kit: xz is missing (Debian: xz-utils)" >&2; exit 2; }
kit=$root/bench-out/device
archive=$root/bench-out/device-kit.tar.xz
limit=$((64 << 20))

# The build and the benchmark's classpath (a snapshot of the compiled classes, then the jars).
cp=$("$root/testkit/bench/classpath.sh")
testkit_classes=$(tr ':' '\n' <<< "$cp" | grep '/testkit$')
# EngineFixture starts the engine through Akka's ActorTestKit, which the daemon jar does not hold.
akka_testkits=$(tr ':' '\n' <<< "$cp" | grep -E '/akka-(actor-testkit-typed|testkit)_[^/]*\.jar$' || true)
[ "$(wc -l <<< "$akka_testkits")" = 2 ] || { echo "device-kit: Akka's two test kits are not on testkit's classpath" >&2; exit 2; }

rm -rf "$kit" "$archive"
mkdir -p "$kit/lib"
# The daemon jar holds the engine and every library it uses; the benchmark adds its own classes
# and the Akka test kits. Stored, not deflated: the archive compresses them better whole.
python3 "$root/packaging/slim-jar.py" --stored "$root/io-bridge/target/zswapd.jar" "$kit/lib/zswapd.jar"
"$jdk/bin/jar" --create --no-compress --file "$kit/lib/testkit.jar" -C "$testkit_classes" io/zswapd/testkit
cp $akka_testkits "$kit/lib/"
rm -rf "$(dirname "$testkit_classes")"
cp "$root/testkit/bench/logback-bench.xml" "$kit/"

# The modules the engine and the benchmark use; not what jdeps lists for the whole jar, which
# adds java.desktop (Typesafe Config's bean factory), jdk.jfr, jdk.httpserver and more that the
# benchmark never loads. Uncompressed for the same reason as the jars; libjvm.so's symbol
# table stripped (5 MiB; jlink's --strip-debug leaves it).
modules=java.base,java.logging,java.management,java.naming,java.xml,jdk.management,jdk.unsupported
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --output "$kit/runtime"
if command -v strip >/dev/null; then
  strip --strip-unneeded "$kit/runtime/lib/server/libjvm.so"
fi

cat > "$kit/run.sh" <<'RUN'
#!/bin/sh
# The embedded scaling benchmark on the runtime beside this script; no Java needed on the machine.
# Usage: run.sh [seconds-per-measurement (3)] [max-threads (twice the cores)]
# The heap holds every client thread's pages twice (4096 pages each, and a contiguous copy);
# touched up front, as scaling.sh does, so that no measurement pays for first-touch page faults.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/runtime/bin/java" -Xms6g -Xmx6g -XX:+AlwaysPreTouch -XX:MaxDirectMemorySize=4g \
  --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -Dlogback.configurationFile="$here/logback-bench.xml" \
  -cp "$here/lib/testkit.jar:$here/lib/zswapd.jar:$(ls "$here"/lib/akka-*.jar | tr '\n' ':')" \
  io.zswapd.testkit.bench.ScalingBenchmark "$@"
RUN
chmod +x "$kit/run.sh"

tar -C "$(dirname "$kit")" -cf - "$(basename "$kit")" | xz -T0 -6 > "$archive"
size=$(stat -c %s "$archive")
echo "device-kit: $archive, $((size >> 20)) MiB ($(du -sm "$kit" | cut -f1) MiB unpacked in $kit)" >&2
if [ "$size" -gt "$limit" ]; then
  echo "device-kit: the archive is $((size >> 20)) MiB, more than the 64 MiB a device run may carry" >&2
  exit 1
fi
