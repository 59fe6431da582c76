#!/usr/bin/env bash
# Real memory contents for the recompression benchmark (issue 18), not generated pages:
#   jvm.core     gcore of a JVM holding a workload's data (maps of strings, boxed numbers,
#                byte buffers of JSON-like records), heap 192 MiB
#   python.core  gcore of a Python interpreter holding a dict of records and a list of floats
#   libs.bin     shared libraries as they are mapped: libjvm.so, libc, libstdc++, libcrypto, python
#   text.bin     text: C headers from /usr/include and the licences in /usr/share/common-licenses
# Each file is cut to at most MAX_MIB (default 96) so the run stays short on 2 cores.
#
#   testkit/bench/recompress_corpus.sh OUT_DIR [MAX_MIB]
#
# Needs gdb (gcore), python3 and a JDK (java on PATH or JAVA_HOME). Run as root or with
# ptrace allowed (kernel.yama.ptrace_scope 0) for gcore.
set -euo pipefail
out=${1:?usage: recompress_corpus.sh OUT_DIR [MAX_MIB]}
max_mib=${2:-96}
mkdir -p "$out"
command -v gcore >/dev/null || { echo "gcore not found (Debian: apt-get install gdb)" >&2; exit 2; }
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
work=$(mktemp -d)
trap 'kill $jpid $ppid 2>/dev/null || true; rm -rf "$work"' EXIT
jpid=""
ppid=""

cut_to() { # cut_to FILE: keep the first max_mib MiB
  local size
  size=$(stat -c %s "$1")
  if [ "$size" -gt $((max_mib << 20)) ]; then
    truncate -s $((max_mib << 20)) "$1"
  fi
}

# 1. a JVM holding an application's data
cat > "$work/Holder.java" <<'EOF'
import java.nio.charset.StandardCharsets;
import java.util.*;

public class Holder {
  public static void main(String[] args) throws Exception {
    Random rnd = new Random(18);
    String[] words = {"order", "customer", "invoice", "status", "shipped", "pending", "amount", "currency",
        "EUR", "USD", "address", "street", "city", "Berlin", "Lisbon", "Oslo", "item", "quantity", "price"};
    Map<String, List<Object>> byKey = new HashMap<>();
    List<byte[]> records = new ArrayList<>();
    for (int i = 0; i < 400_000; i++) {
      String key = "customer-" + rnd.nextInt(100_000);
      List<Object> row = byKey.computeIfAbsent(key, k -> new ArrayList<>());
      row.add(i);
      row.add(rnd.nextDouble() * 1000);
      row.add(words[rnd.nextInt(words.length)] + "-" + rnd.nextInt(1000));
      if (i % 4 == 0) {
        StringBuilder json = new StringBuilder("{\"id\":").append(i);
        for (int f = 0; f < 6; f++) {
          json.append(",\"").append(words[rnd.nextInt(words.length)]).append("\":\"")
              .append(words[rnd.nextInt(words.length)]).append(rnd.nextInt(10_000)).append('"');
        }
        records.add(json.append('}').toString().getBytes(StandardCharsets.UTF_8));
      }
    }
    System.out.println("ready " + byKey.size() + " " + records.size());
    System.out.flush();
    Thread.sleep(600_000);
  }
}
EOF
"$java" -Xms192m -Xmx192m -XX:+UseSerialGC -XX:+AlwaysPreTouch "$work/Holder.java" > "$work/holder.out" &
jpid=$!
for _ in $(seq 1 600); do grep -q '^ready' "$work/holder.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' "$work/holder.out" || { echo "the JVM workload did not start" >&2; exit 1; }
gcore -o "$work/jvm" "$jpid" >/dev/null 2>&1
kill "$jpid"
mv "$work/jvm.$jpid" "$out/jvm.core"
cut_to "$out/jvm.core"

# 2. a Python interpreter holding data
python3 - "$work/py.ready" <<'EOF' &
import random, sys, time
random.seed(18)
words = ["order", "customer", "invoice", "status", "shipped", "pending", "amount", "city", "Berlin", "Oslo"]
records = {i: {"id": i, "name": random.choice(words) + str(random.randint(0, 9999)),
               "tags": [random.choice(words) for _ in range(3)], "score": random.random()} for i in range(300_000)}
floats = [random.gauss(0, 1) for _ in range(1_000_000)]
open(sys.argv[1], "w").write("ready")
time.sleep(600)
EOF
ppid=$!
for _ in $(seq 1 600); do [ -f "$work/py.ready" ] && break; sleep 0.1; done
[ -f "$work/py.ready" ] || { echo "the Python workload did not start" >&2; exit 1; }
gcore -o "$work/python" "$ppid" >/dev/null 2>&1
kill "$ppid"
mv "$work/python.$ppid" "$out/python.core"
cut_to "$out/python.core"

# 3. shared libraries
: > "$out/libs.bin"
libjvm=$(dirname "$(readlink -f "$(command -v "$java")")")/../lib/server/libjvm.so
for lib in "$libjvm" /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libstdc++.so.6 \
    /usr/lib/x86_64-linux-gnu/libcrypto.so.3 /usr/lib/x86_64-linux-gnu/libpython3*.so.1.0 \
    /usr/lib/x86_64-linux-gnu/libperl.so.5*; do
  [ -f "$lib" ] && cat "$(readlink -f "$lib")" >> "$out/libs.bin"
done
cut_to "$out/libs.bin"

# 4. text
find /usr/include /usr/share/common-licenses -type f \( -name '*.h' -o -path '*common-licenses*' \) -print0 2>/dev/null \
  | sort -z | xargs -0 cat > "$out/text.bin" 2>/dev/null || true
cut_to "$out/text.bin"

ls -l "$out" >&2
