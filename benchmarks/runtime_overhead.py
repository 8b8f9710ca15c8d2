"""Per-call overhead of the Python API on a tiny model, qrt beside ONNX Runtime (same run).

    python benchmarks/runtime_overhead.py [--runs 20000]

The model is one Add of two 4-element f32 vectors, so the time is almost all API overhead:
argument checking, the binding, output allocation. Prints median and p90 per call (µs).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))


def _time(fn, runs: int) -> tuple[float, float]:
    for _ in range(min(1000, runs)):
        fn()
    samples = []
    batch = 100
    for _ in range(runs // batch):
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - t) / batch * 1e6)
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.9)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20000)
    a = ap.parse_args()

    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    import qrt
    from qrt_testutil import Builder

    b = Builder()
    x = b.input("x", "f32", [4])
    c = b.const("c", np.arange(4, dtype=np.float32))
    y = b.value("y", "f32")
    b.node("Add", [x, c], [y])
    b.output(y)
    sess = qrt.InferenceSession(b.bytes())

    g = helper.make_graph(
        [helper.make_node("Add", ["x", "c"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [helper.make_tensor("c", TensorProto.FLOAT, [4], np.arange(4, dtype=np.float32))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "tiny.onnx")
        onnx.save(m, p)
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        osess = ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])
    xv = np.ones(4, np.float32)
    feeds = {"x": xv}
    np.testing.assert_array_equal(sess.run(None, feeds)[0], osess.run(None, feeds)[0])
    q = _time(lambda: sess.run(None, feeds), a.runs)
    o = _time(lambda: osess.run(None, feeds), a.runs)
    print(f"per-call overhead, tiny Add model, 1 thread, {a.runs} calls each")
    print(f"{'runtime':14s} {'median us':>10s} {'p90 us':>8s}")
    print(f"{'qrt ' + qrt.__version__:14s} {q[0]:10.2f} {q[1]:8.2f}")
    print(f"{'onnxruntime ' + ort.__version__:14s} {o[0]:10.2f} {o[1]:8.2f}")
    print(f"qrt / ORT median: {q[0] / o[0]:.2f}")


if __name__ == "__main__":
    main()
