#!/usr/bin/env python3
"""Memory back to the OS over NBD, against the real daemon (issue 5).

Starts `java -jar zswapd.jar serve` with a config written here (export swap0, NBD on a Unix
socket and a free TCP port, admin socket, Prometheus metrics on a free loopback port, tick
500 ms, the migration worker's defaults), then: fio (nbd engine) writes GIB GiB of mixed data
(four regions, 25/50/75/50% compressible), nbd_trim.py (libnbd) trims a random 80% of those
pages plus four whole ranges, and nothing happens for SETTLE seconds but the worker. Every
500 ms the driver reads the daemon's VmRSS (/proc/PID/status) and scrapes /metrics. The aim:
RSS minus the idle daemon's RSS at most 1.25 x the compressed bytes left (compr_data_size).

Writes OUT.csv (the chart is memory_chart.py's job) and prints Markdown for BENCHMARKS.md.
With --cycles N write-trim-settle repeats and the figures are the last cycle's.
GLIBC_DEFAULT_MMAP=1 in the environment starts the daemon without MALLOC_MMAP_THRESHOLD_.

Usage: memory_return.py [--gib 2] [--settle 40] [--cycles 1] [--out docs/memory-return]
                        [--jar io-bridge/target/zswapd.jar]
Needs java 17+, fio (nbd engine), python3-libnbd (Debian: fio python3-libnbd); run it with
/usr/bin/python3 (memory_return.sh does).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

MIB = 1 << 20
SAMPLE_SECONDS = 0.5
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def java_major():
    out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 else major


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def scrape(url):
    """The figures the benchmark follows, from one GET /metrics (pool series summed)."""
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    want = {
        "zswapd_compr_data_size_bytes": "compr", "zswapd_mem_used_total_bytes": "mem_used",
        "zswapd_arena_held_bytes": "held", "zswapd_arena_chunks": "chunks",
        "zswapd_pages_compacted_total": "compacted", "zswapd_pages_migrated_total": "migrated",
        "zswapd_arena_chunks_released_total": "released", "zswapd_stored_pages": "stored",
    }
    out = {v: 0.0 for v in want.values()}
    for line in text.splitlines():
        m = LINE.match(line)
        if not m or m.group(1) not in want:
            continue
        labels = m.group(2) or ""
        if 'export="' in labels and 'export="swap0"' not in labels:
            continue
        out[want[m.group(1)]] += float(m.group(3))
    return out


class Daemon:
    def __init__(self, jar, work, gib, glibc_default):
        self.work = work
        self.sock = os.path.join(work, "nbd.sock")
        self.admin = os.path.join(work, "admin.sock")
        self.metrics_port = free_port()
        self.conf = os.path.join(work, "zswapd.conf")
        export_gib = max(4, gib)
        with open(self.conf, "w") as f:
            # the pool holds all that is written (nothing written back or refused) and stays
            # with its headroom under -XX:MaxDirectMemorySize=4g (up to gib = 2), or the daemon refuses it
            f.write(f"""zswapd {{
  pool {{ max-size = {gib + 1} GiB }}
  exports = [ {{ name = "swap0", size = {export_gib} GiB }} ]
  nbd {{ tcp = "127.0.0.1:{free_port()}", unix-socket = "{self.sock}" }}
  admin {{ unix-socket = "{self.admin}" }}
  metrics {{ prometheus = "127.0.0.1:{self.metrics_port}", tick-interval = 500ms }}
}}
""")
        # The heap is fixed and touched up front (docs/OPERATIONS.md), so RSS moves with
        # off-heap memory only. MALLOC_MMAP_THRESHOLD_ as in README's run command: without it
        # glibc serves 2 MiB chunks from its heap arenas after the first free, and free()
        # cannot give them back.
        env = dict(os.environ)
        env.pop("MALLOC_MMAP_THRESHOLD_", None)
        if not glibc_default:
            env["MALLOC_MMAP_THRESHOLD_"] = "131072"
        self.cmd = ["java", "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "-XX:MaxDirectMemorySize=4g"]
        if java_major() >= 23:
            self.cmd.append("--sun-misc-unsafe-memory-access=allow")
        self.cmd += ["-jar", jar, "serve", "--config", self.conf]
        self.env_shown = "" if glibc_default else "MALLOC_MMAP_THRESHOLD_=131072 "
        self.log = open(os.path.join(work, "zswapd.log"), "w")
        self.proc = subprocess.Popen(self.cmd, cwd=work, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.uri = f"nbd+unix:///swap0?socket={self.sock}"
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            self._wait_up()
        except BaseException:
            self.stop()
            raise

    def _wait_up(self, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"zswapd exited with {self.proc.returncode}:\n{self.read_log()}")
            try:
                if os.path.exists(self.sock) and "zswapd_arena_chunks" in urllib.request.urlopen(
                        self.metrics_url, timeout=2).read().decode():
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"zswapd did not come up in {timeout}s:\n{self.read_log()}")

    def read_log(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def stats(self, jar):
        return subprocess.run(["java", "-jar", jar, "stats", "--admin", self.admin],
                              capture_output=True, text=True).stdout

    def stop(self):
        """SIGTERM, as systemd stops it; the exit status is the daemon's."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class Sampler(threading.Thread):
    """Every 500 ms: seconds since start, phase, the daemon's VmRSS and the scraped figures."""

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.d = daemon
        self.phase = "idle"
        self.samples = []
        self.stop_event = threading.Event()
        self.t0 = time.monotonic()

    def run(self):
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            t = time.monotonic() - self.t0
            rss = rss_kib(self.d.proc.pid)
            try:
                m = scrape(self.d.metrics_url)
            except OSError:
                m = dict(self.samples[-1]["m"]) if self.samples else None
            if m is not None:
                self.samples.append({"t": t, "phase": self.phase, "rss": rss, "m": m})
            next_at += SAMPLE_SECONDS
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))


