#!/usr/bin/env python3
"""qrt int8 Conv2d beside ONNX Runtime QLinearConv on every distinct conv shape of ResNet-18 and
MobileNetV2 at 224x224 (batch 1), 1 and 2 threads.

For each shape (H, W, Cin, Cout, kernel, stride, pad, group; depthwise included) this builds
  * qrt:  a one-node .qmodel (Conv2d NHWC, u8 input/output with per-tensor quantization, s8
          weights [O, KH, KW, C/group] with per-channel scales, s32 bias) through
          qrt._core.write_model, run by qrt.InferenceSession (raw binding call, fresh output);
  * ORT:  a one-node QLinearConv model (ai.onnx, NCHW, u8 x s8 per-channel, int32 bias) run through
          IOBinding with a preallocated output, and the NHWC form ORT itself rewrites to
          (com.microsoft.QLinearConv, channels_last=1), if this ORT accepts it.
Outputs of qrt and ORT are compared (they may differ by 1 in the last unit: ORT requantizes with
its own fixed-point/float rounding); the table shows the maximum difference.
Times are best-of batches, best over --rounds rounds (each round runs every cell once). "x" is
how many times the shape occurs in the network; the "net" rows sum x * time per network.
Ratios > 1 mean qrt is faster.

    PYTHONPATH=<tree> python benchmarks/int8_conv_vs_ort.py [--threads 1,2] [--rounds 3] [--json out.json]
        [--filter dw] [--net mobilenetv2] [--weight-bits 7]

--weight-bits 7 draws the weights from [-64, 64], the range of a model converted with
weight_bits=7 (qrt then runs its narrow-weight kernel where the CPU has one; ORT is unaffected).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import OrderedDict

import numpy as np


def best_time(fn, min_batch_s: float = 0.01, batches: int = 10) -> float:
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


# (net, H, W, Cin, Cout, k, stride, pad, group)
def resnet18_convs():
    c = [("resnet18", 224, 224, 3, 64, 7, 2, 3, 1)]
    h, cin = 56, 64
    for cout, s in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for blk in range(2):
            st = s if blk == 0 else 1
            c.append(("resnet18", h, h, cin, cout, 3, st, 1, 1))
            if st != 1 or cin != cout:
                c.append(("resnet18", h, h, cin, cout, 1, st, 0, 1))  # downsample
            h = h // st
            c.append(("resnet18", h, h, cout, cout, 3, 1, 1, 1))
            cin = cout
    return c


def mobilenetv2_convs():
    c = [("mobilenetv2", 224, 224, 3, 32, 3, 2, 1, 1)]
    h, cin = 112, 32
    for t, cout, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                          (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            st = s if i == 0 else 1
            hid = cin * t
            if t != 1:
                c.append(("mobilenetv2", h, h, cin, hid, 1, 1, 0, 1))
            c.append(("mobilenetv2", h, h, hid, hid, 3, st, 1, hid))  # depthwise
            h = (h + 2 - 3) // st + 1
            c.append(("mobilenetv2", h, h, hid, cout, 1, 1, 0, 1))
            cin = cout
    c.append(("mobilenetv2", h, h, cin, 1280, 1, 1, 0, 1))
    return c


def distinct_shapes():
    shapes: "OrderedDict[tuple, dict]" = OrderedDict()
    for net, *shape in resnet18_convs() + mobilenetv2_convs():
        key = tuple(shape)
        e = shapes.setdefault(key, {"nets": OrderedDict()})
        e["nets"][net] = e["nets"].get(net, 0) + 1
    return shapes


class Params:
    def __init__(self, H, W, C, O, k, s, p, g, rng, wmax=127):
        self.H, self.W, self.C, self.O, self.k, self.s, self.p, self.g = H, W, C, O, k, s, p, g
        self.OH = (H + 2 * p - k) // s + 1
        self.OW = (W + 2 * p - k) // s + 1
        cg = C // g
        self.x = rng.integers(0, 256, size=(1, H, W, C), dtype=np.uint8)
        self.w = rng.integers(-wmax, wmax + 1, size=(O, k, k, cg), dtype=np.int8)  # OHWI
        self.x_scale, self.x_zp = 0.02, 128
        self.w_scale = (rng.uniform(0.5, 1.5, size=O) * 0.01).astype(np.float32)
        self.bias = rng.integers(-2000, 2000, size=O, dtype=np.int32)
        # Output scale so that outputs spread over u8: std of acc ~ sqrt(K) * 74 * 73.
        K = k * k * cg
        self.y_scale = float(self.x_scale * 0.01 * np.sqrt(K) * 74 * 73 / 40)
        self.y_zp = 128

    def qmodel(self) -> bytes:
        from qrt import _core

        pt = lambda s, z: {"axis": -1, "scales": [float(s)], "zero_points": [int(z)]}  # noqa: E731
        tensors = [
            {"name": "x", "dtype": "u8", "shape": [1, self.H, self.W, self.C], "data": None,
             "quant": pt(self.x_scale, self.x_zp)},
            {"name": "w", "dtype": "s8", "shape": list(self.w.shape), "data": self.w,
             "quant": {"axis": 0, "scales": [float(v) for v in self.w_scale],
                       "zero_points": [0] * self.O}},
            {"name": "b", "dtype": "s32", "shape": [self.O], "data": self.bias, "quant": None},
            {"name": "y", "dtype": "u8", "shape": [], "data": None, "quant": pt(self.y_scale, self.y_zp)},
        ]
        node = {"op": "Conv2d", "version": 1, "name": "conv", "inputs": [0, 1, 2], "outputs": [3],
                "attrs": {"strides": [self.s, self.s], "pads": [self.p] * 4, "dilations": [1, 1],
                          "group": self.g}}
        return _core.write_model({"tensors": tensors, "nodes": [node], "inputs": [0], "outputs": [3],
                                  "metadata": {"producer": "int8_conv_vs_ort"}})

    def onnx_model(self, nhwc: bool) -> bytes:
        from onnx import TensorProto, helper, numpy_helper

        w = self.w if nhwc else np.ascontiguousarray(self.w.transpose(0, 3, 1, 2))  # OIHW
        if nhwc:  # com.microsoft.QLinearConv(channels_last) still takes OIHW weights
            w = np.ascontiguousarray(self.w.transpose(0, 3, 1, 2))
        xs = [1, self.H, self.W, self.C] if nhwc else [1, self.C, self.H, self.W]
        ys = [1, self.OH, self.OW, self.O] if nhwc else [1, self.O, self.OH, self.OW]
        attrs = dict(kernel_shape=[self.k, self.k], strides=[self.s, self.s], pads=[self.p] * 4,
                     group=self.g)
        if nhwc:
            attrs["channels_last"] = 1
        node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"],
                                domain="com.microsoft" if nhwc else "", **attrs)
        inits = [
            numpy_helper.from_array(np.array(self.x_scale, np.float32), "xs"),
            numpy_helper.from_array(np.array(self.x_zp, np.uint8), "xz"),
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(self.w_scale, "ws"),
            numpy_helper.from_array(np.zeros(self.O, np.int8), "wz"),
            numpy_helper.from_array(np.array(self.y_scale, np.float32), "ys"),
            numpy_helper.from_array(np.array(self.y_zp, np.uint8), "yz"),
            numpy_helper.from_array(self.bias, "b"),
        ]
        graph = helper.make_graph([node], "qconv",
                                  [helper.make_tensor_value_info("x", TensorProto.UINT8, xs)],
                                  [helper.make_tensor_value_info("y", TensorProto.UINT8, ys)], inits)
        opsets = [helper.make_opsetid("", 13)]
        if nhwc:
            opsets.append(helper.make_opsetid("com.microsoft", 1))
        model = helper.make_model(graph, opset_imports=opsets)
        model.ir_version = 8
        return model.SerializeToString()


def time_qrt(p: Params, threads: int):
    import qrt

    sess = qrt.InferenceSession(p.qmodel(), threads=threads)
    raw = sess._sess
    x = p.x
    y = raw.run([x])[0]
    kernel = sess.kernel_report()[0].get("kernel", "?") if sess.kernel_report() else "?"
    return best_time(lambda: raw.run([x])), y, kernel


def time_ort(p: Params, threads: int, nhwc: bool):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        sess = ort.InferenceSession(p.onnx_model(nhwc), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - the contrib NHWC form is optional
        if nhwc:
            return None, None
        raise
    x = p.x if nhwc else np.ascontiguousarray(p.x.transpose(0, 3, 1, 2))
    yshape = (1, p.OH, p.OW, p.O) if nhwc else (1, p.O, p.OH, p.OW)
    y = np.empty(yshape, np.uint8)
    # OrtValue.ortvalue_from_numpy wraps the numpy memory without owning it: keep x, y alive.
    xv, yv = ort.OrtValue.ortvalue_from_numpy(x), ort.OrtValue.ortvalue_from_numpy(y)
    io = sess.io_binding()
    io.bind_ortvalue_input("x", xv)
    io.bind_ortvalue_output("y", yv)
    try:
        sess.run_with_iobinding(io)
    except Exception:  # noqa: BLE001
        if nhwc:
            return None, None
        raise
    out = io.get_outputs()[0].numpy().copy()
    if not nhwc:
        out = out.transpose(0, 2, 3, 1)
    t = best_time(lambda: sess.run_with_iobinding(io))
    del x, y  # (alive until here)
    return t, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--filter", default="", help="only shapes whose label contains this")
    ap.add_argument("--net", default="", help="only shapes of this network (resnet18, mobilenetv2)")
    ap.add_argument("--weight-bits", type=int, choices=(7, 8), default=8,
                    help="7: weights in [-64, 64] (qrt's weight_bits=7 range)")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]

    import onnxruntime as ort
    import qrt

    shapes = distinct_shapes()
    rng = np.random.default_rng(0)
    params = {}
    for key in shapes:
        H, W, C, O, k, s, p, g = key
        params[key] = Params(H, W, C, O, k, s, p, g, rng, wmax=64 if args.weight_bits == 7 else 127)

    def label(key):
        H, W, C, O, k, s, p, g = key
        kind = "dw" if g == C and g > 1 else ("1x1" if k == 1 else f"{k}x{k}")
        return f"{kind} s{s} {H}x{W}x{C}->{O}"

    keys = [k for k in shapes if args.filter in label(k) and (not args.net or args.net in shapes[k]["nets"])]
    res = {}  # (key, T) -> dict
    for rnd in range(args.rounds):
        print(f"round {rnd + 1}/{args.rounds} ...", file=sys.stderr, flush=True)
        for T in threads:
            for key in keys:
                p = params[key]
                tq, yq, kern = time_qrt(p, T)
                tn, yn = time_ort(p, T, nhwc=False)
                th, yh = time_ort(p, T, nhwc=True)
                r = res.setdefault((key, T), {"qrt": float("inf"), "ort_nchw": float("inf"),
                                              "ort_nhwc": float("inf"), "kernel": kern})
                r["qrt"] = min(r["qrt"], tq)
                r["ort_nchw"] = min(r["ort_nchw"], tn)
                if th is not None:
                    r["ort_nhwc"] = min(r["ort_nhwc"], th)
                r["maxdiff"] = int(np.abs(yq.astype(np.int32) - yn.astype(np.int32)).max())

    print(f"weights: {args.weight_bits}-bit range")
    print(f"onnxruntime {ort.__version__}; qrt kernels: {qrt.cpu_info()['kernels']}")
    out_rows = []
    for T in threads:
        print(f"\n== {T} thread(s) ==  (us; ORT best = faster of NCHW QLinearConv and NHWC contrib form)")
        hdr = (f"{'shape':<26} {'nets':<14} {'GOP':>6} | {'qrt':>8} {'GOPS':>6} | {'ORT nchw':>8} "
               f"{'ORT nhwc':>8} {'ORT/qrt':>7} | {'diff':>4}  qrt kernel")
        print(hdr)
        print("-" * len(hdr))
        tot = {}
        for key in keys:
            r = res[(key, T)]
            H, W, C, O, k, s, pd, g = key
            p = params[key]
            gop = 2.0 * p.OH * p.OW * O * k * k * (C // g) * 1e-9
            ort_best = min(r["ort_nchw"], r["ort_nhwc"])
            nets = ",".join(f"{'R' if n == 'resnet18' else 'M'}x{c}" for n, c in shapes[key]["nets"].items())
            nhwc_s = f"{r['ort_nhwc'] * 1e6:8.1f}" if np.isfinite(r["ort_nhwc"]) else f"{'-':>8}"
            print(f"{label(key):<26} {nets:<14} {gop:6.3f} | {r['qrt'] * 1e6:8.1f} {gop / r['qrt']:6.0f} |"
                  f" {r['ort_nchw'] * 1e6:8.1f} {nhwc_s} {ort_best / r['qrt']:7.2f} | {r['maxdiff']:4d}  {r['kernel']}")
            for n, c in shapes[key]["nets"].items():
                t = tot.setdefault(n, [0.0, 0.0])
                t[0] += c * r["qrt"]
                t[1] += c * ort_best
            out_rows.append({"threads": T, "shape": label(key), "H": H, "W": W, "Cin": C, "Cout": O,
                             "k": k, "stride": s, "pad": pd, "group": g, "nets": shapes[key]["nets"],
                             "gop": gop, "qrt_us": r["qrt"] * 1e6, "ort_nchw_us": r["ort_nchw"] * 1e6,
                             "ort_nhwc_us": r["ort_nhwc"] * 1e6 if np.isfinite(r["ort_nhwc"]) else None,
                             "ort_over_qrt": ort_best / r["qrt"], "maxdiff": r["maxdiff"],
                             "kernel": r["kernel"]})
        for n, (tq, to) in tot.items():
            print(f"net {n:<22} {'(sum x*t)':<14} {'':>6} | {tq * 1e6:8.0f} {'':>6} | {'':>8} {to * 1e6:8.0f}"
                  f" {to / tq:7.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"weight_bits": args.weight_bits, "rows": out_rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
