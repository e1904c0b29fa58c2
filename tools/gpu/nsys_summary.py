#!/usr/bin/env python3
"""Shortens `nsys stats --format csv` output (the reports of tools/gpu/h200.sh measure) to the top rows of each report.

Usage: nsys stats -q --report cuda_gpu_kern_sum,cuda_api_sum,... --format csv FILE | python3 tools/gpu/nsys_summary.py [TOP]
Per report: its total time, then its largest rows as share, total ms, count and the name (cut to 100 characters). Lines
that are not CSV tables (nsys's own messages) are printed as they are.
"""
import csv, sys

top = int(sys.argv[1]) if len(sys.argv) > 1 else 25
lines = sys.stdin.read().splitlines()


def flush(header, rows):
    if not header:
        return
    col = {h: i for i, h in enumerate(header)}
    name = next((h for h in ('Name', 'Operation') if h in col), header[-1])
    count = next((h for h in ('Instances', 'Num Calls', 'Count') if h in col), None)
    total_ns = sum(float(r[col['Total Time (ns)']]) for r in rows)
    print(f"  {len(rows)} rows, {total_ns / 1e6:.1f} ms in all ({name.lower()} by total time)")
    for r in rows[:top]:
        n = r[col[count]] if count else '?'
        print(f"    {float(r[col['Time (%)']]):5.1f}%  {float(r[col['Total Time (ns)']]) / 1e6:9.1f} ms  {n:>8}  {r[col[name]][:100]}")


header, rows = None, []
for line in lines:
    cells = next(csv.reader([line])) if line.strip() else []
    if cells and cells[0] == 'Time (%)':
        flush(header, rows)
        header, rows = cells, []
    elif header and len(cells) == len(header):
        rows.append(cells)
    else:
        flush(header, rows)
        header, rows = None, []
        if line.strip():
            print(line[:200])
flush(header, rows)
