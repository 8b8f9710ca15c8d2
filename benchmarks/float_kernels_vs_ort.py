#!/usr/bin/env python3
"""Float GEMM kernels beside ONNX Runtime, same machine, same run, one thread each.

Runs ``qrt_bench --json float_peak float_gemm`` and, on the same (M, K, N) shapes, ONNX Runtime's
fp32 MatMul (A[M,K] x B[K,N]) and Gemm (transB=1, bias: the exact qrt contract) single-node models
with intra_op_num_threads=1, then prints one table with GFLOP/s and qrt / ORT ratios.

    python benchmarks/float_kernels_vs_ort.py --qrt-bench build-float/qrt_bench [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def ort_session(op: str, M: int, K: int, N: int, w: np.ndarray, bias: np.ndarray) -> ort.InferenceSession:
    a = helper.make_tensor_value_info("A", TensorProto.FLOAT, [M, K])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [M, N])
    if op == "MatMul":
        inits = [helper.make_tensor("B", TensorProto.FLOAT, [K, N], w.T.copy().ravel())]
        node = helper.make_node("MatMul", ["A", "B"], ["Y"])
    else:
        inits = [helper.make_tensor("B", TensorProto.FLOAT, [N, K], w.ravel()),
                 helper.make_tensor("C", TensorProto.FLOAT, [N], bias)]
        node = helper.make_node("Gemm", ["A", "B", "C"], ["Y"], transB=1)
    graph = helper.make_graph([node], op, [a], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def time_best(fn, min_batch: float = 0.01, batches: int = 30) -> float:
    """Best per-call CPU time of this thread (ORT with intra_op_num_threads=1 runs in the caller's
    thread), like qrt_bench: time slices taken by other processes on a shared machine don't count."""
    clock = time.thread_time
    fn()
    iters = 1
    while True:
        t0 = clock()
        for _ in range(iters):
            fn()
        dt = clock() - t0
        if dt >= min_batch:
            break
        iters *= max(2, int(min_batch / max(dt, 1e-9) * 1.2))
    best = float("inf")
    for _ in range(batches):
        t0 = clock()
        for _ in range(iters):
            fn()
        best = min(best, (clock() - t0) / iters)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qrt-bench", default="build-float/qrt_bench")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", help="also write the merged table here")
    args = ap.parse_args()

    # qrt_bench filters by substring: "float_gemm" alone would also run float_gemm_nn/_small_m.
    cmd = [args.qrt_bench, "--json", "float_peak", "float_gemm"] + (["--quick"] if args.quick else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    rows, peak, small_m = [], {}, []
    for b in data["benchmarks"]:
        if b["name"] == "float_peak":
            peak = b["rows"][0]
        elif b["name"] == "float_gemm":
            rows = b["rows"]
        elif b["name"] == "float_gemm_small_m":
            small_m = b["rows"]

    shapes = sorted({(int(r["M"]), int(r["K"]), int(r["N"])) for r in rows}, key=lambda s: (-s[0], s[1], s[2]))
    rng = np.random.default_rng(0)
    ort_gflops: dict[tuple[int, int, int, str], float] = {}
    for (M, K, N) in shapes:
        a = rng.standard_normal((M, K), dtype=np.float32)
        w = rng.standard_normal((N, K), dtype=np.float32)
        bias = rng.standard_normal(N, dtype=np.float32)
        for op in ("MatMul", "Gemm"):
            sess = ort_session(op, M, K, N, w, bias)
            feeds = {"A": a}
            t = time_best(lambda: sess.run(None, feeds), 0.005 if args.quick else 0.01, 4 if args.quick else 30)
            ort_gflops[(M, K, N, op)] = 2.0 * M * K * N / t * 1e-9

    print(f"cpu: {data.get('cpu', '?')}; onnxruntime {ort.__version__}; 1 thread each")
    print(f"register-only peak: AVX-512 FMA {peak.get('avx512_fma_gflops', 0):.1f} GFLOP/s, "
          f"AVX2 FMA {peak.get('avx2_fma_gflops', 0):.1f}, vdpbf16ps {peak.get('dpbf16_gflops', 0):.1f}")
    hdr = (f"{'M':>4} {'K':>5} {'N':>5}  {'qrt kernel':<38} {'GFLOP/s':>8} {'%peak':>6} {'W GB/s':>7}  "
           f"{'ORT MatMul':>10} {'ORT Gemm':>9}  {'x MatMul':>8} {'x Gemm':>7} {'x f32':>6}")
    print(hdr)
    print("-" * len(hdr))
    merged = []
    for (M, K, N) in shapes:
        om, og = ort_gflops[(M, K, N, "MatMul")], ort_gflops[(M, K, N, "Gemm")]
        shape_rows = [r for r in rows if (int(r["M"]), int(r["K"]), int(r["N"])) == (M, K, N)]
        # "x f32": against the first (best-ranked) fp32-weight kernel on this shape, i.e. the one
        # qrt selects on this CPU without a QRT_ISA cap (the bar for the fp16/bf16 goals).
        f32 = next((r["gflops"] for r in shape_rows if r["dtype"] == "f32"), 0.0)
        for r in shape_rows:
            g = r["gflops"]
            xf = g / f32 if f32 else 0.0
            print(f"{M:>4} {K:>5} {N:>5}  {r['kernel']:<38} {g:>8.1f} {r.get('pct_peak', 0):>5.1f}% "
                  f"{r.get('weight_gbps', 0):>7.1f}  {om:>10.1f} {og:>9.1f}  {g / om:>8.2f} {g / og:>7.2f} {xf:>6.2f}")
            merged.append({**r, "ort_matmul_gflops": om, "ort_gemm_gflops": og, "x_f32": xf})
        print()
    if small_m:
        print("bf16 weights at small M (qrt only; where AMX must not lose):")
        print(f"{'M':>4} {'K':>5} {'N':>5}  {'qrt kernel':<38} {'GFLOP/s':>8} {'W GB/s':>7}")
        for r in small_m:
            print(f"{int(r['M']):>4} {int(r['K']):>5} {int(r['N']):>5}  {r['kernel']:<38} {r['gflops']:>8.1f} "
                  f"{r.get('weight_gbps', 0):>7.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": data.get("cpu"), "onnxruntime": ort.__version__, "peak": peak, "rows": merged,
                       "small_m": small_m}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
