"""Constant folding.

A node whose inputs are all constants is evaluated once, at conversion time, with ONNX's own
reference implementation (``onnx.reference``), and replaced by its outputs. ``Shape`` (and
``Size``) of a tensor whose shape is fully known folds too, so that static models lose their
shape arithmetic. qrt ops (Conv2d, Dense, ...) and random/sequence ops are never folded.
"""

from __future__ import annotations

import numpy as np
from onnx import helper
from onnx.reference import ReferenceEvaluator

from qrt.ir import Graph, Node, Tensor
from qrt.ir.tensor import qrt_dtype

EVAL_OPSET = 21  # the canonical forms of the frontend are those of the current opsets
QRT_OPS = {"Conv2d", "Dense", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Silu"}
# onnx.reference's LSTM/GRU/RNN ignore sequence_lens, clip and the activations attribute: a
# recurrent layer with a constant input is left to the runtime, which folds it at plan time.
NEVER_FOLD = QRT_OPS | {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                        "Multinomial", "Bernoulli", "QuantizeLinear", "DequantizeLinear",
                        "LSTM", "GRU", "RNN"}
MAX_FOLDED_BYTES = 64 << 20  # never materialise huge constants (e.g. Expand of a big shape)


def _attr_value(v):
    if isinstance(v, np.ndarray):
        from onnx import numpy_helper

        return numpy_helper.from_array(v)
    return v


def evaluate_node(node: Node, inputs: list[np.ndarray | None], cache: dict | None = None) -> list[np.ndarray]:
    """Runs one ONNX-semantics node on numpy inputs with onnx.reference (``cache``: reuse the
    evaluator built for this node)."""
    names = [f"i{k}" if x is not None else "" for k, x in enumerate(inputs)]
    key = (id(node), tuple(names))
    ev = cache.get(key) if cache is not None else None
    if ev is None:
        outs = [f"o{k}" for k in range(len(node.outputs))]
        proto = helper.make_node(node.op, names, outs,
                                 **{k: _attr_value(v) for k, v in node.attrs.items()})
        ev = ReferenceEvaluator(proto, opsets={"": EVAL_OPSET})
        if cache is not None:
            cache[key] = ev
    feeds = {n: x for n, x in zip(names, inputs) if n}
    return [np.asarray(r) for r in ev.run(None, feeds)]


def _foldable(g: Graph, node: Node) -> bool:
    if node.op in NEVER_FOLD or "::" in node.op:
        return False
    return all(i == "" or g.const(i) is not None for i in node.inputs)


def _fold_shape(g: Graph, node: Node) -> np.ndarray | None:
    if node.op not in ("Shape", "Size"):
        return None
    shape = g.tensor(node.inputs[0]).shape
    if shape is None or any(d < 0 for d in shape):
        return None
    if node.op == "Size":
        return np.array(int(np.prod(shape)), dtype=np.int64)
    start = node.attrs.get("start", 0)
    end = node.attrs.get("end", None)
    return np.array(shape[start:end], dtype=np.int64)


def run(g: Graph) -> int:
    """Folds until nothing changes; returns the number of nodes folded."""
    folded = 0
    kept: list[Node] = []
    for node in g.nodes:
        values = None
        shape_value = _fold_shape(g, node)
        if shape_value is not None:
            values = [shape_value]
        elif _foldable(g, node):
            try:
                values = evaluate_node(node, [g.const(i) if i else None for i in node.inputs])
            except Exception:  # leave it to the runtime (and to the support check)
                values = None
            if values is not None and sum(v.nbytes for v in values) > MAX_FOLDED_BYTES:
                values = None
        if values is None:
            kept.append(node)
            continue
        for name, v in zip(node.outputs, values):
            if v.dtype == np.float64:
                v = v.astype(np.float32)
            old = g.tensors.get(name)
            t = Tensor(name=name, dtype=qrt_dtype(v.dtype), shape=list(v.shape), data=v,
                       source=old.source if old else name)
            g.add_tensor(t)
        folded += 1
    g.nodes = kept
    return folded
