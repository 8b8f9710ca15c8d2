#!/usr/bin/env python3
"""qrt int8 GEMM kernels beside ONNX Runtime MatMulInteger (and torch dynamic-quantized Linear).

For each thread count in --threads (default 1,2), K x N in 768x768, 768x3072, 3072x768, 1024x1024
and M in 1, 16, 128:
  * qrt:   the C++ benchmark `qrt_bench --json int8_gemm` with QRT_BENCH_THREADS (u8 x s8 GEMM with
           the requantizing epilogue, packed weights, the selected kernel split over the runtime's
           thread pool as Dense splits it; and, single thread, the dynamic path: f32 in, minmax +
           quantize + GEMM, f32 out).
  * ORT:   a one-node MatMulInteger model (A u8 input with zero point 128, B s8 initializer, so ORT
           may prepack it), run through IOBinding with a preallocated int32 output; the per-call
           overhead of an equally bound Identity model is printed too, so readers can judge it.
           ORT DynamicQuantizeMatMul (com.microsoft; f32 in, s8 weights, f32 out) beside qrt's
           dynamic path.
  * torch: torch.ao.nn.quantized.dynamic.Linear (f32 in, quantize + GEMM + f32 out), if importable
           (single thread only).
% of peak is against the best register-only peak of the kernel's unit (tdpbusd for the AMX kernel,
zmm vpdpbusd otherwise) times the thread count.
Times are the best of several batches, and the best over --rounds full rounds (each round runs
qrt_bench once and every ORT/torch cell once), so that a shared, busy machine disturbs every
contender alike. Ratios > 1 mean qrt is faster.

    python benchmarks/int8_kernels_vs_ort.py --qrt-bench build-int8/qrt_bench [--rounds 3] [--json out.json]
        [--qrt-bench-before old/qrt_bench]   # before/after in the same run, alternated per round
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

SHAPES = [(768, 768), (768, 3072), (3072, 768), (1024, 1024)]
MS = [1, 16, 128]


def best_time(fn, min_batch_s: float = 0.01, batches: int = 15) -> float:
    """Best per-call seconds over `batches` batches of at least min_batch_s each."""
    fn()
    iters = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_batch_s:
            break
        iters = max(iters * 2, int(iters * min_batch_s / max(dt, 1e-9) * 1.1))
    best = float("inf")
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        best = min(best, (time.perf_counter() - t0) / iters)
    return best


def ort_session(model_bytes: bytes, threads: int = 1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


# Fraction of ORT MatMulInteger outputs that differ from the exact product, per (M, K, N): on CPUs
# without VNNI, ORT's u8 x s8 kernels use vpmaddubsw, whose int16 pair sums saturate for
# full-range data (seen on a Zen 3: 99.999 % of the outputs wrong for uniform random A and B).
# qrt's kernels are exact on every ISA; the table states ORT's error rather than hiding it.
ORT_WRONG: dict = {}


def ort_matmulinteger_time(M: int, K: int, N: int, rng, threads: int = 1) -> float:
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    B = rng.integers(-127, 128, size=(K, N), dtype=np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B", "a_zp"], ["Y"])],
        "mmi",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [M, K])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [M, N])],
        initializer=[numpy_helper.from_array(B, "B"),
                     numpy_helper.from_array(np.array(128, dtype=np.uint8), "a_zp")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    sess = ort_session(model.SerializeToString(), threads)
    A = rng.integers(0, 256, size=(M, K), dtype=np.uint8)
    # OrtValue.ortvalue_from_numpy wraps numpy memory without owning it: keep the arrays alive.
    Ybuf = np.empty((M, N), np.int32)
    av, yv = ort.OrtValue.ortvalue_from_numpy(A), ort.OrtValue.ortvalue_from_numpy(Ybuf)
    io = sess.io_binding()
    io.bind_ortvalue_input("A", av)
    io.bind_ortvalue_output("Y", yv)
    # Exactness against numpy (recorded, not asserted: see ORT_WRONG).
    sess.run_with_iobinding(io)
    Y = io.get_outputs()[0].numpy()
    ref = (A.astype(np.int64) - 128) @ B.astype(np.int64)
    ORT_WRONG[(M, K, N)] = float(np.mean(Y != ref))
    return best_time(lambda: sess.run_with_iobinding(io))


def ort_dqmm_time(M: int, K: int, N: int, rng, threads: int = 1) -> float:
    """com.microsoft.DynamicQuantizeMatMul: f32 A quantized per call, s8 B (per-column scale), f32 out."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    B = rng.integers(-127, 128, size=(K, N), dtype=np.int8)
    graph = helper.make_graph(
        [helper.make_node("DynamicQuantizeMatMul", ["A", "B", "b_scale", "b_zp"], ["Y"],
                          domain="com.microsoft")],
        "dqmm",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [M, K])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [M, N])],
        initializer=[numpy_helper.from_array(B, "B"),
                     numpy_helper.from_array(np.full((N,), 0.01, np.float32), "b_scale"),
                     numpy_helper.from_array(np.zeros((N,), np.int8), "b_zp")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    sess = ort_session(model.SerializeToString(), threads)
    A = rng.standard_normal((M, K)).astype(np.float32)
    Ybuf = np.empty((M, N), np.float32)
    av, yv = ort.OrtValue.ortvalue_from_numpy(A), ort.OrtValue.ortvalue_from_numpy(Ybuf)
    io = sess.io_binding()
    io.bind_ortvalue_input("A", av)
    io.bind_ortvalue_output("Y", yv)
    t = best_time(lambda: sess.run_with_iobinding(io))
    del A, Ybuf  # alive until here
    return t


def ort_overhead_time(rng) -> float:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["A"], ["Y"])], "id",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [1, 768])],
        [helper.make_tensor_value_info("Y", TensorProto.UINT8, [1, 768])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    sess = ort_session(model.SerializeToString())
    Abuf, Ybuf = np.zeros((1, 768), np.uint8), np.zeros((1, 768), np.uint8)
    av, yv = ort.OrtValue.ortvalue_from_numpy(Abuf), ort.OrtValue.ortvalue_from_numpy(Ybuf)
    io = sess.io_binding()
    io.bind_ortvalue_input("A", av)
    io.bind_ortvalue_output("Y", yv)
    t = best_time(lambda: sess.run_with_iobinding(io))
    del Abuf, Ybuf  # alive until here
    return t


def torch_dynamic_time(M: int, K: int, N: int):
    try:
        import torch
        import torch.ao.nn.quantized.dynamic as nnqd
    except Exception:  # noqa: BLE001 - torch is optional
        return None
    torch.set_num_threads(1)
    lin = torch.nn.Linear(K, N)
    lin.qconfig = torch.ao.quantization.default_dynamic_qconfig
    q = nnqd.Linear.from_float(lin)
    x = torch.randn(M, K)
    with torch.inference_mode():
        return best_time(lambda: q(x))


def qrt_figures(qrt_bench: str, threads: list[int]) -> tuple[dict, dict, dict]:
    env = dict(os.environ, QRT_BENCH_THREADS=",".join(str(t) for t in threads))
    out = subprocess.run([qrt_bench, "--json", "int8_gemm"], check=True, capture_output=True,
                         text=True, env=env).stdout
    doc = json.loads(out)
    rows = [r for b in doc["benchmarks"] if b["name"] == "int8_gemm" for r in b["rows"]]
    peak_row = next((r for r in rows if r.get("kind") == "peak"), {})
    peaks = {"zmm_vnni": peak_row.get("zmm_vnni_gops") or 0.0,
             "amx_int8": peak_row.get("amx_int8_gops") or 0.0}
    dyn = {(int(r["M"]), int(r["K"]), int(r["N"])): r for r in rows if r.get("kind") == "dynamic_f32"}
    best_kernel = next(iter(dyn.values()))["kernel"] if dyn else None
    gemm = {}
    for r in rows:
        if r.get("kind") == "gemm_u8s8" and (best_kernel is None or r["kernel"] == best_kernel):
            gemm[(int(r.get("threads", 1)), int(r["M"]), int(r["K"]), int(r["N"]))] = r
    return gemm, dyn, peaks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qrt-bench", default="build-int8/qrt_bench", help="path to the qrt_bench binary")
    ap.add_argument("--qrt-bench-before", help="a second qrt_bench (e.g. built from an earlier commit): "
                    "run alternately with --qrt-bench in every round, printed as 'before' columns")
    ap.add_argument("--json", help="also write all figures to this file")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="best over this many full rounds")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]

    import onnxruntime as ort

    rng = np.random.default_rng(0)
    gemm: dict = {}
    dyn: dict = {}
    peaks = {"zmm_vnni": 0.0, "amx_int8": 0.0}
    t_ort: dict = {}
    t_dq: dict = {}
    t_torch: dict = {}
    gemm_before: dict = {}
    for rnd in range(args.rounds):
        print(f"round {rnd + 1}/{args.rounds} ...", file=sys.stderr, flush=True)
        if args.qrt_bench_before:
            gb, _, _ = qrt_figures(args.qrt_bench_before, threads)
            for key, row in gb.items():
                if key not in gemm_before or row["us"] < gemm_before[key]["us"]:
                    gemm_before[key] = row
        g, d, pk = qrt_figures(args.qrt_bench, threads)
        for k in peaks:
            peaks[k] = max(peaks[k], pk[k])
        for key, row in g.items():
            if key not in gemm or row["us"] < gemm[key]["us"]:
                gemm[key] = row
        for key, row in d.items():
            if key not in dyn or row["us"] < dyn[key]["us"]:
                dyn[key] = row
        for T in threads:
            for K, N in SHAPES:
                for M in MS:
                    key = (T, M, K, N)
                    t_ort[key] = min(ort_matmulinteger_time(M, K, N, rng, T), t_ort.get(key, float("inf")))
                    if T == 1:
                        t_dq[key] = min(ort_dqmm_time(M, K, N, rng, T), t_dq.get(key, float("inf")))
                        tt = None if args.no_torch else torch_dynamic_time(M, K, N)
                        if tt is not None:
                            t_torch[key] = min(tt, t_torch.get(key, float("inf")))
    for key, row in gemm.items():  # % of the best peak seen in any round, x threads
        pk = peaks.get(row.get("peak_ref", "zmm_vnni"), 0.0) * key[0]
        row["pct_peak"] = 100.0 * row["gops"] / pk if pk else 0.0
    kernel = next(iter(gemm.values()))["kernel"] if gemm else "?"
    overhead = ort_overhead_time(rng)
    print(f"onnxruntime {ort.__version__}; qrt kernel {kernel}; 1-core peaks: vpdpbusd zmm "
          f"{peaks['zmm_vnni']:.1f} GOPS, tdpbusd (AMX) {peaks['amx_int8']:.1f} GOPS")
    print(f"ORT per-call overhead (Identity model, IOBinding): {overhead * 1e6:.1f} us")
    results = []
    for T in threads:
        print(f"\n== {T} thread(s) ==")
        hdr = (f"{'K x N':>11} {'M':>4} | {'qrt us':>8} {'GOPS':>6} {'%peak':>6} | {'ORT us':>8} {'GOPS':>6}"
               f" {'ORT/qrt':>7}")
        if gemm_before:
            hdr += f" | {'before us':>9} {'ORT/bef':>7}"
        if T == 1:
            hdr += f" | {'qrt dyn us':>10} {'ORT DQMM us':>11} {'DQMM/qrt':>8} {'torch dyn us':>12} {'torch/qrt':>9}"
        print(hdr)
        print("-" * len(hdr))
        for K, N in SHAPES:
            for M in MS:
                key = (T, M, K, N)
                g = gemm.get(key)
                d = dyn.get((M, K, N)) if T == 1 else None
                t_ort_s = t_ort[key]
                ops = 2.0 * M * K * N
                q_us = g["us"] if g else float("nan")
                row = {"threads": T, "M": M, "K": K, "N": N, "qrt_us": q_us,
                       "qrt_gops": g["gops"] if g else None,
                       "qrt_pct_peak": g["pct_peak"] if g else None, "ort_us": t_ort_s * 1e6,
                       "ort_gops": ops / t_ort_s * 1e-9, "ort_over_qrt": t_ort_s * 1e6 / q_us,
                       "ort_wrong_fraction": ORT_WRONG.get((M, K, N))}
                line = (f"{K:>5}x{N:<5} {M:>4} | {q_us:8.1f} {row['qrt_gops'] or 0:6.0f} {row['qrt_pct_peak'] or 0:5.1f}% |"
                        f" {row['ort_us']:8.1f} {row['ort_gops']:6.0f} {row['ort_over_qrt']:7.2f}")
                if gemm_before:
                    b = gemm_before.get(key)
                    b_us = b["us"] if b else float("nan")
                    row.update({"before_us": b_us, "ort_over_before": t_ort_s * 1e6 / b_us})
                    line += f" | {b_us:9.1f} {row['ort_over_before']:7.2f}"
                if T == 1:
                    d_us = d["us"] if d else float("nan")
                    t_dq_s = t_dq[key]
                    t_torch_s = t_torch.get(key)
                    row.update({"qrt_dynamic_us": d_us, "ort_dqmm_us": t_dq_s * 1e6,
                                "ort_dqmm_over_qrt_dynamic": t_dq_s * 1e6 / d_us,
                                "torch_dynamic_us": t_torch_s * 1e6 if t_torch_s else None,
                                "torch_over_qrt_dynamic": (t_torch_s * 1e6 / d_us) if t_torch_s else None})
                    torch_s = (f"{row['torch_dynamic_us']:12.1f} {row['torch_over_qrt_dynamic']:9.2f}"
                               if t_torch_s else f"{'-':>12} {'-':>9}")
                    line += f" | {d_us:10.1f} {row['ort_dqmm_us']:11.1f} {row['ort_dqmm_over_qrt_dynamic']:8.2f} {torch_s}"
                results.append(row)
                print(line)
                sys.stdout.flush()
    wrong = {k: v for k, v in ORT_WRONG.items() if v}
    if wrong:
        print("\nORT MatMulInteger is NOT exact on this CPU (int16 saturation without VNNI): wrong "
              "outputs " + ", ".join(f"M={m} {k}x{n} {100 * v:.2f}%" for (m, k, n), v in sorted(wrong.items())))
    print("\nqrt: u8 x s8 GEMM + requant epilogue (u8 out); ORT MatMulInteger: int32 out, no epilogue;"
          "\nqrt dyn / ORT DQMM / torch dyn: f32 in -> dynamic u8 quantization -> GEMM -> f32 out."
          "\nRatios > 1: qrt is faster.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"peaks_gops": peaks, "ort_overhead_us": overhead * 1e6, "kernel": kernel,
                       "ort_wrong_fraction": {f"{m}x{k}x{n}": v for (m, k, n), v in ORT_WRONG.items()},
                       "rows": results}, f, indent=1)
    return 0

if __name__ == "__main__":
    sys.exit(main())
