"""Fusions run after static int8 quantization: float chains that end in a QuantizeLinear feeding
an int8 node become one ``AffineQuantize`` (docs/ARCHITECTURE.md, qrt ops), which the runtime runs
as one pass over the activation with the same kernels and the same bits as the separate ops:

- ``x -> Sub(z) -> Mul(inv) -> QuantizeLinear`` (SmoothQuant's shift/scale, qrt/quantize/smooth.py)
  -> ``AffineQuantize(x, z, inv)``;
- ``x -> Gelu -> QuantizeLinear | AffineQuantize`` -> ``AffineQuantize(x[, z, inv]; activation)``.

and a u8 ``Add``/``Mul`` followed by a u8 ``Relu`` (a residual block's tail) takes the Relu as its
``activation`` (the runtime's quantized Add/Mul clamp at the output zero point): one pass and one
rounding instead of a requantizing Relu after the requantizing Add (not the same bits as the
pair: one rounding fewer).

Only where the intermediate tensors have no other reader and are not graph outputs.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph, Node
from qrt.passes.util import sole_consumer


def _affine(g: Graph, producers, consumers, dead: list[Node]) -> int:
    done = 0
    for q in list(g.nodes):
        if q.op != "QuantizeLinear" or g.tensor(q.outputs[0]).dtype != "u8":
            continue
        mul = producers.get(q.inputs[0])
        if mul is None or mul.op != "Mul" or len(mul.inputs) != 2 or sole_consumer(g, mul.outputs[0], consumers) is not q:
            continue
        sub = producers.get(mul.inputs[0])
        if sub is None or sub.op != "Sub" or len(sub.inputs) != 2 or sole_consumer(g, sub.outputs[0], consumers) is not mul:
            continue
        x, z, inv = sub.inputs[0], sub.inputs[1], mul.inputs[1]
        zc, ic, xt = g.const(z), g.const(inv), g.tensor(x)
        if (zc is None or ic is None or zc.ndim != 1 or ic.ndim != 1 or zc.dtype != np.float32
                or ic.dtype != np.float32 or xt.dtype != "f32" or not xt.shape
                or xt.shape[-1] != zc.shape[0] or zc.shape != ic.shape):
            continue
        q.op = "AffineQuantize"
        q.inputs = [x, z, inv]
        dead += [sub, mul]
        done += 1
    return done


def _gelu(g: Graph, producers, consumers, dead: list[Node]) -> int:
    done = 0
    for q in list(g.nodes):
        if q.op not in ("QuantizeLinear", "AffineQuantize") or q.attrs.get("activation", "none") != "none":
            continue
        if g.tensor(q.outputs[0]).dtype != "u8":
            continue
        ge = producers.get(q.inputs[0])
        if ge is None or ge.op != "Gelu" or sole_consumer(g, ge.outputs[0], consumers) is not q:
            continue
        approx = ge.attrs.get("approximate", "none")
        if approx not in ("none", "tanh") or g.tensor(ge.inputs[0]).dtype != "f32":
            continue
        q.op = "AffineQuantize"
        q.inputs = [ge.inputs[0]] + q.inputs[1:]
        q.attrs["activation"] = "gelu" if approx == "none" else "gelu_tanh"
        dead.append(ge)
        done += 1
    return done


def _binary_relu(g: Graph, producers, consumers, dead: list[Node]) -> int:
    done = 0
    for n in list(g.nodes):
        if n.op not in ("Add", "Mul") or n.attrs.get("activation", "none") != "none":
            continue
        out = g.tensor(n.outputs[0])
        if out.dtype != "u8" or out.quant is None or any(g.tensor(i).dtype != "u8" for i in n.inputs):
            continue
        r = sole_consumer(g, n.outputs[0], consumers)
        if r is None or r.op != "Relu" or g.tensor(r.outputs[0]).dtype != "u8" or g.tensor(r.outputs[0]).quant is None:
            continue
        n.outputs = [r.outputs[0]]
        n.attrs["activation"] = "relu"
        dead.append(r)
        done += 1
    return done


def quantize_chains(g: Graph) -> int:
    """Fuses the chains above in place; returns how many nodes were folded away."""
    dead: list[Node] = []
    _affine(g, g.producers(), g.consumers(), dead)
    if dead:  # the Gelu pass must see the AffineQuantize nodes with their new inputs
        g.remove_nodes(dead)
    folded = len(dead)
    dead = []
    _gelu(g, g.producers(), g.consumers(), dead)
    _binary_relu(g, g.producers(), g.consumers(), dead)
    if dead:
        g.remove_nodes(dead)
    folded += len(dead)
    if folded:
        g.prune()
    return folded
