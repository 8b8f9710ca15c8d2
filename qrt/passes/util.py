"""Small helpers shared by the passes."""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph, Node


def sole_consumer(g: Graph, tensor: str, consumers: dict[str, list[Node]]) -> Node | None:
    """The only node reading ``tensor`` if there is exactly one and it is not a graph output."""
    users = consumers.get(tensor, [])
    if len(users) != 1 or g.is_graph_output(tensor):
        return None
    return users[0]


def scalar_const(g: Graph, name: str) -> float | None:
    v = g.const(name)
    if v is None or v.size != 1:
        return None
    return float(v.reshape(()))


def other_input(node: Node, name: str) -> str | None:
    """For a binary node reading ``name``, the other input."""
    a, b = node.inputs[0], node.inputs[1]
    if a == name:
        return b
    if b == name:
        return a
    return None


def permute_shape(shape, perm):
    return None if shape is None else [shape[p] for p in perm]


def inverse_perm(perm) -> list[int]:
    return [int(i) for i in np.argsort(perm)]
