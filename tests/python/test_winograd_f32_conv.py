"""3x3 stride-1 float convolutions (fp32 and fp16 weights) where the runtime uses Winograd
F(2x2, 3x3) (kernels/winograd_f32.h): the whole op — padding, batches, fused activations, odd
sizes, channel tails, 1 and 2 threads, the reference ISA and the machine's best — against a direct
convolution in float64, within the error bound the kernel header states (computed here per output
from the absolute transforms). Each model runs in subprocesses so that QRT_ISA applies."""
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

BT = np.abs(np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64))
G = np.abs(np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], dtype=np.float64))
AT = np.abs(np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64))


def conv_model(N, H, W, C, O, pads, act, wdtype, w, b):
    tensors = [
        {"name": "x", "dtype": "f32", "shape": [N, H, W, C], "data": None, "quant": None},
        {"name": "w", "dtype": wdtype, "shape": [O, 3, 3, C], "data": w, "quant": None},
        {"name": "b", "dtype": "f32", "shape": [O], "data": b, "quant": None},
        {"name": "y", "dtype": "f32", "shape": [], "data": None, "quant": None},
    ]
    attrs = {"strides": [1, 1], "pads": list(pads), "dilations": [1, 1], "group": 1}
    if act:
        attrs["activation"] = act
    if act == "clip":
        attrs.update(clip_min=-0.5, clip_max=1.5)
    node = {"op": "Conv2d", "version": 1, "name": "conv", "inputs": [0, 1, 2], "outputs": [3], "attrs": attrs}
    return _core.write_model({"tensors": tensors, "nodes": [node], "inputs": [0], "outputs": [3],
                              "metadata": {"producer": "test_winograd_f32_conv"}})


def exact_and_bound(x, w, b, pads, act):
    """Direct convolution in float64 (activation applied) and the stated bound per output."""
    N, H, W, C = x.shape
    O = w.shape[0]
    pt, pl, pb, pr = pads
    OH, OW = H + pt + pb - 2, W + pl + pr - 2
    TY, TX = (OH + 1) // 2, (OW + 1) // 2
    xp = np.zeros((N, 2 * TY + 2, 2 * TX + 2, C))
    hh, ww = min(H, 2 * TY + 2 - pt), min(W, 2 * TX + 2 - pl)
    xp[:, pt:pt + hh, pl:pl + ww] = x[:, :hh, :ww]
    w64 = w.astype(np.float64)
    exact = np.zeros((N, OH, OW, O)) + b
    for i in range(3):
        for j in range(3):
            exact += np.einsum("nhwc,oc->nhwo", xp[:, i:i + OH, j:j + OW], w64[:, i, j, :])
    lo, hi = {None: (-np.inf, np.inf), "relu": (0, np.inf), "relu6": (0, 6), "clip": (-0.5, 1.5)}[act]
    exact = np.clip(exact, lo, hi)
    d = np.abs(np.stack([np.stack([xp[:, r:r + 2 * TY:2, q:q + 2 * TX:2] for q in range(4)], 3)
                         for r in range(4)], 3))                               # n, ty, tx, r, q, c
    V = np.einsum("ar,nyxrqc,bq->nyxabc", BT, d, BT)
    U = np.einsum("ai,oijc,bj->aboc", G, np.abs(w64), G)
    S = np.einsum("ia,jb,nyxabo->nyixjo", AT, AT, np.einsum("nyxabc,aboc->nyxabo", V, U))
    S = S.reshape(N, 2 * TY, 2 * TX, O)[:, :OH, :OW]
    tol = (C + 8) * 2.0 ** -23 * S + 2.0 ** -23 * np.abs(b)
    return exact, tol


CASES = [
    # N, H, W, C, O, pads (top, left, bottom, right), activation, weight dtype
    (1, 16, 16, 32, 24, (1, 1, 1, 1), None, "f32"),
    (1, 15, 9, 17, 13, (1, 1, 1, 1), "relu", "f32"),      # odd sizes, channel and column tails
    (2, 8, 12, 64, 40, (0, 0, 0, 0), "relu6", "f32"),     # batch, no padding
    (1, 7, 10, 20, 9, (2, 0, 1, 2), None, "f32"),         # asymmetric pads
    (1, 12, 12, 48, 16, (1, 1, 1, 1), "clip", "f16"),
    (1, 13, 11, 24, 33, (1, 1, 1, 1), "relu", "f16"),
    (1, 1, 1, 8, 8, (1, 1, 1, 1), None, "f32"),           # a 1x1 image
    (1, 30, 30, 16, 16, (1, 1, 1, 1), None, "f16"),       # many tiles: several tasks per thread
    (1, 9, 9, 3, 16, (1, 1, 1, 1), "relu", "f32"),        # 3 channels: stays on the GEMM
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_winograd_f32_conv_within_bound(tmp_path, case):
    N, H, W, C, O, pads, act, wdt = case
    rng = np.random.default_rng(H * 1000 + W * 10 + C)
    w = rng.uniform(-1, 1, size=(O, 3, 3, C)).astype(np.float16 if wdt == "f16" else np.float32)
    b = rng.uniform(-1, 1, size=O).astype(np.float32)
    model = tmp_path / "m.qmodel"
    model.write_bytes(conv_model(N, H, W, C, O, pads, act, wdt, w, b))
    x = rng.uniform(-2, 2, size=(N, H, W, C)).astype(np.float32)
    xp = tmp_path / "x.npy"
    np.save(xp, x)
    exact, tol = exact_and_bound(x, w.astype(np.float32), b, pads, act)  # fp16 weights: U is their fp32 transform
    for isa in ("ref", qrt.cpu_info()["isa_cap"]):
        for threads in (1, 2):
            env = dict(os.environ, QRT_ISA=isa)
            p = subprocess.run([sys.executable, "-c", RUN, str(model), str(xp), str(threads)], capture_output=True,
                               text=True, env=env, cwd="/")
            assert p.returncode == 0, p.stderr
            kernels = json.loads(p.stdout.strip().splitlines()[-1])
            y = np.load(str(xp) + ".out.npy")
            assert y.shape == exact.shape and y.dtype == np.float32
            err = np.abs(y.astype(np.float64) - exact)
            assert np.all(err <= tol), (isa, threads, kernels, float(np.max(err - tol)))
            assert (C >= 8) == kernels[0].startswith("winograd_f32_f23_"), kernels
            if C >= 8:
                assert "+gemm_f32f32_" in kernels[0], kernels  # U is fp32 for fp16 weights too


def test_bound_is_tight_enough_to_catch_a_wrong_transform():
    """The check above fails for a result off by a relative 1e-4: the bound is not so loose that
    a wrong transform passes."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(1, 8, 8, 16)).astype(np.float32)
    w = rng.uniform(-1, 1, size=(8, 3, 3, 16)).astype(np.float32)
    b = rng.uniform(-1, 1, size=8).astype(np.float32)
    exact, tol = exact_and_bound(x, w, b, (1, 1, 1, 1), None)
    assert np.all(tol > 0)
    assert not np.all(np.abs(exact * 1e-4) <= tol)
