"""Fold a zero-valued constant Pad into the 2-D Conv that is its only reader.

Exporters write explicit padding as a separate Pad in front of a Conv (PyTorch's ``F.pad`` for
asymmetric "same" padding, models converted from TensorFlow). Left alone, the Pad stays an NCHW
op between the layout pass's transposes, and in int8 mode it also runs in float between a
DequantizeLinear and a QuantizeLinear. A Conv's own padding adds zeros (in int8: the input zero
point, i.e. the real value 0), so a Pad that adds non-negative zero padding to the two spatial
dimensions only is the same as adding those amounts to the Conv's ``pads``.

Left alone: other modes (reflect, edge, wrap), a non-zero or non-constant value, negative pads
(cropping), padding of the batch or channel dimension, pads not known at conversion, a Pad with
other readers (or that is a graph output), and Convs with ``auto_pad``.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph
from qrt.passes.util import scalar_const, sole_consumer


def _full_pads(g: Graph, pad, rank: int) -> list[int] | None:
    """The Pad's amounts as [begin_0 .. begin_{r-1}, end_0 .. end_{r-1}], or None if unknown."""
    if len(pad.inputs) > 1 and pad.inputs[1]:
        v = g.const(pad.inputs[1])
        if v is None:
            return None
        pads = [int(x) for x in np.asarray(v).reshape(-1)]
    else:
        pads = [int(x) for x in pad.attrs.get("pads", [])]  # opset < 11
    axes = list(range(rank))
    if len(pad.inputs) > 3 and pad.inputs[3]:
        a = g.const(pad.inputs[3])
        if a is None:
            return None
        axes = [int(x) + (rank if int(x) < 0 else 0) for x in np.asarray(a).reshape(-1)]
    if len(pads) != 2 * len(axes) or len(set(axes)) != len(axes) or any(not 0 <= x < rank for x in axes):
        return None
    full = [0] * (2 * rank)
    for i, ax in enumerate(axes):
        full[ax], full[rank + ax] = pads[i], pads[len(axes) + i]
    return full


def _zero_value(g: Graph, pad) -> bool:
    if len(pad.inputs) > 2 and pad.inputs[2]:
        v = scalar_const(g, pad.inputs[2])
        return v is not None and v == 0.0
    return float(pad.attrs.get("value", 0.0)) == 0.0


def run(g: Graph) -> int:
    consumers = g.consumers()
    dead = []
    for pad in g.nodes:
        if pad.op != "Pad" or pad.attrs.get("mode", "constant") != "constant" or not _zero_value(g, pad):
            continue
        shape = g.tensor(pad.inputs[0]).shape
        if shape is None or len(shape) != 4:
            continue
        full = _full_pads(g, pad, 4)
        if full is None or any(p < 0 for p in full) or full[0] or full[1] or full[4] or full[5]:
            continue
        conv = sole_consumer(g, pad.outputs[0], consumers)
        if conv is None or conv.op != "Conv" or conv.inputs[0] != pad.outputs[0]:
            continue
        if conv.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
            continue
        t, l, b, r = [int(x) for x in conv.attrs.get("pads", [0, 0, 0, 0])]
        conv.attrs["pads"] = [t + full[2], l + full[3], b + full[6], r + full[7]]
        conv.inputs = [pad.inputs[0]] + conv.inputs[1:]
        dead.append(pad)
    if dead:
        g.remove_nodes(dead)
        g.prune()
    return len(dead)
