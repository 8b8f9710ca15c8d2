"""qrt fp16 (or bf16) against qrt fp32 on the scoreboard models, in one process.

Both conversions of a model are loaded side by side and run in alternation (ABAB...), so that load
from other processes falls on both; the figure per mode is the median over the rounds. 1 thread:
CPU time of the calling thread (the session runs on it); more threads: wall time. ``--profile``
adds a per-op table (profile=True sessions; wall time, minimum over chunks of runs).

    python benchmarks/fp16_vs_fp32.py [resnet18 mobilenetv2 minilm mlp] [--mode fp16] [--threads 1 2]
           [--rounds 40] [--profile] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402

import qrt  # noqa: E402


def _convert(onnx_path: Path, mode: str, out_dir: str) -> str:
    out = os.path.join(out_dir, f"{onnx_path.stem}.{mode}.qmodel")
    qrt.convert(str(onnx_path), out, mode=mode)
    return out


def _timer(threads: int):
    return time.thread_time if threads == 1 else time.perf_counter


def compare(name: str, mode: str, threads_list, rounds: int, reps: int, tmp: str) -> dict:
    onnx_path = models.cached_onnx(name)
    feeds = models.example_inputs(name)
    paths = {m: _convert(onnx_path, m, tmp) for m in (mode, "fp32")}
    res = {"model": name, "mode": mode, "file_bytes": {m: os.path.getsize(p) for m, p in paths.items()},
           "threads": {}}
    for t in threads_list:
        sess = {m: qrt.InferenceSession(p, threads=t) for m, p in paths.items()}
        outs = {m: s.run(None, feeds)[0] for m, s in sess.items()}
        for m, s in sess.items():
            for _ in range(3):
                s.run(None, feeds)
        clock = _timer(t)
        times = defaultdict(list)
        for r in range(rounds):
            order = (mode, "fp32") if r % 2 == 0 else ("fp32", mode)
            for m in order:
                t0 = clock()
                for _ in range(reps):
                    sess[m].run(None, feeds)
                times[m].append((clock() - t0) / reps * 1e3)
        med = {m: statistics.median(v) for m, v in times.items()}
        res["threads"][t] = {"median_ms": med, "ratio": med[mode] / med["fp32"],
                             "max_abs_diff": float(np.max(np.abs(outs[mode] - outs["fp32"])))}
    return res


def profile(name: str, mode: str, threads: int, chunks: int, reps: int, tmp: str) -> list[dict]:
    onnx_path = models.cached_onnx(name)
    feeds = models.example_inputs(name)
    paths = {m: _convert(onnx_path, m, tmp) for m in (mode, "fp32")}
    best: dict[str, dict] = {m: {} for m in paths}
    kernels: dict[str, dict] = {m: {} for m in paths}
    order_keys: list = []
    for c in range(chunks):
        for m in ((mode, "fp32") if c % 2 == 0 else ("fp32", mode)):
            s = qrt.InferenceSession(paths[m], threads=threads, profile=True)
            s.run(None, feeds)
            base = {r["node"]: r["total_ms"] for r in s.profile()}
            for _ in range(reps):
                s.run(None, feeds)
            for r in s.profile():
                key = (r["op"], r["node"])
                if m == "fp32" and c < 2 and key not in order_keys:
                    order_keys.append(key)
                ms = (r["total_ms"] - base.get(r["node"], 0.0)) / reps
                prev = best[m].get(key)
                best[m][key] = ms if prev is None else min(prev, ms)
                kernels[m][key] = r.get("kernel", "")
    rows = []
    keys = order_keys + [k for k in best[mode] if k not in order_keys]
    for k in keys:
        rows.append({"op": k[0], "node": k[1], "ms": {m: best[m].get(k) for m in best},
                     "kernel": {m: kernels[m].get(k, "") for m in kernels}})
    return rows


def print_profile(name: str, mode: str, rows: list[dict]) -> None:
    by_op = defaultdict(lambda: defaultdict(float))
    for r in rows:
        for m, v in r["ms"].items():
            if v is not None:
                by_op[r["op"]][m] += v
    print(f"\n{name}: per op type, sum over nodes of the per-node minimum (ms)")
    print(f"  {'op':<24} {mode:>9} {'fp32':>9} {'diff':>8}")
    tot = defaultdict(float)
    for op, d in sorted(by_op.items(), key=lambda kv: -kv[1].get("fp32", 0.0)):
        a, b = d.get(mode, 0.0), d.get("fp32", 0.0)
        tot[mode] += a
        tot["fp32"] += b
        print(f"  {op:<24} {a:9.3f} {b:9.3f} {a - b:+8.3f}")
    print(f"  {'total':<24} {tot[mode]:9.3f} {tot['fp32']:9.3f} {tot[mode] - tot['fp32']:+8.3f}")
    print(f"  nodes where {mode} - fp32 > 0.02 ms:")
    for r in rows:
        a, b = r["ms"].get(mode), r["ms"].get("fp32")
        if a is not None and b is not None and a - b > 0.02:
            print(f"    {r['node']:<48} {r['op']:<12} {a:7.3f} {b:7.3f}  {r['kernel'].get(mode, '')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=["resnet18", "mobilenetv2", "minilm", "mlp"])
    ap.add_argument("--mode", default="fp16", choices=["fp16", "bf16"])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    info = qrt.cpu_info()
    print(f"load average {os.getloadavg()}, cpus {os.cpu_count()}, ISA cap {info['isa_cap']}, "
          f"{a.mode} GEMM {info['kernels'].get('gemm_f32' + a.mode.replace('fp', 'f'), '?')}")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models:
            reps = a.reps if name != "mlp" else a.reps * 100
            r = compare(name, a.mode, a.threads, a.rounds, reps, tmp)
            for t, d in r["threads"].items():
                med = d["median_ms"]
                print(f"{name:<12} {t}T  {a.mode} {med[a.mode]:8.3f} ms  fp32 {med['fp32']:8.3f} ms  "
                      f"{a.mode}/fp32 {d['ratio']:.3f}  max|diff| {d['max_abs_diff']:.2e}", flush=True)
            if a.profile:
                r["profile"] = profile(name, a.mode, a.threads[0], 8, max(1, reps), tmp)
                print_profile(name, a.mode, r["profile"])
            out.append(r)
    print(f"load average {os.getloadavg()}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
