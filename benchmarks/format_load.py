"""The .qmodel container's costs: file size against the raw tensor bytes, and the time to open and
validate a model (mmap + read_model: header, section table, structural checksums, every index and
offset, graph order), for synthetic ResNet-18-shaped models.

    python benchmarks/format_load.py [--repeats 200] [--json]

Goals (docs/FORMAT.md §10): file <= 1.01 x raw tensor bytes + 16 KiB; open + validate of a ~25 MB
model < 2 ms with the page cache warm and weights not verified (weights are used in place from the
map, so open time must not grow with model size). With verify_weights the CRC-32C of the weights
blob is computed too (touches every page), shown for comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np

from qrt import _core


def resnet18_like(weight_dtype: str) -> dict:
    """ResNet-18 (BatchNorm folded) as NHWC Conv2d/Dense nodes: 21 weight tensors + 21 biases,
    ~11.7 M parameters, ~120 tensors and ~70 nodes in all."""
    tensors: list = []
    nodes: list = []
    rng = np.random.default_rng(0)

    def tensor(name, dtype, shape, data=None, quant=None):
        tensors.append({"name": name, "dtype": dtype, "shape": list(shape), "data": data, "quant": quant})
        return len(tensors) - 1

    def weight(name, shape):
        n = int(np.prod(shape))
        if weight_dtype == "f16":
            return tensor(name, "f16", shape, rng.standard_normal(n).astype(np.float16).reshape(shape))
        if weight_dtype == "f32":
            return tensor(name, "f32", shape, rng.standard_normal(n).astype(np.float32).reshape(shape))
        q = {"axis": 0, "scales": list(rng.uniform(0.001, 0.01, shape[0])), "zero_points": [0] * shape[0]}
        return tensor(name, "s8", shape, rng.integers(-127, 128, n, dtype=np.int8).reshape(shape), q)

    def bias(name, n):
        if weight_dtype == "s8":
            q = {"axis": 0, "scales": list(rng.uniform(1e-5, 1e-4, n)), "zero_points": [0] * n}
            return tensor(name, "s32", [n], rng.integers(-1000, 1000, n, dtype=np.int32), q)
        return tensor(name, "f32", [n], rng.standard_normal(n).astype(np.float32))

    act = "u8" if weight_dtype == "s8" else "f32"
    aq = {"axis": -1, "scales": [0.05], "zero_points": [0]} if act == "u8" else None

    def conv(x, name, o, k, c, stride, relu=True):
        w = weight(name + ".w", [o, k, k, c])
        b = bias(name + ".b", o)
        y = tensor(name + ".y", act, [-1, -1, -1, o], quant=aq)
        p = k // 2
        nodes.append({"op": "Conv2d", "version": 1, "name": name, "inputs": [x, w, b], "outputs": [y],
                      "attrs": {"strides": [stride, stride], "pads": [p, p, p, p], "dilations": [1, 1],
                                "group": 1, "activation": "relu" if relu else "none"}})
        return y

    x = tensor("input", act, [-1, 224, 224, 3], quant=aq)
    inputs = [x]
    h = conv(x, "conv1", 64, 7, 3, 2)
    p = tensor("pool1.y", act, [-1, 56, 56, 64], quant=aq)
    nodes.append({"op": "MaxPool2d", "version": 1, "name": "pool1", "inputs": [h], "outputs": [p],
                  "attrs": {"kernel": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}})
    h, c = p, 64
    for stage, o in enumerate([64, 128, 256, 512]):
        for blk in range(2):
            s = 2 if (blk == 0 and stage > 0) else 1
            name = f"layer{stage + 1}.{blk}"
            a = conv(h, name + ".conv1", o, 3, c, s)
            b = conv(a, name + ".conv2", o, 3, o, 1, relu=False)
            sc = conv(h, name + ".downsample", o, 1, c, s, relu=False) if (s != 1 or c != o) else h
            y = tensor(name + ".add", act, [-1, -1, -1, o], quant=aq)
            nodes.append({"op": "Add", "version": 1, "name": name + ".add", "inputs": [b, sc],
                          "outputs": [y], "attrs": {}})
            r = tensor(name + ".relu", act, [-1, -1, -1, o], quant=aq)
            nodes.append({"op": "Relu", "version": 1, "name": name + ".relu", "inputs": [y],
                          "outputs": [r], "attrs": {}})
            h, c = r, o
    g = tensor("gap.y", act, [-1, 1, 1, 512], quant=aq)
    nodes.append({"op": "GlobalAvgPool2d", "version": 1, "name": "gap", "inputs": [h], "outputs": [g], "attrs": {}})
    shape = tensor("flatten.shape", "s64", [2], np.array([-1, 512], np.int64))
    f = tensor("flatten.y", act, [-1, 512], quant=aq)
    nodes.append({"op": "Reshape", "version": 1, "name": "flatten", "inputs": [g, shape], "outputs": [f], "attrs": {}})
    w = weight("fc.w", [1000, 512])
    b = bias("fc.b", 1000)
    logits = tensor("logits", "f32", [-1, 1000])
    nodes.append({"op": "Dense", "version": 1, "name": "fc", "inputs": [f, w, b], "outputs": [logits], "attrs": {}})
    return {"tensors": tensors, "nodes": nodes, "inputs": inputs, "outputs": [logits],
            "metadata": {"producer": "benchmarks/format_load.py", "model": f"resnet18-like {weight_dtype}"}}


def measure(weight_dtype: str, repeats: int, tmpdir: str) -> dict:
    model = resnet18_like(weight_dtype)
    raw = sum(t["data"].nbytes for t in model["tensors"] if t["data"] is not None)
    t0 = time.perf_counter()
    data = _core.write_model(model)
    write_s = time.perf_counter() - t0
    path = os.path.join(tmpdir, f"resnet18_{weight_dtype}.qmodel")
    with open(path, "wb") as f:
        f.write(data)
    _core._format_time_open(path, 5)  # warm the page cache
    open_s = _core._format_time_open(path, repeats)
    verify_s = _core._format_time_open(path, max(3, repeats // 20), verify_weights=True)
    t0 = time.perf_counter()
    for _ in range(20):
        _core.read_model(path)
    py_s = (time.perf_counter() - t0) / 20
    n_const = sum(t["data"] is not None for t in model["tensors"])
    budget = 1.01 * raw + 16 * 1024
    return {
        "model": f"resnet18-like, {weight_dtype} weights",
        "tensors": len(model["tensors"]),
        "constants": n_const,
        "nodes": len(model["nodes"]),
        "raw_tensor_bytes": raw,
        "file_bytes": len(data),
        "overhead_bytes": len(data) - raw,
        "file_over_raw": len(data) / raw,
        "size_goal_met": len(data) <= budget,
        "open_validate_ms_median": 1e3 * statistics.median(open_s),
        "open_validate_ms_p90": 1e3 * sorted(open_s)[int(0.9 * (len(open_s) - 1))],
        "open_validate_goal_met": statistics.median(open_s) < 2e-3,
        "open_verify_weights_ms_median": 1e3 * statistics.median(verify_s),
        "python_read_model_ms": 1e3 * py_s,
        "write_model_ms": 1e3 * write_s,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        rows = [measure(dt, a.repeats, d) for dt in ("f16", "s8", "f32")]
    if a.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| model | tensors / constants / nodes | raw tensor bytes | file bytes | file/raw | "
          "open+validate median (p90) | + verify weights | Python read_model |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['tensors']} / {r['constants']} / {r['nodes']} | "
              f"{r['raw_tensor_bytes']:,} | {r['file_bytes']:,} | {r['file_over_raw']:.5f} "
              f"(+{r['overhead_bytes']:,} B) | {r['open_validate_ms_median']:.3f} ms "
              f"({r['open_validate_ms_p90']:.3f}) | {r['open_verify_weights_ms_median']:.2f} ms | "
              f"{r['python_read_model_ms']:.2f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
