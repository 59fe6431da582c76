#!/usr/bin/env python3
"""Draws the memory-return benchmark's CSV as an SVG line chart (no plotting library needed).

Usage: memory_chart.py docs/memory-return.csv docs/memory-return.svg
Lines: process RSS minus idle RSS, off-heap chunks held, mem_used_total, compr_data_size (MiB)
over time; the phases (write, trim, settle) shaded behind them.
"""
import csv
import sys

W, H = 860, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 200, 40, 50
SERIES = [
    ("rss_minus_idle_mib", "RSS minus idle RSS", "#d62728"),
    ("chunks_held_mib", "off-heap chunks held", "#ff7f0e"),
    ("mem_used_total_mib", "mem_used_total", "#1f77b4"),
    ("compr_data_size_mib", "compr_data_size", "#2ca02c"),
]
PHASES = {"idle": "#f4f4f4", "write": "#e8f0fb", "trim": "#fdf0e2", "settle": "#eaf6ea"}


def nice_step(span):
    for step in (50, 100, 200, 250, 500, 1000):
        if span / step <= 8:
            return step
    return 2000


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    t = [float(r["seconds"]) for r in rows]
    t_max = max(t)
    y_max = max(float(r[k]) for r in rows for k, _, _ in SERIES)
    step = nice_step(y_max)
    y_top = (int(y_max / step) + 1) * step
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(s):
        return LEFT + pw * s / t_max

    def y(v):
        return TOP + ph * (1 - max(v, 0) / y_top)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">zswapd: memory back to the OS after '
           f'trimming 80% over NBD</text>']
    # phase bands
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i]["phase"] != rows[start]["phase"]:
            p = rows[start]["phase"]
            x0, x1 = x(t[start]), x(t[i - 1] if i == len(rows) else t[i])
            out.append(f'<rect x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" height="{ph}" fill="{PHASES.get(p, "#fff")}"/>')
            out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{TOP + 14}" text-anchor="middle" fill="#666">{p}</text>')
            start = i
    # grid and axes
    v = 0
    while v <= y_top:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>')
        v += step
    ts = 10 if t_max <= 120 else 30
    s = 0
    while s <= t_max:
        out.append(f'<text x="{x(s):.1f}" y="{TOP + ph + 18}" text-anchor="middle">{s}</text>')
        s += ts
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + ph}" stroke="#333"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{TOP + ph}" y2="{TOP + ph}" stroke="#333"/>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 10}" text-anchor="middle">seconds</text>')
    out.append(f'<text x="18" y="{TOP + ph / 2}" text-anchor="middle" transform="rotate(-90 18 {TOP + ph / 2})">MiB</text>')
    # series
    for i, (key, label, color) in enumerate(SERIES):
        pts = " ".join(f"{x(tt):.1f},{y(float(r[key])):.1f}" for tt, r in zip(t, rows))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        ly = TOP + 20 + i * 22
        out.append(f'<line x1="{LEFT + pw + 15}" x2="{LEFT + pw + 40}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="3"/>')
        out.append(f'<text x="{LEFT + pw + 46}" y="{ly + 4}">{label}</text>')
    last = rows[-1]
    ly = TOP + 20 + len(SERIES) * 22 + 10
    ratio = float(last["rss_minus_idle_mib"]) / float(last["compr_data_size_mib"])
    out.append(f'<text x="{LEFT + pw + 15}" y="{ly}">at the end:</text>')
    out.append(f'<text x="{LEFT + pw + 15}" y="{ly + 18}">RSS - idle = {ratio:.2f} x</text>')
    out.append(f'<text x="{LEFT + pw + 15}" y="{ly + 36}">compr_data_size</text>')
    out.append('</svg>')
    open(sys.argv[2], "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
