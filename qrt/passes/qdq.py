"""Models that already carry QuantizeLinear/DequantizeLinear (QAT, or another quantizer).

Their parameters are honoured instead of recalibrating:
- ``DequantizeLinear(constant int8 W, scale, 0)`` folds into the float weight and leaves a
  weight hint ``(scales, axis)`` that the passes carry along with the weight (transposes and
  re-layouts keep it; BatchNorm folding, which changes the values, drops it). The quantizer
  then quantizes that weight with exactly those scales.
- ``x -> QuantizeLinear(s, zp) -> DequantizeLinear(s, zp) -> y``: readers of y read x, and x
  gets the activation hint (s, zp) (an s8 zero point becomes u8 by +128: same real values).
Hints live on the graph as ``g.weight_hints`` and ``g.activation_hints``.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph, QuantParams


def _hints(g: Graph):
    if not hasattr(g, "weight_hints"):
        g.weight_hints = {}
        g.activation_hints = {}
    return g.weight_hints, g.activation_hints


def carry_weight_hint(g: Graph, old: str, new: str, axis_map: dict[int, int] | None = None) -> None:
    """The constant ``new`` was derived from ``old`` with the same values per output channel;
    ``axis_map`` maps the hint's axis in ``old`` to its axis in ``new`` (None: same axis)."""
    wh, _ = _hints(g)
    if old not in wh:
        return
    scales, axis = wh[old]
    if axis_map is not None:
        if axis not in axis_map and axis != -1:
            return
        axis = axis_map.get(axis, axis)
    wh[new] = (scales, axis)


def run(g: Graph) -> int:
    wh, ah = _hints(g)
    producers, consumers = g.producers(), g.consumers()
    dead = []
    count = 0
    for node in g.nodes:
        if node.op != "DequantizeLinear":
            continue
        x = node.inputs[0]
        s = g.const(node.inputs[1])
        zp = g.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        if s is None or (len(node.inputs) > 2 and node.inputs[2] and zp is None):
            continue
        axis = int(node.attrs.get("axis", 1))
        q = g.const(x)
        if q is not None:  # a constant weight
            shape = [1] * q.ndim
            if s.size > 1:
                shape[axis] = -1
            zz = np.zeros(1) if zp is None else zp.astype(np.float64).reshape(shape)
            w = ((q.astype(np.float64) - zz) * s.astype(np.float64).reshape(shape)).astype(np.float32)
            out = node.outputs[0]
            g.add_constant(out, w)  # unique_name keeps `out` if it is free
            g.tensors[out].data, g.tensors[out].shape, g.tensors[out].dtype = w, list(w.shape), "f32"
            if q.dtype == np.int8 and (zp is None or not np.any(zp)):
                wh[out] = (s.astype(np.float32).reshape(-1), axis if s.size > 1 else -1)
            dead.append(node)
            count += 1
            continue
        qn = producers.get(x)
        if qn is None or qn.op != "QuantizeLinear" or s.size != 1:
            continue
        if len(consumers.get(x, [])) != 1:
            continue
        src = qn.inputs[0]
        zero = 0 if zp is None else int(zp.reshape(()))
        if zp is not None and zp.dtype == np.int8:
            zero += 128
        ah[src] = QuantParams(scales=[float(s.reshape(()))], zero_points=[zero], axis=-1)
        g.replace_uses(node.outputs[0], src, outputs_too=False)
        if g.is_graph_output(node.outputs[0]):
            node.op, node.attrs, node.inputs = "Identity", {}, [src]
            dead.append(qn)
        else:
            dead += [qn, node]
        count += 1
    g.remove_nodes(dead)
    g.prune()
    return count
