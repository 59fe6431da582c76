#!/usr/bin/env bash
# Recompression on real memory (issue 18): makes the corpus (gcore of a JVM and of a Python
# process, shared libraries, text; testkit/bench/recompress_corpus.sh), then measures pool
# bytes after lz4, after recompressing with zstd 3 and 9, and with zstd alone; the CPU cost;
# loads of recompressed pages; the foreground during a background pass.
# Usage: testkit/bench/recompress.sh [CORPUS_DIR (default bench-out/corpus)] [MAX_MIB per file (96)]
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-bench-out/corpus}
[ -f "$dir/text.bin" ] || testkit/bench/recompress_corpus.sh "$dir" "${2:-96}"
cp=$(testkit/bench/classpath.sh)
exec java -Xms1g -Xmx3g -XX:MaxDirectMemorySize=6g -Dlogback.configurationFile=testkit/bench/logback-bench.xml \
  -Dakka.actor.default-dispatcher.fork-join-executor.parallelism-min=2 \
  -Dakka.actor.default-dispatcher.fork-join-executor.parallelism-max=2 \
  -Dakka.actor.default-dispatcher.throughput=64 \
  -cp "$cp" io.zswapd.testkit.bench.RecompressBenchmark "$dir/jvm.core" "$dir/python.core" "$dir/libs.bin" "$dir/text.bin"
