"""Constant nodes become constant tensors."""

from __future__ import annotations

import numpy as np

from qrt.ir.errors import unsupported
from qrt.frontends.onnx.registry import ImportContext, register
from qrt.ir import Node, Tensor
from qrt.ir.tensor import qrt_dtype


@register("Constant")
def constant(ctx: ImportContext, node: Node) -> None:
    a = node.attrs
    if "value" in a:
        v = np.asarray(a["value"])
    elif "value_float" in a:
        v = np.array(a["value_float"], dtype=np.float32)
    elif "value_floats" in a:
        v = np.array(a["value_floats"], dtype=np.float32)
    elif "value_int" in a:
        v = np.array(a["value_int"], dtype=np.int64)
    elif "value_ints" in a:
        v = np.array(a["value_ints"], dtype=np.int64)
    else:
        raise unsupported(f"{node.describe()}: constant of kind {sorted(a)} is not supported")
    if v.dtype == np.float64:
        v = v.astype(np.float32)
    out = node.outputs[0]
    ctx.graph.add_tensor(Tensor(name=out, dtype=qrt_dtype(v.dtype), shape=list(v.shape), data=v,
                                source=out))
