#!/usr/bin/env python3
"""qrt float Conv2d (fp32 activations; fp32 or fp16 weights) beside ONNX Runtime's fp32 Conv on
every distinct conv shape of ResNet-18 and MobileNetV2 at 224x224 (batch 1); depthwise shapes
(MobileNetV2's) with --depthwise include|only (default: exclude, the GEMM convolutions alone).

For each shape this builds
  * qrt:  a one-node .qmodel (Conv2d NHWC, f32 input/output, weights [O, KH, KW, C/group] in f32
          or f16, f32 bias) through qrt._core.write_model, run by the raw binding (fresh output);
  * ORT:  a one-node fp32 Conv model (NCHW, the layout ORT's CPU provider runs best), with the
          same weights (fp32), through InferenceSession.run.
Outputs are compared (relative max error against ORT's). Times are best-of batches, best over
--rounds rounds (each round runs every cell once, so slow phases of a shared machine fall on both).
"x" is how many times the shape occurs in the network; the "net" rows sum x * time. Ratios > 1
mean qrt is faster.

    python benchmarks/float_conv_vs_ort.py [--weights f32,f16] [--threads 1,2] [--rounds 3]
        [--net resnet18] [--filter 7x7] [--depthwise exclude|include|only] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from int8_conv_vs_ort import best_time, distinct_shapes  # noqa: E402


def label(key):
    H, W, C, O, k, s, p, g = key
    dw = "dw " if g == C and g > 1 else ""
    return f"{dw}{k}x{k} s{s} {H}x{W}x{C}->{O}"


def qrt_session(key, w, b, wdt, threads):
    import qrt
    from qrt import _core

    H, W, C, O, k, s, p, g = key
    tensors = [
        {"name": "x", "dtype": "f32", "shape": [1, H, W, C], "data": None, "quant": None},
        {"name": "w", "dtype": wdt, "shape": list(w.shape),
         "data": w.astype(np.float16) if wdt == "f16" else w, "quant": None},
        {"name": "b", "dtype": "f32", "shape": [O], "data": b, "quant": None},
        {"name": "y", "dtype": "f32", "shape": [], "data": None, "quant": None},
    ]
    node = {"op": "Conv2d", "version": 1, "name": "conv", "inputs": [0, 1, 2], "outputs": [3],
            "attrs": {"strides": [s, s], "pads": [p] * 4, "dilations": [1, 1], "group": g}}
    qm = _core.write_model({"tensors": tensors, "nodes": [node], "inputs": [0], "outputs": [3],
                            "metadata": {"producer": "float_conv_vs_ort"}})
    sess = qrt.InferenceSession(qm, threads=threads)
    return sess, sess.kernel_report()[0].get("kernel", "?")


def ort_session(key, w, b, threads):
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    H, W, C, O, k, s, p, g = key
    OH = (H + 2 * p - k) // s + 1
    OW = (W + 2 * p - k) // s + 1
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[k, k], strides=[s, s],
                            pads=[p] * 4, group=g)
    graph = helper.make_graph(
        [node], "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, H, W])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, O, OH, OW])],
        [numpy_helper.from_array(np.ascontiguousarray(w.transpose(0, 3, 1, 2)), "w"),
         numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="f32,f16", help="qrt weight dtypes (f32, f16)")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--filter", default="", help="only shapes whose label contains this")
    ap.add_argument("--net", default="", help="only shapes of this network (resnet18, mobilenetv2)")
    ap.add_argument("--depthwise", default="exclude", choices=("exclude", "include", "only"),
                    help="depthwise shapes (group = C = O): left out, added, or alone")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    wdts = args.weights.split(",")

    import onnxruntime as ort
    import qrt

    def dw_ok(k):
        dw = k[7] == k[2] and k[7] > 1
        return args.depthwise == "include" or dw == (args.depthwise == "only")

    shapes = {k: e for k, e in distinct_shapes().items()
              if dw_ok(k) and args.filter in label(k) and (not args.net or args.net in e["nets"])}
    rng = np.random.default_rng(0)
    data = {}
    for key in shapes:
        H, W, C, O, k, s, p, g = key
        data[key] = (rng.standard_normal((1, H, W, C)).astype(np.float32),
                     (rng.standard_normal((O, k, k, C // g)) * (2.0 / (k * k * C // g)) ** 0.5).astype(np.float32),
                     rng.standard_normal(O).astype(np.float32) * 0.1)
    res = {}
    for rnd in range(args.rounds):
        print(f"round {rnd + 1}/{args.rounds} ...", file=sys.stderr, flush=True)
        for T in threads:
            for key in shapes:
                x, w, b = data[key]
                o = ort_session(key, w, b, T)
                xn = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
                yo = o.run(None, {"x": xn})[0].transpose(0, 2, 3, 1)
                to = best_time(lambda: o.run(None, {"x": xn}))
                r = res.setdefault((key, T), {"ort": float("inf")})
                r["ort"] = min(r["ort"], to)
                for wdt in wdts:
                    sess, kern = qrt_session(key, w, b, wdt, T)
                    raw = sess._sess
                    yq = raw.run([x])[0]
                    tq = best_time(lambda: raw.run([x]))
                    r[wdt] = min(r.get(wdt, float("inf")), tq)
                    r[wdt + "_kernel"] = kern
                    r[wdt + "_relerr"] = float(np.abs(yq - yo).max() / np.abs(yo).max())

    print(f"onnxruntime {ort.__version__}; qrt {qrt.__version__}, ISA cap {qrt.cpu_info()['isa_cap']}")
    rows = []
    for T in threads:
        print(f"\n== {T} thread(s) ==  (us; ratio = ORT fp32 / qrt, > 1: qrt faster)")
        hdr = f"{'shape':<26} {'nets':<10} {'GFLOP':>6} | {'ORT fp32':>9}"
        for wdt in wdts:
            hdr += f" | {'qrt ' + wdt:>9} {'ratio':>5} {'relerr':>7}"
        print(hdr + "  qrt kernel")
        print("-" * len(hdr))
        tot = {}
        for key, e in shapes.items():
            H, W, C, O, k, s, p, g = key
            OH = (H + 2 * p - k) // s + 1
            gflop = 2.0 * OH * OH * O * k * k * C / g * 1e-9
            r = res[(key, T)]
            nets = " ".join(f"{n[0].upper()}x{c}" for n, c in e["nets"].items())
            line = f"{label(key):<26} {nets:<10} {gflop:6.3f} | {r['ort'] * 1e6:9.1f}"
            row = {"shape": label(key), "threads": T, "gflop": gflop, "ort_us": r["ort"] * 1e6,
                   "nets": dict(e["nets"])}
            for wdt in wdts:
                line += f" | {r[wdt] * 1e6:9.1f} {r['ort'] / r[wdt]:5.2f} {r[wdt + '_relerr']:7.1e}"
                row[f"qrt_{wdt}_us"] = r[wdt] * 1e6
                row[f"qrt_{wdt}_kernel"] = r[wdt + "_kernel"]
                row[f"qrt_{wdt}_relerr"] = r[wdt + "_relerr"]
            print(line + "  " + r[wdts[0] + "_kernel"])
            rows.append(row)
            for net, cnt in e["nets"].items():
                t = tot.setdefault(net, {"ort": 0.0, **{w: 0.0 for w in wdts}})
                t["ort"] += cnt * r["ort"]
                for wdt in wdts:
                    t[wdt] += cnt * r[wdt]
        for net, t in tot.items():
            line = f"{'net ' + net:<26} {'(sum x*t)':<10} {'':>6} | {t['ort'] * 1e6:9.0f}"
            for wdt in wdts:
                line += f" | {t[wdt] * 1e6:9.0f} {t['ort'] / t[wdt]:5.2f} {'':>7}"
            print(line)
    if args.json:
        Path(args.json).write_text(json.dumps({"onnxruntime": ort.__version__, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
