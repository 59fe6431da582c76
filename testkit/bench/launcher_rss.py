#!/usr/bin/env python3
"""RSS of the daemon as bin/zswapd starts it, idle and under load, per JDK (issue 17).

For each way of starting the daemon (bin/zswapd on JDK 25 and on JDK 17, and `java -jar` with
the fixed 512 MiB heap the README used to advise, on JDK 17): the default configuration (one
4 GiB export, metrics on) with NBD on a Unix socket in a temporary folder. After the banner
and SETTLE seconds, the idle VmRSS; then fio writes 1 GiB (1 MiB sequential, 50% compressible)
and rewrites pages at random for 10 s (4 KiB, iodepth 32); 3 s later VmRSS again and
mem_used_total from `zswapd stats`. The aims: idle RSS <= 96 MiB with the launcher's flags, and
(RSS under load - idle RSS) <= 1.05 x mem_used_total.

Usage: testkit/bench/launcher_rss.py [--settle 10]     (needs fio with its nbd engine)
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LAUNCHER = os.path.join(ROOT, "bin", "zswapd")
JAR = os.path.join(ROOT, "io-bridge", "target", "zswapd.jar")
JDK25 = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"
JDK17 = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"
MIB = 1 << 20


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def jvm_pid(proc):
    """The launcher execs java, so its pid is the JVM's."""
    return proc.pid


def stat_bytes(work, name):
    out = subprocess.run([LAUNCHER, "stats", "--admin", os.path.join(work, "zswapd-admin.sock")],
                         capture_output=True, text=True, env=dict(os.environ, ZSWAPD_JAVA=JDK17), check=True).stdout
    m = re.search(r"^\s*%s\s+(\d+) B" % name, out, re.M)
    return int(m.group(1))


def fio(uri, *args):
    subprocess.run(["fio", "--name=w", "--ioengine=nbd", f"--uri={uri}", "--buffer_compress_percentage=50",
                    "--refill_buffers", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(label, argv, env, settle):
    work = tempfile.mkdtemp(prefix="zswapd-rss-")
    log = open(os.path.join(work, "log"), "w")
    proc = subprocess.Popen(argv, cwd=work, env=dict(os.environ, **env), stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        for line in proc.stdout:
            if line.strip() == "Stop with SIGTERM or Ctrl-C.":
                break
        else:
            raise SystemExit(f"{label}: the daemon exited; see {work}/log")
        time.sleep(settle)
        pid = jvm_pid(proc)
        idle = rss_kib(pid)
        uri = f"nbd+unix:///swap0?socket={work}/zswapd.sock"
        fio(uri, "--rw=write", "--bs=1m", "--iodepth=4", "--size=1g")
        fio(uri, "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=1g", "--time_based", "--runtime=10",
            "--randseed=3")
        time.sleep(3)
        loaded = rss_kib(pid)
        used = stat_bytes(work, "mem_used_total")
        with open(f"/proc/{pid}/cmdline") as f:
            flags = [a for a in f.read().split("\0") if a.startswith("-X")]
        return label, idle, loaded, used, " ".join(flags)
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--settle", type=int, default=10)
    args = ap.parse_args()
    runs = [
        ("bin/zswapd, JDK 25 (mmap chunks, locked)", [LAUNCHER, "serve"], {"ZSWAPD_JAVA": JDK25}),
        ("bin/zswapd, JDK 17 (direct buffers)", [LAUNCHER, "serve"], {"ZSWAPD_JAVA": JDK17}),
        ("java -jar, JDK 17, -Xms512m -Xmx512m -XX:+AlwaysPreTouch -XX:MaxDirectMemorySize=6g (the former README)",
         [JDK17, "-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch", "-XX:MaxDirectMemorySize=6g", "-jar", JAR, "serve"],
         {"MALLOC_MMAP_THRESHOLD_": "131072"}),
    ]
    rows = [measure(label, argv, env, args.settle) for label, argv, env in runs]
    print(f"{os.cpu_count()} cores; default configuration (4 GiB export, 64 MiB nbd.buffer-memory, metrics on); "
          f"1 GiB written then 10 s of random 4 KiB rewrites, 50% compressible\n")
    print("| started as | idle RSS | RSS under load | mem_used_total | (RSS - idle) / mem_used_total |")
    print("|---|---|---|---|---|")
    for label, idle, loaded, used, flags in rows:
        print(f"| {label} | {idle / 1024:.1f} MiB | {loaded / 1024:.1f} MiB | {used / MIB:.1f} MiB | "
              f"{(loaded - idle) * 1024 / used:.3f} |")
    print()
    for label, _, _, _, flags in rows:
        print(f"- {label}: `{flags}`")


if __name__ == "__main__":
    sys.exit(main())
