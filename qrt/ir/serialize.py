"""IR graph -> the model dict that ``qrt._core.write_model`` serialises.

Schema (the binding's contract):
``{"tensors": [{"name", "dtype", "shape", "dim_names"?, "data", "quant"}], "nodes": [{"op",
"version", "name", "inputs", "outputs", "attrs"}], "inputs": [int], "outputs": [int],
"metadata": {str: str}}``; tensor references are indices, -1 for an absent optional input;
nodes are in execution order; attribute values are int, float, str, list[int] or list[float].
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph
from qrt.ir.errors import invalid_argument
from qrt.ir.tensor import numpy_dtype


# The format has no list-of-strings attribute: a recurrent layer's `activations` (the one ONNX
# attribute of that kind qrt runs) is stored as one comma-separated string, which the runtime's
# LSTM/GRU/RNN split (docs/ARCHITECTURE.md, "Operators in a .qmodel").
_JOINED_STRING_ATTRS = {("LSTM", "activations"), ("GRU", "activations"), ("RNN", "activations")}


def _attr(node, k, v):
    if (node.op, k) in _JOINED_STRING_ATTRS and isinstance(v, (list, tuple)) and \
            all(isinstance(x, str) for x in v):
        return ",".join(v)
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple, np.ndarray)):
        vals = list(np.asarray(v).reshape(-1).tolist()) if isinstance(v, np.ndarray) else list(v)
        if all(isinstance(x, (int, np.integer, bool)) for x in vals):
            return [int(x) for x in vals]
        if all(isinstance(x, (int, float, np.integer, np.floating)) for x in vals):
            return [float(x) for x in vals]
    raise invalid_argument(f"{node.describe()}: attribute {k!r} of type {type(v).__name__} "
                           "cannot be stored in a .qmodel")


def to_model_dict(g: Graph, metadata: dict[str, str]) -> dict:
    order: list[str] = []
    index: dict[str, int] = {}

    def ref(name: str) -> int:
        if not name:
            return -1
        if name not in index:
            index[name] = len(order)
            order.append(name)
        return index[name]

    for n in g.inputs:
        ref(n)
    nodes = []
    for node in g.nodes:
        nodes.append({
            "op": node.op, "version": _op_version(node), "name": node.name,
            "inputs": [ref(i) for i in node.inputs],
            "outputs": [ref(o) for o in node.outputs],
            "attrs": {k: _attr(node, k, v) for k, v in node.attrs.items()},
        })
    outputs = [ref(o) for o in g.outputs]
    tensors = []
    for name in order:
        t = g.tensor(name)
        data = None
        if t.data is not None:
            # np.ascontiguousarray would turn a 0-d scalar into shape (1,)
            data = np.asarray(t.data, dtype=numpy_dtype(t.dtype))
            if not data.flags.c_contiguous:
                data = data.copy(order="C")
        shape = list(data.shape) if data is not None else list(t.shape or [])
        rec = {"name": name, "dtype": t.dtype, "shape": [int(d) for d in shape], "data": data,
               "quant": t.quant.to_dict() if t.quant is not None else None}
        if t.dim_names and any(t.dim_names) and len(t.dim_names) == len(shape):
            rec["dim_names"] = [d or "" for d in t.dim_names]
        tensors.append(rec)
    return {"tensors": tensors, "nodes": nodes, "inputs": [index[i] for i in g.inputs],
            "outputs": outputs, "metadata": {k: str(v) for k, v in metadata.items()}}


def _op_version(node) -> int:
    """Gather with ``dequantize`` is version 2: a version-1 runtime must refuse it by name rather
    than return the table's s8/f16 values as if they were the f32 output (docs/FORMAT.md §7)."""
    if node.op == "Gather" and node.attrs.get("dequantize"):
        return 2
    return 1
