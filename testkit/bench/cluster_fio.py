#!/usr/bin/python3
"""Shards on memory nodes vs shards in the front's own pool, fio over NBD, same run (issue 20).

Starts two memory nodes and a front (three JVMs on loopback) whose two exports differ only in
placement: "local0" keeps its tree shards in the front's pool, "remote0" on the memory nodes
(placement = cluster). Each export is filled with 1 MiB writes, then fio runs 4 KiB random
writes and random reads (iodepth 32, 50% compressible buffers) on each in turn. NBD goes over a
Unix socket, so the loopback interface carries only the cluster's traffic: its byte counters
give the bytes on the wire per page, next to the front's own count of its page-protocol bytes
(`zswapd stats --shards`, summed over the shards). CPU seconds per page are read from /proc for
each process.
Then one of the three memory nodes leaves (SIGTERM): the time until it has handed its shards
over and exited, the pages the others took and how fast, and whether every shard's first page
still reads the same. Last, one memory node is killed (SIGKILL) and the time until every shard
of "remote0" takes a write again is measured (failure detection, downing, a new home), with
how many pages read as errors meanwhile. Prints Markdown for docs/BENCHMARKS.md.

Usage: testkit/bench/cluster_fio.py (Debian's /usr/bin/python3, which has the nbd module) [--runtime SECONDS] [--jar io-bridge/target/zswapd.jar]
Needs: java 17+, fio (with the nbd engine), nbdinfo, python3-libnbd (Debian: fio libnbd-bin python3-libnbd).
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import nbd

EXPORT_GIB = 1
SHARD = 64 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_line(path, text, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path) and text in open(path, errors="replace").read():
            return
        time.sleep(0.3)
    raise SystemExit(f"{path}: no '{text}' within {timeout}s:\n" + open(path, errors="replace").read()[-3000:])


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lo_bytes():
    with open("/proc/net/dev") as f:
        for line in f:
            if line.strip().startswith("lo:"):
                return int(line.split(":", 1)[1].split()[0])
    return 0


def start(jar, work, name, conf_text):
    conf = os.path.join(work, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    log = os.path.join(work, f"{name}.log")
    proc = subprocess.Popen(["java", "-Xms256m", "-Xmx256m", "-XX:MaxDirectMemorySize=3g", "-jar", jar, "serve",
                             "--config", conf], cwd=work, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    wait_line(log, "Stop with SIGTERM or Ctrl-C.")
    return proc


def shards_table(jar, work):
    """The front's `zswapd stats --shards`: a header line, then a line per remote shard."""
    return subprocess.run(["java", "-jar", jar, "stats", "--shards", "--admin", f"{work}/front-admin.sock"],
                          check=True, capture_output=True, text=True).stdout.splitlines()


def shard_rows(jar, work):
    """The rows of shards_table: dicts by column name."""
    out = shards_table(jar, work)
    head = out[0].split()
    return [dict(zip(head, line.split())) for line in out[1:]]


def protocol_bytes(jar, work):
    """Page-protocol bytes the front sent to and received from its remote shards, as it counts them."""
    rows = shard_rows(jar, work)
    return sum(int(r["bytes_sent"]) + int(r["bytes_received"]) for r in rows)


def fio(uri, rw, runtime, extra=()):
    cmd = ["fio", "--name=bench", "--ioengine=nbd", f"--uri={uri}", f"--rw={rw}", "--bs=4k", "--iodepth=32",
           "--numjobs=1", "--size=512m", "--buffer_compress_percentage=50", "--refill_buffers",
           "--output-format=json", "--randrepeat=1"]
    if runtime:
        cmd += ["--time_based", f"--runtime={runtime}", "--ramp_time=2"]
    cmd += list(extra)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    job = json.loads(out[out.index("{"):])["jobs"][0]
    side = job["write"] if "write" in rw else job["read"]
    return side["iops"], side["total_ios"]


