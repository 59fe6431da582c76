#!/usr/bin/env python3
"""fio over NBD: zswapd against nbdkit's memory plugin (plain and allocator=zstd), same run.

4 KiB random write and random read, iodepth 32, numjobs 1 and 2, over a Unix socket and TCP,
all servers fed the same compressible data (buffer_compress_percentage=50, refill_buffers).
Each server is warmed up with 3 s of each random cell before its cells are measured. Then each
server's RSS after 1 GiB has been written. Prints Markdown for docs/BENCHMARKS.md.

zswapd runs as bin/zswapd starts it (README): on the JVM and with the flags the launcher picks.

Usage: testkit/bench/nbd_fio.py [--runtime SECONDS] [--jar io-bridge/target/zswapd.jar] [--java PATH]
Needs: java 17+, fio (with the nbd engine), nbdkit, nbdinfo (Debian: fio nbdkit libnbd-bin).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SIZE_PER_JOB = "512m"
EXPORT_SIZE = "4G"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(uri, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if subprocess.run(["nbdinfo", "--size", uri], capture_output=True).returncode == 0:
            return
        time.sleep(0.3)
    raise SystemExit(f"server at {uri} did not come up in {timeout}s")


def rss_kib(pid):
    """RSS of the process and its children (nbdkit forks nothing; java is one process)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    def __init__(self, name, cmd, uri, cwd, env=None):
        self.name, self.cmd, self.uri = name, cmd, uri
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, env=env)
        wait_for(uri)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_zswapd(jar, workdir, transport, java=None, java_opts=""):
    """zswapd as an operator runs it: bin/zswapd serve, with the JVM and flags the launcher picks
    (the newest JDK 22+ it finds, a fixed pre-touched heap, the serial GC); `java` overrides the
    JVM (ZSWAPD_JAVA), `java_opts` are added after the launcher's flags (ZSWAPD_JAVA_OPTS)."""
    port = free_port()
    sock = os.path.join(workdir, "zswapd.sock")
    conf = os.path.join(workdir, "zswapd.conf")
    tcp = f'"127.0.0.1:{port}"' if transport == "tcp" else "off"
    unix = f'"{sock}"' if transport == "unix" else "off"
    with open(conf, "w") as f:
        f.write(f"""zswapd {{
  pool.max-size = 4 GiB
  exports = [ {{ name = "swap0", size = {EXPORT_SIZE}iB }} ]
  nbd {{ tcp = {tcp}, unix-socket = {unix} }}
}}
""")
    launcher = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bin", "zswapd")
    cmd = [launcher, "serve", "--config", conf]
    env = dict(os.environ, ZSWAPD_JAR=jar, ZSWAPD_JAVA_OPTS=java_opts)
    if java:
        env["ZSWAPD_JAVA"] = java
    uri = f"nbd://127.0.0.1:{port}/swap0" if transport == "tcp" else f"nbd+unix:///swap0?socket={sock}"
    return Server("zswapd", cmd, uri, workdir, env)


def start_nbdkit(name, extra, workdir, transport):
    port = free_port()
    sock = os.path.join(workdir, f"{name}.sock")
    listen = ["-U", sock] if transport == "unix" else ["-p", str(port), "-i", "127.0.0.1"]
    cmd = ["nbdkit", "-f", "--threads", "16"] + listen + ["memory", EXPORT_SIZE] + extra
    uri = f"nbd://127.0.0.1:{port}/" if transport == "tcp" else f"nbd+unix:///?socket={sock}"
    return Server(name, cmd, uri, workdir)


