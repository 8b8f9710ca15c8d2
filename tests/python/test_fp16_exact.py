"""fp16 weights are exact in fp32 and the fp16 GEMM kernels accumulate in the order of the fp32 ones,
so a model converted with mode="fp16" must give the bits of the same model converted with
mode="fp32" after its weights were rounded to fp16 — at every row count (the kernels convert the
weights in every micro-tile for a few rows, once per panel block for more) and at each ISA level,
run in subprocesses as QRT_ISA is read at start-up. A 3x3 convolution with 16 input channels runs
Winograd (kernels/winograd_f32.h), whose transformed weights are fp32 for fp16 weights too, so
the same holds there."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import qrt

ROWS = [1, 3, 16, 37, 130]


def _models(rng, rounded: bool):
    def w(*shape):  # weights (2-D and up) are stored in fp16, biases stay fp32
        a = (rng.standard_normal(shape) * 0.2).astype(np.float32)
        return a.astype(np.float16).astype(np.float32) if rounded and len(shape) > 1 else a

    dense_inits = [numpy_helper.from_array(w(70, 100), "W1"), numpy_helper.from_array(w(100), "b1"),
                   numpy_helper.from_array(w(100, 33), "W2"), numpy_helper.from_array(w(33), "b2")]
    dense = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W1"], ["h"]), helper.make_node("Add", ["h", "b1"], ["hb"]),
         helper.make_node("Relu", ["hb"], ["r"]), helper.make_node("MatMul", ["r", "W2"], ["o"]),
         helper.make_node("Add", ["o", "b2"], ["y"])],
        "dense", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 70])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 33])], dense_inits)
    conv_inits = [numpy_helper.from_array(w(37, 5, 3, 3), "W"), numpy_helper.from_array(w(37), "B")]
    conv = helper.make_graph(
        [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["y"])],
        "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5, 23, 23])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], conv_inits)
    wino_inits = [numpy_helper.from_array(w(24, 16, 3, 3), "W"), numpy_helper.from_array(w(24), "B")]
    wino = helper.make_graph(
        [helper.make_node("Conv", ["x", "W", "B"], ["y"], pads=[1, 1, 1, 1])],
        "wino", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 19, 21])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], wino_inits)
    return [helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]) for g in (dense, conv, wino)]


_RUN = r"""
import json, sys, numpy as np, qrt
a, b, xs = sys.argv[1], sys.argv[2], sys.argv[3:]
out = {"isa_cap": qrt.cpu_info()["isa_cap"], "kernels": [], "diff": []}
sa, sb = qrt.InferenceSession(a, threads=1), qrt.InferenceSession(b, threads=1)
out["kernels"] = [r["kernel"] for r in sa.kernel_report() if r["kernel"]]
for x in xs:
    x = np.load(x)
    ya, yb = sa.run(None, {"x": x})[0], sb.run(None, {"x": x})[0]
    out["diff"].append(int(np.count_nonzero(ya.view(np.uint32) != yb.view(np.uint32))))
print(json.dumps(out))
"""


@pytest.mark.parametrize("isa", ["ref", "avx2", "avx512"])
def test_fp16_model_bits_equal_fp32_model_on_rounded_weights(tmp_path, isa):
    if isa not in qrt.cpu_info()["isa_available"]:
        pytest.skip(f"{isa} not available on this CPU")
    exact = _models(np.random.default_rng(5), rounded=False)
    rounded = _models(np.random.default_rng(5), rounded=True)
    rng = np.random.default_rng(6)
    for i, (m16, m32) in enumerate(zip(exact, rounded)):
        onnx.save(m16, tmp_path / f"m{i}.onnx")
        onnx.save(m32, tmp_path / f"r{i}.onnx")
        qrt.convert(str(tmp_path / f"m{i}.onnx"), str(tmp_path / f"a{i}.qmodel"), mode="fp16")
        qrt.convert(str(tmp_path / f"r{i}.onnx"), str(tmp_path / f"b{i}.qmodel"), mode="fp32")
        shapes = [(n, 70) for n in ROWS] if i == 0 else [(1, 5, 23, 23)] if i == 1 else [(1, 16, 19, 21)]
        xs = []
        for j, s in enumerate(shapes):
            np.save(tmp_path / f"x{i}_{j}.npy", rng.standard_normal(s).astype(np.float32))
            xs.append(str(tmp_path / f"x{i}_{j}.npy"))
        env = dict(os.environ, QRT_ISA=isa)
        p = subprocess.run([sys.executable, "-c", _RUN, str(tmp_path / f"a{i}.qmodel"),
                            str(tmp_path / f"b{i}.qmodel"), *xs], env=env, capture_output=True,
                           text=True, timeout=120, cwd=tmp_path)  # not the checkout: its qrt/ has no _core
        assert p.returncode == 0, p.stderr
        r = json.loads(p.stdout)
        assert r["isa_cap"] == isa
        if i < 2:
            assert any("f16" in k for k in r["kernels"]), r["kernels"]
        else:
            assert any(k.startswith("winograd_f32_f23_") for k in r["kernels"]), r["kernels"]
        assert r["diff"] == [0] * len(xs), (isa, i, shapes, r)
