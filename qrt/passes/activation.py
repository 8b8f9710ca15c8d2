"""Fuse Relu / Clip (Relu6 is Clip(0, 6)) into the Conv, Conv2d or Dense in front of them.

The fused node takes over the activation's output tensor; its `activation` attribute becomes
"relu", "relu6" or "clip" (with `clip_min`/`clip_max`). Only a first activation fuses, and
only when the activation is the sole reader of the node's output.
"""

from __future__ import annotations

from qrt.ir import Graph
from qrt.passes.util import scalar_const, sole_consumer

FUSIBLE = ("Conv", "Conv2d", "Dense")


def _activation_of(g: Graph, node) -> dict | None:
    if node.op == "Relu":
        return {"activation": "relu"}
    if node.op == "Clip":
        lo = scalar_const(g, node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
        hi = scalar_const(g, node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        if (len(node.inputs) > 1 and node.inputs[1] and lo is None) or (
                len(node.inputs) > 2 and node.inputs[2] and hi is None):
            return None  # non-constant bounds
        lo = -3.4028234663852886e38 if lo is None else lo
        hi = 3.4028234663852886e38 if hi is None else hi
        if lo == 0.0 and hi == 6.0:
            return {"activation": "relu6"}
        if lo == 0.0 and hi >= 3.4e38:
            return {"activation": "relu"}
        return {"activation": "clip", "clip_min": float(lo), "clip_max": float(hi)}
    return None


def run(g: Graph) -> int:
    fused = 0
    consumers = g.consumers()
    dead = []
    for node in g.nodes:
        if node.op not in FUSIBLE or node.attrs.get("activation", "none") != "none":
            continue
        act = sole_consumer(g, node.outputs[0], consumers)
        if act is None:
            continue
        attrs = _activation_of(g, act)
        if attrs is None:
            continue
        node.attrs.update(attrs)
        node.outputs = [act.outputs[0]]
        dead.append(act)
        fused += 1
    g.remove_nodes(dead)
    g.prune()
    return fused