def fio(uri, rw, numjobs, runtime, extra=()):
    cmd = ["fio", "--name=bench", "--ioengine=nbd", f"--uri={uri}", f"--rw={rw}", "--bs=4k", "--iodepth=32",
           f"--numjobs={numjobs}", f"--size={SIZE_PER_JOB}", f"--offset_increment={SIZE_PER_JOB}",
           "--buffer_compress_percentage=50", "--refill_buffers", "--group_reporting", "--output-format=json",
           "--randrepeat=1"]
    if runtime:
        cmd += ["--time_based", f"--runtime={runtime}", "--ramp_time=2"]
    cmd += list(extra)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    job = json.loads(out[out.index("{"):])["jobs"][0]
    side = job["write"] if rw.endswith("write") else job["read"]
    pct = side["clat_ns"].get("percentile", {})
    p99 = pct.get("99.000000", 0) / 1000.0
    return side["iops"], p99


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", type=int, default=10)
    ap.add_argument("--jar", default="io-bridge/target/zswapd.jar")
    ap.add_argument("--java", help="the java to run zswapd on (default: the launcher's choice)")
    args = ap.parse_args()
    for tool in ("fio", "nbdkit", "nbdinfo", "java"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (Debian: apt-get install fio nbdkit libnbd-bin)")
    jar = os.path.abspath(args.jar)
    work = tempfile.mkdtemp(prefix="zswapd-fio-")
    results = {}
    rss = {}
    starters = [
        ("zswapd", lambda t: start_zswapd(jar, work, t, args.java)),
        ("nbdkit memory", lambda t: start_nbdkit("nbdkit-memory", [], work, t)),
        ("nbdkit memory allocator=zstd", lambda t: start_nbdkit("nbdkit-zstd", ["allocator=zstd"], work, t)),
    ]
    for name, start in starters:
        for transport in ("unix", "tcp"):
            srv = start(transport)
            try:
                # fill both jobs' regions so random reads read data, warm the server up (the JIT
                # compiles its request path; the first cell measured would otherwise run cold), measure
                fio(srv.uri, "write", 2, 0, ["--bs=1m", "--iodepth=4"])
                for rw in ("randwrite", "randread"):
                    fio(srv.uri, rw, 1, 3)
                for numjobs in (1, 2):
                    for rw in ("randwrite", "randread"):
                        results[(name, transport, numjobs, rw)] = fio(srv.uri, rw, numjobs, args.runtime)
                        print(f"{name} {transport} jobs={numjobs} {rw}: "
                              f"{results[(name, transport, numjobs, rw)][0]:,.0f} IOPS", file=sys.stderr)
                if transport == "unix":
                    # RSS after 1 GiB written: both 512 MiB regions rewritten, then sampled
                    fio(srv.uri, "write", 2, 0, ["--bs=1m", "--iodepth=4", "--randseed=7"])
                    time.sleep(3)
                    rss[name] = rss_kib(srv.proc.pid)
            finally:
                srv.stop()
    print(f"fio 4 KiB, iodepth 32, {args.runtime}s per cell, 50% compressible buffers; "
          f"{os.cpu_count()} cores\n")
    print("| server | transport | jobs | randwrite IOPS | p99 (us) | vs nbdkit | randread IOPS | p99 (us) | vs nbdkit |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, _) in starters:
        for transport in ("unix", "tcp"):
            for numjobs in (1, 2):
                w, wp = results[(name, transport, numjobs, "randwrite")]
                r, rp = results[(name, transport, numjobs, "randread")]
                bw = results[("nbdkit memory", transport, numjobs, "randwrite")][0]
                br = results[("nbdkit memory", transport, numjobs, "randread")][0]
                print(f"| {name} | {transport} | {numjobs} | {w:,.0f} | {wp:,.0f} | {w / bw:.2f} | "
                      f"{r:,.0f} | {rp:,.0f} | {r / br:.2f} |")
    print("\n| server | RSS after 1 GiB written | vs nbdkit allocator=zstd |")
    print("|---|---|---|")
    z = rss["nbdkit memory allocator=zstd"]
    for name, _ in starters:
        print(f"| {name} | {rss[name] / 1024:,.0f} MiB | {rss[name] / z:.2f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
