#!/usr/bin/env bash
# Recovery after a corrupt page (issue 15): how long a client waits for the answer to a READ
# of a page damaged in the backing file, and how long for the next READs of the same tree
# shard. Starts `java -jar zswapd.jar serve` with one 64 MiB export backed by a file, writes
# 256 pages over NBD (libnbd's Python bindings, over the Unix socket), writes them all back to
# the file (`zswapd writeback all`), flips 16 bytes in the middle of the file's slots, then
# reads every page once, timing each READ: the damaged page(s) must be EIO, every other page
# its own bytes. Then it rewrites the damaged pages and reads them back, and prints the
# daemon's corrupt_reads.
#
# Usage: testkit/bench/corrupt-page.sh        (needs python3-libnbd: apt-get install python3-libnbd)
# Exit status: 0 when every page read back right or EIO, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
. testkit/bench/daemon-start.sh
py=/usr/bin/python3
"$py" -c 'import nbd' 2>/dev/null || { echo "python3-libnbd is missing: apt-get install python3-libnbd" >&2; exit 2; }
mvn -B -ntp -q -DskipTests package -pl config,protocol,actors,io-bridge >&2
dir=$(mktemp -d /tmp/zswapd-corrupt.XXXXXX)
cp io-bridge/target/zswapd.jar "$dir/zswapd.jar"
daemon=""
cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -9 "$daemon" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
cat > "$dir/zswapd.conf" <<EOF
zswapd.pool.max-size = 64 MiB
zswapd.exports = [ { name = "swap0", size = 64 MiB, backing-file = "$dir/swap0.backing" } ]
zswapd.nbd.unix-socket = "$dir/zswapd.sock"
zswapd.admin.unix-socket = "$dir/zswapd-admin.sock"
zswapd.metrics.prometheus = off
EOF
(cd "$dir" && exec java -Xms256m -Xmx256m -jar zswapd.jar serve --config zswapd.conf > daemon.log 2>&1) &
daemon=$!
await_banner "$dir/daemon.log" "$daemon"
admin() { java -jar "$dir/zswapd.jar" "$@" --admin "$dir/zswapd-admin.sock"; }

"$py" - "$dir" write <<'EOF'
import nbd, random, sys
d = sys.argv[1]
h = nbd.NBD(); h.set_export_name("swap0"); h.connect_unix(d + "/zswapd.sock")
for p in range(256):
    r = random.Random(p)
    words = [r.choice([b"alpha ", b"beta ", b"gamma ", b"delta "]) for _ in range(800)]
    page = (b"page %06d " % p + b"".join(words))[:4096].ljust(4096, b".")
    h.pwrite(page, p * 4096)
h.flush(); h.shutdown()
EOF
admin writeback all
size=$(stat -c %s "$dir/swap0.backing")
at=$(( 4096 + (size - 4096) / 2 ))
"$py" - "$dir/swap0.backing" "$at" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = bytearray(f.read(16))
    f.seek(int(sys.argv[2])); f.write(bytes(x ^ 0x5A for x in b))
EOF
echo "backing file: $size bytes; 16 bytes flipped at offset $at"

status=0
"$py" - "$dir" <<'EOF' || status=$?
import nbd, random, sys, time
d = sys.argv[1]
h = nbd.NBD(); h.set_export_name("swap0"); h.connect_unix(d + "/zswapd.sock")
def expected(p):
    r = random.Random(p)
    words = [r.choice([b"alpha ", b"beta ", b"gamma ", b"delta "]) for _ in range(800)]
    return (b"page %06d " % p + b"".join(words))[:4096].ljust(4096, b".")
bad, wrong, times, after = [], [], [], []
for p in range(256):
    t = time.monotonic()
    try:
        data = h.pread(4096, p * 4096)
        ms = (time.monotonic() - t) * 1000
        if data != expected(p):
            wrong.append(p)
        if bad and len(after) < 5:
            after.append(ms)
    except nbd.Error as e:
        ms = (time.monotonic() - t) * 1000
        bad.append((p, e.errno, ms))
    times.append(ms)
times.sort()
print("pages read: 256; EIO: %s; wrong bytes: %d" % ([(p, "errno %s" % e, "%.1f ms" % ms) for p, e, ms in bad], len(wrong)))
print("READ latency over all pages: median %.2f ms, max %.2f ms" % (times[len(times) // 2], times[-1]))
print("the 5 READs after the first EIO: %s ms" % ", ".join("%.2f" % x for x in after))
for p, _, _ in bad:
    h.pwrite(expected(p), p * 4096)
    assert h.pread(4096, p * 4096) == expected(p), "page %d after rewrite" % p
print("damaged pages rewritten and read back: %d" % len(bad))
h.shutdown()
sys.exit(0 if bad and not wrong else 1)
EOF
admin stats | grep -E "corrupt_reads|read_errors|failed_reads" || true
kill -TERM "$daemon"; wait "$daemon" || true
echo "daemon log: $(grep -c ' WARN ' "$dir/daemon.log" || true) WARN, $(grep -c ' ERROR ' "$dir/daemon.log" || true) ERROR"
exit "$status"