def fio_write(uri, size):
    cmd = ["fio", "--ioengine=nbd", f"--uri={uri}", "--rw=write", "--bs=1m", "--iodepth=8", "--refill_buffers",
           "--buffer_compress_chunk=4k", "--output-format=json"]
    compress = [25, 50, 75, 50]
    region = size // len(compress)
    for i, c in enumerate(compress):
        cmd += [f"--name=region{i}", f"--offset={i * region}", f"--size={region}",
                f"--buffer_compress_percentage={c}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"fio failed:\n{r.stdout}\n{r.stderr}")


def median_rss(samples):
    return statistics.median(s["rss"] for s in samples)


def fmt(b):
    return f"{b / MIB:,.1f} MiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=int, default=2)
    ap.add_argument("--settle", type=int, default=40)
    ap.add_argument("--cycles", type=int, default=1)
    ap.add_argument("--out", default="docs/memory-return")
    ap.add_argument("--jar", default="io-bridge/target/zswapd.jar")
    args = ap.parse_args()
    for tool in ("java", "fio"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found")
    glibc_default = os.environ.get("GLIBC_DEFAULT_MMAP", "0") == "1"
    size = args.gib << 30
    work = tempfile.mkdtemp(prefix="zswapd-memret-")
    # a copy, so a rebuild of the tree during the run does not pull the jar from under the JVM
    jar = os.path.join(work, "zswapd.jar")
    shutil.copyfile(args.jar, jar)
    d = Daemon(jar, work, args.gib, glibc_default)
    sampler = Sampler(d)
    try:
        sampler.start()
        time.sleep(4.5)
        idle = [s for s in sampler.samples if s["phase"] == "idle"][2:]
        idle_kib = median_rss(idle)
        for cycle in range(args.cycles):
            sampler.phase = "write"
            w0 = time.monotonic()
            fio_write(d.uri, size)
            write_seconds = time.monotonic() - w0
            time.sleep(1.5)  # the endpoint lags the engine by up to two ticks
            written = dict(sampler.samples[-1])
            sampler.phase = "trim"
            tr0 = time.monotonic()
            r = subprocess.run([sys.executable, os.path.join(HERE, "nbd_trim.py"), d.uri, str(size),
                                str(20261121 + cycle), "0.8"], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"nbd_trim.py failed:\n{r.stdout}\n{r.stderr}")
            trim_seconds = time.monotonic() - tr0
            trim_end_t = time.monotonic() - sampler.t0
            trimmed, requests = r.stdout.split()
            sampler.phase = "settle"
            time.sleep(args.settle)
        sampler.stop_event.set()
        sampler.join()
        stats_text = d.stats(jar)
    finally:
        sampler.stop_event.set()
        status = d.stop()
    samples = sampler.samples
    end_kib = median_rss(samples[-5:])
    end = samples[-1]["m"]

    # the first sample once the trim is done and the endpoint has caught up (two ticks)
    after_trim = next((s for s in samples if s["t"] >= trim_end_t + 1.0), None)

    out_csv = args.out + ".csv"
    with open(out_csv, "w") as f:
        f.write("seconds,phase,rss_mib,rss_minus_idle_mib,compr_data_size_mib,mem_used_total_mib,"
                "chunks_held_mib,chunks_held,pages_compacted,pages_migrated,chunks_released\n")
        for s in samples:
            m = s["m"]
            f.write(f"{s['t']:.1f},{s['phase']},{s['rss'] / 1024:.1f},{(s['rss'] - idle_kib) / 1024:.1f},"
                    f"{m['compr'] / MIB:.1f},{m['mem_used'] / MIB:.1f},{m['held'] / MIB:.1f},{m['chunks']:.0f},"
                    f"{m['compacted']:.0f},{m['migrated']:.0f},{m['released']:.0f}\n")

    with open(os.path.join(work, "stats.txt"), "w") as f:
        f.write(stats_text)
    os.remove(jar)
    net = (end_kib - idle_kib) * 1024.0
    compr = end["compr"]
    w = written["m"]
    cyc = "" if args.cycles == 1 else f" (the last of {args.cycles} cycles)"
    print(f"daemon: {d.env_shown}{' '.join(d.cmd[:-5])} -jar zswapd.jar serve --config FILE "
          f"(exit status {status} after SIGTERM); {os.cpu_count()} cores\n")
    print(f"{args.gib} GiB written in {write_seconds:.1f} s, {int(trimmed):,} pages trimmed in {int(requests):,} "
          f"requests ({trim_seconds:.1f} s), {args.settle} s to settle{cyc}\n")
    cols = ["after writing"]
    if after_trim:
        cols.append(f"after the trim (t = {after_trim['t']:.1f} s)")
    cols.append("after trim + worker")
    print("| figure | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")

    def row(name, f_w, f_t, f_e):
        cells = [f_w] + ([f_t] if after_trim else []) + [f_e]
        print(f"| {name} | " + " | ".join(cells) + " |")

    a = after_trim or written
    row(f"process RSS minus idle RSS (idle {fmt(idle_kib * 1024)})", fmt((written["rss"] - idle_kib) * 1024),
        fmt((a["rss"] - idle_kib) * 1024), fmt(net))
    row("compr_data_size", fmt(w["compr"]), fmt(a["m"]["compr"]), fmt(compr))
    row("mem_used_total", fmt(w["mem_used"]), fmt(a["m"]["mem_used"]), fmt(end["mem_used"]))
    row("off-heap chunks held", f"{fmt(w['held'])} ({w['chunks']:,.0f})",
        f"{fmt(a['m']['held'])} ({a['m']['chunks']:,.0f})", f"{fmt(end['held'])} ({end['chunks']:,.0f})")

    def counters(m):
        return f"{m['compacted']:,.0f} / {m['migrated']:,.0f} / {m['released']:,.0f}"

    row("pages_compacted / pages migrated / chunks released", counters(w), counters(a["m"]), counters(end))
    ratio = net / compr
    print(f"\n(RSS - idle RSS) / compr_data_size = {ratio:.3f} (aim: at most 1.25: "
          f"{'met' if ratio <= 1.25 else 'missed'})")
    print(f"mem_used_total / compr_data_size = {end['mem_used'] / compr:.3f}, "
          f"chunks held / compr_data_size = {end['held'] / compr:.3f}")
    print(f"\nzswapd stats at the end:\n{stats_text}", file=sys.stderr)
    print(f"CSV: {out_csv}; daemon log and config in {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
