"""Recognise a decomposed exact GELU, x * 0.5 * (1 + erf(x / sqrt(2))), as one ``Gelu`` node.

Exporters write the products in any order; the matcher starts at each Erf, checks its argument
is x / sqrt(2) (Div) or x * (1/sqrt(2)) (Mul), the Add of 1, then follows the (at most two)
Muls after it and accepts them when their other operands are exactly {x, 0.5} in any order.
"""

from __future__ import annotations

import math

from qrt.ir import Graph, Node
from qrt.passes.util import other_input, scalar_const, sole_consumer

_TOL = 1e-4


def _close(v: float | None, ref: float) -> bool:
    return v is not None and abs(v - ref) <= _TOL * abs(ref)


def _match(g: Graph, erf: Node, producers, consumers) -> tuple[str, list[Node], Node] | None:
    scale = producers.get(erf.inputs[0])
    if scale is None or sole_consumer(g, scale.outputs[0], consumers) is not erf:
        return None
    if scale.op == "Div" and _close(scalar_const(g, scale.inputs[1]), math.sqrt(2.0)):
        x = scale.inputs[0]
    elif scale.op == "Mul":
        c0, c1 = scalar_const(g, scale.inputs[0]), scalar_const(g, scale.inputs[1])
        if _close(c1, 1 / math.sqrt(2.0)):
            x = scale.inputs[0]
        elif _close(c0, 1 / math.sqrt(2.0)):
            x = scale.inputs[1]
        else:
            return None
    else:
        return None
    add = sole_consumer(g, erf.outputs[0], consumers)
    if add is None or add.op != "Add" or not _close(scalar_const(g, other_input(add, erf.outputs[0])), 1.0):
        return None
    # Products: operands still needed {x, 0.5}; a Mul may also be x*0.5 feeding the chain.
    pending = {"x", "half"}
    chain = [scale, erf, add]
    cur = add.outputs[0]
    side_half = None
    for _ in range(2):
        m = sole_consumer(g, cur, consumers)
        if m is None or m.op != "Mul":
            return None
        o = other_input(m, cur)
        if o == x and "x" in pending:
            pending.discard("x")
        elif _close(scalar_const(g, o), 0.5) and "half" in pending:
            pending.discard("half")
        else:
            hp = producers.get(o)  # (x * 0.5) computed on the side
            if hp is None or hp.op != "Mul" or pending != {"x", "half"}:
                return None
            if sole_consumer(g, hp.outputs[0], consumers) is not m:
                return None
            if not ({hp.inputs[0], hp.inputs[1]} & {x} and any(
                    _close(scalar_const(g, i), 0.5) for i in hp.inputs)):
                return None
            pending.clear()
            side_half = hp
        chain.append(m)
        last = m
        cur = m.outputs[0]
        if not pending:
            break
    if pending:
        return None
    if side_half is not None:
        chain.append(side_half)
    return x, chain, last


def run(g: Graph) -> int:
    found = 0
    for erf in [n for n in g.nodes if n.op == "Erf"]:
        producers, consumers = g.producers(), g.consumers()
        m = _match(g, erf, producers, consumers)
        if m is None:
            continue
        x, chain, last = m
        out = last.outputs[0]
        g.remove_nodes(chain)
        g.nodes.append(Node("Gelu", f"{erf.name}_gelu", [x], [out], {"approximate": "none"}))
        found += 1
    if found:
        g.toposort()
        g.prune()
    return found
