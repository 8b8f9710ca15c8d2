"""3x3 stride-1 int8 convolutions where the runtime uses Winograd F(2x2, 3x3) (CPUs whose int8
GEMM has no VNNI: AVX2): the whole op — padding, fused activations, u8 and f32 outputs, batches,
odd sizes, channel tails — equals the reference ISA's output bit for bit (the Winograd arithmetic
is exact). Each model runs in two subprocesses, QRT_ISA=ref and the machine's best level; on
other CPUs the same comparison checks their GEMM path instead."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import qrt
from qrt import _core

RUN = r"""
import sys, json, numpy as np, qrt
s = qrt.InferenceSession(sys.argv[1], threads=int(sys.argv[3]))
x = np.load(sys.argv[2])
y = s.run(None, {"x": x})[0]
np.save(sys.argv[2] + ".out.npy", y)
print(json.dumps([r.get("kernel", "") for r in s.kernel_report() if r["op"] == "Conv2d"]))
"""


def conv_model(N, H, W, C, O, pads, act, f32_out, rng):
    pt = lambda s, z: {"axis": -1, "scales": [float(s)], "zero_points": [int(z)]}  # noqa: E731
    w = rng.integers(-128, 128, size=(O, 3, 3, C), dtype=np.int8)
    tensors = [
        {"name": "x", "dtype": "u8", "shape": [N, H, W, C], "data": None, "quant": pt(0.02, 131)},
        {"name": "w", "dtype": "s8", "shape": [O, 3, 3, C], "data": w,
         "quant": {"axis": 0, "scales": [float(v) for v in rng.uniform(0.002, 0.01, O)], "zero_points": [0] * O}},
        {"name": "b", "dtype": "s32", "shape": [O], "data": rng.integers(-3000, 3000, size=O, dtype=np.int32),
         "quant": None},
        {"name": "y", "dtype": "f32" if f32_out else "u8", "shape": [], "data": None,
         "quant": None if f32_out else pt(0.02 * 0.006 * np.sqrt(9 * C) * 74 * 73 / 40, 120)},
    ]
    attrs = {"strides": [1, 1], "pads": list(pads), "dilations": [1, 1], "group": 1}
    if act:
        attrs["activation"] = act
    if act == "clip":
        attrs.update(clip_min=-0.5, clip_max=1.5)
    node = {"op": "Conv2d", "version": 1, "name": "conv", "inputs": [0, 1, 2], "outputs": [3], "attrs": attrs}
    return _core.write_model({"tensors": tensors, "nodes": [node], "inputs": [0], "outputs": [3],
                              "metadata": {"producer": "test_winograd_conv"}})


CASES = [
    # N, H, W, C, O, pads (top, left, bottom, right), activation, f32 output
    (1, 16, 16, 32, 24, (1, 1, 1, 1), None, False),
    (1, 15, 9, 17, 13, (1, 1, 1, 1), "relu", False),      # odd sizes, channel and column tails
    (2, 8, 12, 64, 40, (0, 0, 0, 0), "relu6", False),     # batch, no padding (reads x in place)
    (1, 7, 10, 20, 9, (2, 0, 1, 2), None, False),         # asymmetric pads
    (1, 12, 12, 48, 16, (1, 1, 1, 1), "relu", True),      # f32 output with a fused ReLU
    (1, 5, 6, 8, 8, (1, 1, 1, 1), "clip", True),
    (1, 1, 1, 8, 8, (1, 1, 1, 1), None, False),           # a 1x1 image
    (1, 9, 9, 3, 16, (1, 1, 1, 1), "relu", False),        # 3 channels: stays on the GEMM (row taps)
    (1, 30, 30, 16, 16, (1, 1, 1, 1), None, False),       # many tiles: several tasks per thread
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_winograd_conv_equals_reference_isa(tmp_path, case):
    N, H, W, C, O, pads, act, f32_out = case
    rng = np.random.default_rng(H * 1000 + W * 10 + C)
    model = tmp_path / "m.qmodel"
    model.write_bytes(conv_model(N, H, W, C, O, pads, act, f32_out, rng))
    x = rng.integers(0, 256, size=(N, H, W, C), dtype=np.uint8)
    xp = tmp_path / "x.npy"
    np.save(xp, x)
    outs, kernels = {}, {}
    for isa in ("ref", qrt.cpu_info()["isa_cap"]):
        for threads in (1, 2):
            env = dict(os.environ, QRT_ISA=isa)
            p = subprocess.run([sys.executable, "-c", RUN, str(model), str(xp), str(threads)], capture_output=True,
                               text=True, env=env, cwd="/")
            assert p.returncode == 0, p.stderr
            kernels[(isa, threads)] = json.loads(p.stdout.strip().splitlines()[-1])
            outs[(isa, threads)] = np.load(str(xp) + ".out.npy")
    base = outs[("ref", 1)]
    assert base.shape == (N, H + pads[0] + pads[2] - 2, W + pads[1] + pads[3] - 2, O)
    for k, y in outs.items():
        assert y.dtype == base.dtype and np.array_equal(y, base), (k, kernels[k])
    if qrt.cpu_info()["kernels"]["gemm_u8s8"] == "gemm_u8s8_6x8c4_avx2" and C >= 8:
        assert kernels[("avx2", 1)] == ["winograd_u8s8_f23_avx2"], kernels
    assert all("winograd" not in k for k in kernels[("ref", 1)])
