#!/usr/bin/env python3
"""Summarises ONNX Runtime profiles (MAMBA_EXPLAIN_ORT_PROFILE=<prefix>: one JSON trace per session) by operator.

Usage: python3 tools/gpu/ort_profile_summary.py PREFIX [TOP]
Prints, per profile file with node events, the total kernel time by (op type, provider), the largest first, and the
number of model runs, and the host/device copies by tensor type and shape; the figures of docs/benchmarks.md's profile paragraph come from it.
"""
import glob, json, sys
from collections import defaultdict

prefix = sys.argv[1]
top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
for f in sorted(glob.glob(prefix + '*.json')):
    events = json.load(open(f))
    by = defaultdict(lambda: [0, 0])
    shapes = defaultdict(int)  # host/device copies by (op, input type and shape)
    runs = 0
    run_us = 0
    for e in events:
        if e.get('cat') == 'Session' and e.get('name') == 'model_run':
            runs += 1
            run_us += e.get('dur', 0)
        if e.get('cat') != 'Node' or not e.get('name', '').endswith('_kernel_time'):
            continue
        a = e.get('args', {})
        k = (a.get('op_name', '?'), a.get('provider', '?'))
        by[k][0] += e.get('dur', 0)
        by[k][1] += 1
        if k[0].startswith('Memcpy'):
            shapes[(k[0], json.dumps(a.get('input_type_shape')))] += 1
    if not by:
        continue
    total = sum(v[0] for v in by.values())
    print(f'{f}: {runs} runs, {run_us / 1000:.1f} ms in model_run, {total / 1000:.1f} ms in kernels ({sum(v[1] for v in by.values())} kernel events)')
    for (op, prov), (us, n) in sorted(by.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f'  {op:22s} {prov:24s} {us / 1000:9.1f} ms {100 * us / total:5.1f}%  {n:7d} calls')
    for (op, shape), n in sorted(shapes.items(), key=lambda kv: -kv[1])[:12]:
        print(f'  {op} of {shape}: {n} calls')
