"""Gemm and MatMul with a constant weight -> qrt ``Dense`` (W stored [N, K], optional B [N]).

- ``Gemm(A, B, C)``: W = alpha * (B if transB else B^T); bias = beta * C when C is constant
  and broadcasts as a row vector; transA becomes a Transpose in front. A Gemm whose B is not
  constant is lowered to Transpose/MatMul/Mul/Add (all ONNX-semantics ops).
- ``MatMul(X, W)`` with a constant 2-D W: Dense(W^T); an ``Add`` of a constant [N] vector that
  follows and is the only reader becomes the bias.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph, Node
from qrt.passes.qdq import carry_weight_hint
from qrt.passes.util import sole_consumer


def _row_bias(c: np.ndarray | None, n: int) -> np.ndarray | None:
    """C as an [N] vector if it broadcasts over rows ([N], [1,N] or a scalar)."""
    if c is None:
        return None
    if c.size == 1:
        return np.full((n,), float(c.reshape(())), dtype=np.float32)
    if c.shape in ((n,), (1, n)):
        return c.reshape(n).astype(np.float32)
    return None


def _gemm(g: Graph, node: Node, out: list[Node]) -> None:
    a, b = node.inputs[0], node.inputs[1]
    c = node.inputs[2] if len(node.inputs) > 2 else ""
    alpha = float(node.attrs.get("alpha", 1.0))
    beta = float(node.attrs.get("beta", 1.0))
    trans_a, trans_b = int(node.attrs.get("transA", 0)), int(node.attrs.get("transB", 0))
    y = node.outputs[0]
    if trans_a:
        at = g.new_tensor(f"{a}_T", like=g.tensor(a), shape=None, source=None).name
        out.append(Node("Transpose", f"{node.name}_transA", [a], [at], {"perm": [1, 0]}))
        a = at
    bw = g.const(b)
    if bw is not None and bw.ndim == 2:
        w = (bw if trans_b else bw.T).astype(np.float32) * np.float32(alpha)
        bias = _row_bias(g.const(c), w.shape[0]) if c else None
        inputs = [a, g.add_constant(f"{node.name}_W", np.ascontiguousarray(w))]
        if alpha == 1.0:
            carry_weight_hint(g, b, inputs[1], None if trans_b else {1: 0, 0: 1})
        if bias is not None:
            inputs.append(g.add_constant(f"{node.name}_B", bias * np.float32(beta)))
        if c and bias is None:  # a C that is not a row vector: keep a separate Add
            mid = g.new_tensor(f"{y}_mm", like=g.tensor(y)).name
            out.append(Node("Dense", node.name, inputs, [mid], {"activation": "none"}))
            cc = c
            if beta != 1.0:
                cc = g.new_tensor(f"{c}_beta").name
                out.append(Node("Mul", f"{node.name}_beta", [c, g.add_constant("beta", np.float32(beta))], [cc]))
            out.append(Node("Add", f"{node.name}_C", [mid, cc], [y]))
            return
        out.append(Node("Dense", node.name, inputs, [y], {"activation": "none"}))
        return
    # General Gemm: Transpose/MatMul/Mul/Add.
    if trans_b:
        bt = g.new_tensor(f"{b}_T").name
        out.append(Node("Transpose", f"{node.name}_transB", [b], [bt], {"perm": [1, 0]}))
        b = bt
    cur = g.new_tensor(f"{y}_mm").name if (alpha != 1.0 or c) else y
    out.append(Node("MatMul", node.name, [a, b], [cur]))
    if alpha != 1.0:
        nxt = g.new_tensor(f"{y}_alpha").name if c else y
        out.append(Node("Mul", f"{node.name}_alpha", [cur, g.add_constant("alpha", np.float32(alpha))], [nxt]))
        cur = nxt
    if c:
        cc = c
        if beta != 1.0:
            cc = g.new_tensor(f"{c}_beta").name
            out.append(Node("Mul", f"{node.name}_beta", [c, g.add_constant("beta", np.float32(beta))], [cc]))
        out.append(Node("Add", f"{node.name}_C", [cur, cc], [y]))


def run(g: Graph) -> int:
    changed = 0
    new_nodes: list[Node] = []
    for node in g.nodes:
        if node.op == "Gemm":
            _gemm(g, node, new_nodes)
            changed += 1
        else:
            new_nodes.append(node)
    g.nodes = new_nodes
    consumers = g.consumers()
    dead: list[Node] = []
    for node in g.nodes:
        if node.op != "MatMul":
            continue
        w = g.const(node.inputs[1])
        if w is None or w.ndim != 2 or g.const(node.inputs[0]) is not None:
            continue
        node.op = "Dense"
        node.attrs = {"activation": "none"}
        wname = g.add_constant(f"{node.name}_W", np.ascontiguousarray(w.T.astype(np.float32)))
        carry_weight_hint(g, node.inputs[1], wname, {1: 0, 0: 1})
        node.inputs[1] = wname
        changed += 1
        add = sole_consumer(g, node.outputs[0], consumers)
        if add is None or add.op != "Add":
            continue
        other = add.inputs[1] if add.inputs[0] == node.outputs[0] else add.inputs[0]
        bias = _row_bias(g.const(other), w.shape[1])
        if bias is None or g.const(other).ndim > 2:
            continue
        node.inputs.append(g.add_constant(f"{node.name}_B", bias))
        node.outputs = [add.outputs[0]]
        dead.append(add)
    g.remove_nodes(dead)
    g.prune()
    return changed
