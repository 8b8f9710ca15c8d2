"""What the installed runtime can execute, asked once by running a tiny model.

The converter prefers forms that the runtime contract may not list yet (e.g. static int8
Dense with an f32 output). When the compiled runtime is importable, a probe model decides;
without it (dict-only conversion, tests of the converter alone) the preferred form is used.
"""

from __future__ import annotations

import functools

import numpy as np


def _probe_model() -> dict:
    q = {"axis": -1, "scales": [0.02], "zero_points": [128]}
    w = np.array([[1, -2, 3, -4], [5, 6, -7, 8]], np.int8)
    return {
        "tensors": [
            {"name": "x", "dtype": "f32", "shape": [1, 4], "data": None, "quant": None},
            {"name": "xq", "dtype": "u8", "shape": [1, 4], "data": None, "quant": q},
            {"name": "w", "dtype": "s8", "shape": [2, 4], "data": w,
             "quant": {"axis": 0, "scales": [0.01, 0.02], "zero_points": [0, 0]}},
            {"name": "b", "dtype": "f32", "shape": [2], "data": np.array([0.5, -0.5], np.float32),
             "quant": None},
            {"name": "y", "dtype": "f32", "shape": [1, 2], "data": None, "quant": None},
        ],
        "nodes": [
            {"op": "QuantizeLinear", "version": 1, "name": "q", "inputs": [0], "outputs": [1], "attrs": {}},
            {"op": "Dense", "version": 1, "name": "d", "inputs": [1, 2, 3], "outputs": [4],
             "attrs": {"activation": "none"}},
        ],
        "inputs": [0], "outputs": [4], "metadata": {"producer": "qrt capability probe"},
    }


@functools.lru_cache(maxsize=None)
def static_float_output() -> bool:
    """Does the runtime run Dense(u8 X, s8 W, f32 B) -> f32 Y correctly?"""
    try:
        from qrt import _core  # type: ignore[attr-defined]

        if not hasattr(_core, "write_model"):
            return True
        import qrt

        data = bytes(_core.write_model(_probe_model()))
        x = np.array([[0.3, -0.1, 0.8, 1.0]], np.float32)
        y = qrt.InferenceSession(data).run(None, {"x": x})[0]
    except ImportError:
        return True
    except Exception:
        return False
    xq = np.clip(np.rint(x / np.float32(0.02)) + 128, 0, 255) - 128
    w = np.array([[1, -2, 3, -4], [5, 6, -7, 8]], np.float64) * np.array([[0.01], [0.02]])
    ref = (xq * 0.02) @ w.T + np.array([0.5, -0.5])
    return bool(np.allclose(y, ref, atol=1e-4))
