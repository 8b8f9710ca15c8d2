"""Recognise a decomposed layer normalisation as one ``LayerNormalization`` node.

Pattern (PyTorch's and TensorFlow's exports before opset 17):
    mean = ReduceMean(x, axes)          d = Sub(x, mean)         v = ReduceMean(Pow(d, 2), axes)
    y = Div(d, Sqrt(Add(v, eps)))       [y = Mul(y, gamma)]      [y = Add(y, beta)]
`axes` must be the trailing axes; gamma/beta must be constants; missing ones become 1 and 0.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph, Node
from qrt.passes.util import other_input, scalar_const


def _axes(g: Graph, node: Node) -> list[int] | None:
    if node.op != "ReduceMean" or int(node.attrs.get("keepdims", 1)) != 1:
        return None
    a = g.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
    return None if a is None else [int(v) for v in np.asarray(a).reshape(-1)]


def _trailing(axes: list[int], rank: int | None) -> int | None:
    """The first axis if `axes` are the last len(axes) axes, normalised negative."""
    if rank is not None:
        axes = [a - rank if a >= 0 else a for a in axes]
    axes = sorted(axes)
    if axes != list(range(-len(axes), 0)):
        return None
    return axes[0]


def run(g: Graph) -> int:
    found = 0
    for rm in [n for n in g.nodes if n.op == "ReduceMean"]:
        producers, consumers = g.producers(), g.consumers()
        if rm not in g.nodes:
            continue
        axes = _axes(g, rm)
        x = rm.inputs[0]
        rank = None if g.tensor(x).shape is None else len(g.tensor(x).shape)
        axis = _trailing(axes, rank) if axes else None
        if axis is None:
            continue
        uses = consumers.get(rm.outputs[0], [])
        sub = next((u for u in uses if u.op == "Sub" and u.inputs == [x, rm.outputs[0]]), None)
        if sub is None or len(uses) != 1:
            continue
        d = sub.outputs[0]
        d_uses = consumers.get(d, [])
        pow_ = next((u for u in d_uses if u.op == "Pow" and u.inputs[0] == d), None)
        div = next((u for u in d_uses if u.op == "Div" and u.inputs[0] == d), None)
        if pow_ is None or div is None or len(d_uses) != 2 or scalar_const(g, pow_.inputs[1]) != 2.0:
            continue
        chain = [rm, sub, pow_]
        rm2 = next(iter(consumers.get(pow_.outputs[0], [])), None)
        if rm2 is None or _axes(g, rm2) is None or _trailing(_axes(g, rm2), rank) != axis:
            continue
        add = next(iter(consumers.get(rm2.outputs[0], [])), None)
        if add is None or add.op != "Add":
            continue
        eps = scalar_const(g, other_input(add, rm2.outputs[0]))
        sqrt = next(iter(consumers.get(add.outputs[0], [])), None)
        if eps is None or sqrt is None or sqrt.op != "Sqrt" or div.inputs[1] != sqrt.outputs[0]:
            continue
        chain += [rm2, add, sqrt, div]
        if any(len(consumers.get(n.outputs[0], [])) != 1 or g.is_graph_output(n.outputs[0])
               for n in chain[2:-1]):  # pow .. sqrt are private to the pattern
            continue
        out, gamma, beta = div.outputs[0], None, None
        nxt = consumers.get(out, [])
        if len(nxt) == 1 and nxt[0].op == "Mul" and not g.is_graph_output(out):
            gamma_name = other_input(nxt[0], out)
            if g.const(gamma_name) is not None:
                gamma, out = g.const(gamma_name), nxt[0].outputs[0]
                chain.append(nxt[0])
                nxt = consumers.get(out, [])
        if len(nxt) == 1 and nxt[0].op == "Add" and not g.is_graph_output(out):
            beta_name = other_input(nxt[0], out)
            if g.const(beta_name) is not None:
                beta, out = g.const(beta_name), nxt[0].outputs[0]
                chain.append(nxt[0])
        norm = (gamma if gamma is not None else beta)
        if norm is None:
            shape = g.tensor(x).shape
            if shape is None or any(s < 0 for s in shape[axis:]):
                continue
            norm_shape = shape[axis:]
        else:
            norm_shape = list(norm.shape)[-(-axis):] if norm.ndim >= -axis else None
            if norm_shape is None or len(norm_shape) != -axis:
                norm_shape = [int(np.prod(norm.shape))] if -axis == 1 else None
            if norm_shape is None:
                continue
        gamma = np.ones(norm_shape, np.float32) if gamma is None else np.broadcast_to(gamma, norm_shape)
        beta = np.zeros(norm_shape, np.float32) if beta is None else np.broadcast_to(beta, norm_shape)
        gname = g.add_constant(f"{rm.name}_ln_scale", np.ascontiguousarray(gamma, np.float32))
        bname = g.add_constant(f"{rm.name}_ln_bias", np.ascontiguousarray(beta, np.float32))
        g.remove_nodes(chain)
        g.nodes.append(Node("LayerNormalization", f"{rm.name}_layernorm", [x, gname, bname], [out],
                            {"axis": int(axis), "epsilon": float(eps)}))
        g.toposort()
        found += 1
    if found:
        g.prune()
    return found
