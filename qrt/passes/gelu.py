"""Recognise a decomposed GELU as one ``Gelu`` node: the exact form
x * 0.5 * (1 + erf(x / sqrt(2))) and the tanh form (``approximate="tanh"``, GPT-2's gelu_new,
``nn.GELU(approximate="tanh")``) 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3))).

Exporters write the products in any order; the matcher starts at each Erf (Tanh), checks its
argument is x / sqrt(2) (Div) or x * (1/sqrt(2)) (Mul) (for tanh: sqrt(2/pi) times x plus
0.044715 times x**3, the cube as Pow(x, 3) or x * (x * x)), the Add of 1, then follows the (at
most two) Muls after it and accepts them when their other operands are exactly {x, 0.5} in any
order. Every intermediate must be read by the next node of the chain only.
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
    return _tail(g, x, [scale], erf, producers, consumers)


def _tail(g: Graph, x: str, head: list[Node], fn: Node, producers, consumers):
    """After erf/tanh: Add(1), then the products with x and 0.5 in any order (or x*0.5 computed
    on the side). (x, chain, last node) or None."""
    add = sole_consumer(g, fn.outputs[0], consumers)
    if add is None or add.op != "Add" or not _close(scalar_const(g, other_input(add, fn.outputs[0])), 1.0):
        return None
    # Products: operands still needed {x, 0.5}; a Mul may also be x*0.5 feeding the chain.
    pending = {"x", "half"}
    chain = head + [fn, add]
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


def _only_for(g: Graph, name: str, reader: Node, producers, consumers, op: str) -> Node | None:
    """The ``op`` node writing ``name`` when ``reader`` is its only reader."""
    p = producers.get(name)
    if p is None or p.op != op or sole_consumer(g, p.outputs[0], consumers) is not reader:
        return None
    return p


def _const_and_other(g: Graph, node: Node, value: float) -> str | None:
    """The non-constant operand of a Mul whose other operand is the scalar ``value``."""
    for k in (0, 1):
        if _close(scalar_const(g, node.inputs[k]), value):
            return node.inputs[1 - k]
    return None


def _cube_of(g: Graph, node: Node, producers, consumers) -> tuple[str, list[Node]] | None:
    """(x, nodes) when ``node`` computes x**3: Pow(x, 3), Mul(x, Mul(x, x)) in either order."""
    if node.op == "Pow" and _close(scalar_const(g, node.inputs[1]), 3.0):
        return node.inputs[0], [node]
    if node.op != "Mul":
        return None
    for k in (0, 1):
        sq = _only_for(g, node.inputs[1 - k], node, producers, consumers, "Mul")
        x = node.inputs[k]
        if sq is not None and sq.inputs == [x, x]:
            return x, [node, sq]
    return None


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _match_tanh(g: Graph, tanh: Node, producers, consumers):
    """0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3))), products in any order."""
    outer = _only_for(g, tanh.inputs[0], tanh, producers, consumers, "Mul")
    inner_name = _const_and_other(g, outer, _SQRT_2_OVER_PI) if outer is not None else None
    inner = _only_for(g, inner_name, outer, producers, consumers, "Add") if inner_name else None
    if inner is None:
        return None
    for k in (0, 1):
        x = inner.inputs[k]
        scaled = _only_for(g, inner.inputs[1 - k], inner, producers, consumers, "Mul")
        cube_name = _const_and_other(g, scaled, 0.044715) if scaled is not None else None
        cube = producers.get(cube_name) if cube_name else None
        if cube is None or sole_consumer(g, cube.outputs[0], consumers) is not scaled:
            continue
        c = _cube_of(g, cube, producers, consumers)
        if c is None or c[0] != x:
            continue
        return _tail(g, x, c[1] + [scaled, inner, outer], tanh, producers, consumers)
    return None


def run(g: Graph) -> int:
    found = 0
    for fn in [n for n in g.nodes if n.op in ("Erf", "Tanh")]:
        producers, consumers = g.producers(), g.consumers()
        if fn not in g.nodes:
            continue
        m = (_match if fn.op == "Erf" else _match_tanh)(g, fn, producers, consumers)
        if m is None:
            continue
        x, chain, last = m
        out = last.outputs[0]
        g.remove_nodes(chain)
        g.nodes.append(Node("Gelu", f"{fn.name}_gelu", [x], [out],
                            {"approximate": "none" if fn.op == "Erf" else "tanh"}))
        found += 1
    if found:
        g.toposort()
        g.prune()
    return found
