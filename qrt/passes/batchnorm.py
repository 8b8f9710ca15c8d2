"""Fold inference-mode BatchNormalization into the Conv or Dense in front of it.

With s = gamma / sqrt(var + eps):  W'[o] = W[o] * s[o],  b'[o] = (b[o] - mean[o]) * s[o] + beta[o].
BN normalises axis 1, which is a Conv's output-channel axis and a Dense's N axis only when the
Dense output is 2-D; other BNs stay (the runtime runs BatchNormalization in float).
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph
from qrt.passes.util import sole_consumer


def run(g: Graph) -> int:
    folded = 0
    consumers = g.consumers()
    producers = g.producers()
    dead = []
    for bn in g.nodes:
        if bn.op != "BatchNormalization" or len(bn.outputs) > 1 and any(bn.outputs[1:]):
            continue
        params = [g.const(i) for i in bn.inputs[1:5]]
        if any(p is None for p in params):
            continue
        prev = producers.get(bn.inputs[0])
        if prev is None or prev.op not in ("Conv", "Dense") or sole_consumer(g, prev.outputs[0], consumers) is not bn:
            continue
        w = g.const(prev.inputs[1])
        if w is None:
            continue
        if prev.op == "Dense":
            shape = g.tensor(prev.outputs[0]).shape
            if shape is None or len(shape) != 2:
                continue
        gamma, beta, mean, var = (p.astype(np.float64) for p in params)
        s = gamma / np.sqrt(var + float(bn.attrs.get("epsilon", 1e-5)))
        b = g.const(prev.inputs[2]) if len(prev.inputs) > 2 and prev.inputs[2] else None
        b = np.zeros(w.shape[0]) if b is None else b.astype(np.float64)
        w2 = (w.astype(np.float64) * s.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)
        b2 = ((b - mean) * s + beta).astype(np.float32)
        wname = g.add_constant(f"{prev.name}_W_bn", w2)
        bname = g.add_constant(f"{prev.name}_B_bn", b2)
        prev.inputs = [prev.inputs[0], wname, bname]
        prev.outputs = [bn.outputs[0]]
        dead.append(bn)
        folded += 1
    g.remove_nodes(dead)
    g.prune()
    return folded
