"""Helpers for tests: small .qmodel files built directly as model dicts (the schema the
converter hands to qrt._core.write_model), so runtime tests do not depend on the converter."""

from __future__ import annotations

import numpy as np


class Builder:
    def __init__(self) -> None:
        self.m = {"tensors": [], "nodes": [], "inputs": [], "outputs": [], "metadata": {"producer": "qrt tests"}}

    def _add(self, name, dtype, shape=(), data=None, quant=None, dim_names=None) -> int:
        t = {"name": name, "dtype": dtype, "shape": list(shape), "data": data, "quant": quant}
        if dim_names is not None:
            t["dim_names"] = list(dim_names)
        self.m["tensors"].append(t)
        return len(self.m["tensors"]) - 1

    def input(self, name, dtype, shape, quant=None, dim_names=None) -> int:
        i = self._add(name, dtype, shape, quant=quant, dim_names=dim_names)
        self.m["inputs"].append(i)
        return i

    def value(self, name, dtype, quant=None) -> int:
        return self._add(name, dtype, quant=quant)

    def const(self, name, array: np.ndarray, dtype=None, quant=None) -> int:
        array = np.ascontiguousarray(array)
        dt = dtype or {np.float32: "f32", np.int8: "s8", np.uint8: "u8", np.int32: "s32",
                       np.int64: "s64", np.float16: "f16"}[array.dtype.type]
        return self._add(name, dt, array.shape, data=array, quant=quant)

    def node(self, op, inputs, outputs, name=None, **attrs) -> None:
        self.m["nodes"].append({"op": op, "version": 1, "name": name or f"{op}_{len(self.m['nodes'])}",
                                "inputs": list(inputs), "outputs": list(outputs), "attrs": attrs})

    def output(self, i) -> None:
        self.m["outputs"].append(i)

    def bytes(self) -> bytes:
        from qrt import _core

        return _core.write_model(self.m)


def per_tensor(scale: float, zp: int) -> dict:
    return {"axis": -1, "scales": [float(scale)], "zero_points": [int(zp)]}


def mlp_model(k=64, hidden=96, n=10, seed=0, batch_dim="batch") -> tuple[bytes, dict]:
    """A float MLP x -> Dense+relu -> Dense. Returns (file bytes, weights)."""
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((hidden, k)).astype(np.float32) * 0.1
    b1 = rng.standard_normal(hidden).astype(np.float32) * 0.1
    w2 = rng.standard_normal((n, hidden)).astype(np.float32) * 0.1
    b2 = rng.standard_normal(n).astype(np.float32) * 0.1
    b = Builder()
    x = b.input("x", "f32", [-1, k], dim_names=[batch_dim, ""])
    h = b.value("h", "f32")
    y = b.value("y", "f32")
    b.node("Dense", [x, b.const("w1", w1), b.const("b1", b1)], [h], name="fc1", activation="relu")
    b.node("Dense", [h, b.const("w2", w2), b.const("b2", b2)], [y], name="fc2")
    b.output(y)
    return b.bytes(), {"w1": w1, "b1": b1, "w2": w2, "b2": b2}


def mlp_reference(x: np.ndarray, w: dict) -> np.ndarray:
    h = np.maximum(x.astype(np.float64) @ w["w1"].T.astype(np.float64) + w["b1"], 0)
    return h @ w["w2"].T.astype(np.float64) + w["b2"]
