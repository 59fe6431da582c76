#!/usr/bin/env python3
"""Draws the memory-return benchmark's CSV as an SVG line chart (no plotting library needed).

Usage: memory_chart.py docs/memory-return.csv docs/memory-return.svg [TITLE]
Lines: the daemon's RSS minus its idle RSS, off-heap chunks held, mem_used_total,
compr_data_size (MiB) over time, and the aim (1.25 x compr_data_size) dashed; the phases
(write, trim, settle) shaded behind them and named above the plot.
"""
import csv
import sys

W, H = 900, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 250, 58, 50
AIM = 1.25
TITLE = "zswapd daemon: memory back to the OS after trimming 80% over NBD"
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
    title = sys.argv[3] if len(sys.argv) > 3 else TITLE
    t = [float(r["seconds"]) for r in rows]
    t_max = max(t)
    y_max = max(max(float(r[k]) for r in rows for k, _, _ in SERIES),
                max(AIM * float(r["compr_data_size_mib"]) for r in rows))
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
           f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{title}</text>']
    # phase bands; their names go above the plot, where no line crosses them, each centred on
    # its band but pushed right of the one before when the band is narrower than its name
    start = 0
    label_end = LEFT
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i]["phase"] != rows[start]["phase"]:
            p = rows[start]["phase"]
            x0, x1 = x(t[start]), x(t[i - 1] if i == len(rows) else t[i])
            out.append(f'<rect x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" height="{ph}" fill="{PHASES.get(p, "#fff")}"/>')
            half = 3.5 * len(p) + 3  # about half the name's width at 12 px, plus a gap
            cx = max((x0 + x1) / 2, label_end + half)
            out.append(f'<line x1="{x0:.1f}" x2="{x0:.1f}" y1="{TOP - 3}" y2="{TOP}" stroke="#999"/>')
            out.append(f'<text x="{cx:.1f}" y="{TOP - 5}" text-anchor="middle" fill="#555">{p}</text>')
            label_end = cx + half
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
    # the aim, then the series
    aim = " ".join(f"{x(tt):.1f},{y(AIM * float(r['compr_data_size_mib'])):.1f}" for tt, r in zip(t, rows))
    out.append(f'<polyline points="{aim}" fill="none" stroke="#555" stroke-width="1.5" stroke-dasharray="6 4"/>')
    for i, (key, label, color) in enumerate(SERIES):
        pts = " ".join(f"{x(tt):.1f},{y(float(r[key])):.1f}" for tt, r in zip(t, rows))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        ly = TOP + 20 + i * 22
        out.append(f'<line x1="{LEFT + pw + 15}" x2="{LEFT + pw + 40}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="3"/>')
        out.append(f'<text x="{LEFT + pw + 46}" y="{ly + 4}">{label}</text>')
    ly = TOP + 20 + len(SERIES) * 22
    out.append(f'<line x1="{LEFT + pw + 15}" x2="{LEFT + pw + 40}" y1="{ly}" y2="{ly}" stroke="#555" '
               f'stroke-width="1.5" stroke-dasharray="6 4"/>')
    out.append(f'<text x="{LEFT + pw + 46}" y="{ly + 4}">aim: {AIM} x compr_data_size</text>')
    last = rows[-1]
    ly += 32
    ratio = float(last["rss_minus_idle_mib"]) / float(last["compr_data_size_mib"])
    out.append(f'<text x="{LEFT + pw + 15}" y="{ly}">at the end:</text>')
    out.append(f'<text x="{LEFT + pw + 15}" y="{ly + 18}">RSS - idle = {ratio:.2f} x</text>')
    out.append(f'<text x="{LEFT + pw + 15}" y="{ly + 36}">compr_data_size</text>')
    out.append('</svg>')
    open(sys.argv[2], "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
