"""Sums ONNX Runtime profile traces (MAMBA_EXPLAIN_ORT_PROFILE=prefix) by operator and execution provider.

  python3 tools/ort-profile-summary.py PREFIX* [--top 30]
"""
import collections
import json
import sys


def main() -> None:
    files = [a for a in sys.argv[1:] if not a.startswith("--")]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 30
    by_op = collections.Counter()
    count = collections.Counter()
    runs = 0.0
    for f in files:
        try:
            events = json.load(open(f))
        except Exception as e:  # a truncated trace: skip it
            print(f"skip {f}: {e}")
            continue
        for e in events:
            if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
                a = e.get("args", {})
                k = (a.get("op_name", "?"), a.get("provider", "?"))
                by_op[k] += e.get("dur", 0)
                count[k] += 1
            elif e.get("cat") == "Session" and e.get("name") == "model_run":
                runs += e.get("dur", 0)
    total = sum(by_op.values())
    print(f"{len(files)} traces; model_run total {runs / 1e6:.2f} s; kernels total {total / 1e6:.2f} s")
    for (op, prov), us in by_op.most_common(top):
        print(f"  {op:20s} {prov:28s} {us / 1e6:8.3f} s  {count[(op, prov)]:7d} calls  {us / max(1, count[(op, prov)]):9.1f} us/call")


if __name__ == "__main__":
    main()
