#!/usr/bin/env python3
"""One fio cell, A/B: zswapd builds (and JVM options) against each other and plain nbdkit memory.

On a shared 2-core machine a single fio cell moves by 30% between runs, so a change to the
request path is judged by alternating its builds in one run, each round starting every
server afresh, and by what each page costs, not only by IOPS: process CPU per page, voluntary
context switches (thread wake-ups) of all the server's threads per page, and, where `perf` can
count tracepoints, the server's system calls per page, and of them write(), read(), epoll_wait()
and futex() (threads parked and woken).

Usage:
  testkit/bench/nbd_ab.py --jars /tmp/a/zswapd.jar /tmp/b/zswapd.jar [--rw randwrite]
                          [--transport unix|tcp] [--jobs 1] [--rounds 3] [--runtime 8] [--warmup 3]
Each zswapd runs as bin/zswapd starts it (nbd_fio.start_zswapd). A jar may carry JVM options
after a '|' (added after the launcher's), and the java to run it on after a second '|':
"/tmp/a/zswapd.jar|-XX:+UseSerialGC", "/tmp/a/zswapd.jar||/usr/lib/jvm/temurin-25-jdk-amd64/bin/java".
Each round: fill the region with 1 MiB writes, 3 s of the cell to warm up (--warmup; a JVM's
compiler is still busy then, a long-running daemon's is not), then the measured run.
Needs what nbd_fio.py needs; perf (Debian: linux-perf) for the system call columns.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbd_fio  # noqa: E402

# every system call, then the ones a page's path makes: socket reads and writes (eventfd wake-ups
# of a selector included), waits for readiness, and futex (threads parked and woken)
CALLS = ["write", "read", "epoll_wait", "futex"]
TRACEPOINTS = ",".join(["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{c}" for c in CALLS])


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wakeups(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that ended
    return total


def perf_works():
    if shutil.which("perf") is None:
        return False
    probe = subprocess.run(["perf", "stat", "-x,", "-e", TRACEPOINTS, "true"], capture_output=True, text=True)
    return probe.returncode == 0 and "not supported" not in probe.stderr


def count_syscalls(pid, seconds):
    """(system calls, {call: count} for CALLS) of the process over `seconds`, or None."""
    p = subprocess.run(["perf", "stat", "-x,", "-e", TRACEPOINTS, "-p", str(pid), "--", "sleep", str(seconds)],
                       capture_output=True, text=True)
    counts = {}
    for line in p.stderr.splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[0].isdigit():
            counts[parts[2]] = int(parts[0])
    if "raw_syscalls:sys_enter" not in counts:
        return None
    return counts["raw_syscalls:sys_enter"], {c: counts.get(f"syscalls:sys_enter_{c}", 0) for c in CALLS}


def measure(srv, args, use_perf):
    """Figures of the measured run, sampled inside it (nbdkit's threads end with the connection)."""
    nbd_fio.fio(srv.uri, "write", args.jobs, 0, ["--bs=1m", "--iodepth=4"])
    nbd_fio.fio(srv.uri, args.rw, args.jobs, args.warmup)
    result = {}
    run = threading.Thread(target=lambda: result.update(fio=nbd_fio.fio(srv.uri, args.rw, args.jobs, args.runtime)))
    run.start()
    time.sleep(3)  # past fio's 2 s ramp
    window = max(1, args.runtime - 2)
    c0, w0, t0 = cpu_seconds(srv.proc.pid), wakeups(srv.proc.pid), time.time()
    sys_counts = count_syscalls(srv.proc.pid, window) if use_perf else time.sleep(window)
    c1, w1, t1 = cpu_seconds(srv.proc.pid), wakeups(srv.proc.pid), time.time()
    run.join()
    iops = result["fio"][0]
    pages = iops * (t1 - t0)
    row = {"iops": iops, "cpu_us": (c1 - c0) / pages * 1e6, "wakeups": (w1 - w0) / pages}
    if sys_counts:
        row["syscalls"] = sys_counts[0] / pages
        row["calls"] = {c: n / pages for c, n in sys_counts[1].items()}
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jars", nargs="+", required=True)
    ap.add_argument("--rw", default="randwrite")
    ap.add_argument("--transport", default="unix", choices=["unix", "tcp"])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runtime", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=3, help="seconds of the cell before the measured run")
    args = ap.parse_args()
    use_perf = perf_works()
    work = tempfile.mkdtemp(prefix="zswapd-ab-")
    print(f"fio 4 KiB {args.rw}, iodepth 32, {args.jobs} job(s), {args.transport}, {args.runtime}s per run; "
          f"{os.cpu_count()} cores" + ("" if use_perf else "; no perf tracepoints: no system call columns"))
    print("\n| round | server | IOPS | vs nbdkit | CPU us / page | wake-ups / page | syscalls / page | "
          + " | ".join(f"{c}() / page" for c in CALLS) + " |")
    print("|---|---|---|---|---|---|---|" + "---|" * len(CALLS))
    for r in range(args.rounds):
        rows = []
        for spec in args.jars + ["nbdkit"]:
            jar, _, rest = spec.partition("|")
            opts, _, java = rest.partition("|")
            for f in os.listdir(work):
                if f.endswith(".sock"):
                    os.unlink(os.path.join(work, f))
            if jar == "nbdkit":
                srv = nbd_fio.start_nbdkit("nbdkit", [], work, args.transport)
            else:
                srv = nbd_fio.start_zswapd(os.path.abspath(jar), work, args.transport, java or None, opts)
            try:
                rows.append((spec, measure(srv, args, use_perf)))
            finally:
                srv.stop()
        base = rows[-1][1]["iops"]
        for spec, m in rows:
            sys_cols = (f"{m['syscalls']:.2f} | " + " | ".join(f"{m['calls'][c]:.2f}" for c in CALLS)
                        if "syscalls" in m else " | ".join(["-"] * (1 + len(CALLS))))
            print(f"| {r} | {spec} | {m['iops']:,.0f} | {m['iops'] / base:.2f} | {m['cpu_us']:.1f} | "
                  f"{m['wakeups']:.3f} | {sys_cols} |", flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