def failed_first_reads(h, shards):
    """How many shards' first page fails to read (EIO: their memory node was lost)."""
    failed = 0
    for s in range(shards):
        try:
            h.pread(4096, s * SHARD)
        except nbd.Error:
            failed += 1
    return failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", type=int, default=10)
    ap.add_argument("--jar", default="io-bridge/target/zswapd.jar")
    args = ap.parse_args()
    jar = os.path.abspath(args.jar)
    work = tempfile.mkdtemp(prefix="zswapd-cluster-")
    seed = free_port()
    procs = {}
    try:
        for i, port in enumerate([seed, free_port(), free_port()]):
            procs[f"mem{i + 1}"] = start(jar, work, f"mem{i + 1}", f"""zswapd {{
  pool.max-size = 2 GiB
  exports = []
  cluster {{ role = memory, bind = "127.0.0.1:{port}", seed-nodes = ["127.0.0.1:{seed}"], down-unreachable-after = 3s }}
  admin.unix-socket = "{work}/mem{i + 1}-admin.sock"
  metrics.prometheus = off
}}
""")
        sock = f"{work}/front.sock"
        procs["front"] = start(jar, work, "front", f"""zswapd {{
  pool.max-size = 2 GiB
  exports = [ {{ name = "local0", size = {EXPORT_GIB} GiB }},
              {{ name = "remote0", size = {EXPORT_GIB} GiB, placement = cluster }} ]
  cluster {{ role = front, bind = "127.0.0.1:{free_port()}", seed-nodes = ["127.0.0.1:{seed}"], down-unreachable-after = 3s }}
  nbd {{ unix-socket = "{sock}", tcp = off }}
  admin.unix-socket = "{work}/front-admin.sock"
  metrics.prometheus = off
}}
""")
        uri = {e: f"nbd+unix:///{e}?socket={sock}" for e in ("local0", "remote0")}
        for e in uri:
            fio(uri[e], "write", 0, ["--bs=1m", "--iodepth=4", f"--size={EXPORT_GIB}g"])
        rows = []
        for rw in ("randwrite", "randread"):
            for e in ("local0", "remote0"):
                counted0 = protocol_bytes(jar, work)
                cpu0 = {n: cpu_seconds(p.pid) for n, p in procs.items()}
                lo0 = lo_bytes()
                iops, ios = fio(uri[e], rw, args.runtime)
                lo1 = lo_bytes()
                cpu = {n: (cpu_seconds(p.pid) - cpu0[n]) for n, p in procs.items()}
                counted = protocol_bytes(jar, work) - counted0
                per_page = {n: 1e6 * c / max(ios, 1) for n, c in cpu.items()}
                rows.append((rw, e, iops, (lo1 - lo0) / max(ios, 1), counted / max(ios, 1), per_page))
        print(f"fio 4 KiB, iodepth 32, 1 job, {args.runtime}s per cell, 50% compressible buffers, NBD over a "
              "Unix socket; the memory nodes on the same machine (loopback)\n")
        print("| export | fio | IOPS | bytes on loopback per page (the cluster's traffic) "
              "| page-protocol bytes per page (the front's count) | CPU us per page: front | memory nodes |")
        print("|---|---|---|---|---|---|---|")
        for rw, e, iops, wire, counted, cpu in rows:
            print(f"| {e} ({'on the memory nodes' if e == 'remote0' else 'in the front'}) | {rw} | {iops:,.0f} "
                  f"| {wire:,.0f} | {counted:,.0f} | {cpu['front']:.1f} "
                  f"| {sum(c for n, c in cpu.items() if n != 'front'):.1f} |")
        ratio = {rw: next(r[2] for r in rows if r[0] == rw and r[1] == "remote0")
                 / next(r[2] for r in rows if r[0] == rw and r[1] == "local0") for rw in ("randwrite", "randread")}
        print(f"\nremote / local: randwrite {ratio['randwrite']:.2f}x, randread {ratio['randread']:.2f}x")
        print("\n`zswapd stats --shards` on the front, first rows:\n\n```\n"
              + "\n".join(shards_table(jar, work)[:4]) + "\n```")

        h = nbd.NBD()
        h.connect_uri(uri["remote0"])
        shards = (EXPORT_GIB << 30) // SHARD

        # A graceful leave: the third memory node hands its shards over (SIGTERM) and exits.
        before = [h.pread(4096, s * SHARD) for s in range(shards)]
        left0 = time.time()
        os.killpg(procs["mem3"].pid, signal.SIGTERM)
        status = procs.pop("mem3").wait(300)
        left = time.time() - left0
        changed = sum(1 for s in range(shards) if h.pread(4096, s * SHARD) != before[s])
        taken = []
        for n in ("mem1", "mem2"):
            for m in re.finditer(r"took its (\d+) pages from .* in (\d+) ms", open(os.path.join(work, f"{n}.log")).read()):
                taken.append((int(m.group(1)), int(m.group(2))))
        pages = sum(t[0] for t in taken)
        print(f"\nGraceful leave (SIGTERM) of one of three memory nodes: it handed {len(taken)} shards "
              f"({pages:,} pages) to the other two and exited (status {status}) {left:.1f} s after the signal; "
              f"each shard's pages were taken in {min(t[1] for t in taken) if taken else 0}-"
              f"{max(t[1] for t in taken) if taken else 0} ms; {changed} of {shards} shards' first pages read "
              "differently afterwards.")

        # Recovery: kill the second memory node; time until every shard of remote0 takes a write again.
        lost_reads = failed_first_reads(h, shards)
        os.killpg(procs["mem2"].pid, signal.SIGKILL)
        killed = time.time()
        lost = failed_first_reads(h, shards)
        detected = time.time() - killed
        page = os.urandom(4096)
        for s in range(shards):
            h.pwrite(page, s * SHARD)
        healed = time.time() - killed
        for s in range(shards):
            assert h.pread(4096, s * SHARD) == page
        h.shutdown()
        print(f"\nAfter SIGKILL of one memory node: {lost} of {shards} shards answered EIO (before: {lost_reads}); "
              f"every lost shard's first read failed {detected:.1f} s after the kill, and every shard took a "
              f"write again {healed:.1f} s after it (down-unreachable-after = 3s).")
    finally:
        for p in procs.values():
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
