"""The converter's graph: nodes referring to tensors by name.

Nodes carry ONNX op types and ONNX semantics until the layout pass rewrites convolutional
regions into qrt ops (Conv2d, MaxPool2d, ...; docs/ARCHITECTURE.md lists both kinds). Passes
mutate a :class:`Graph` in place and keep it valid: every input of a node is a graph input, a
constant or the output of an earlier node (``toposort()`` restores the order after a rewrite).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from qrt.ir.tensor import Tensor


@dataclass
class Node:
    op: str
    name: str
    inputs: list[str]  # "" marks an absent optional input
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    # Why the quantizer kept this node in float (None while undecided / quantized).
    float_reason: str | None = None

    def __repr__(self) -> str:
        return f"Node({self.name!r} {self.op} {self.inputs} -> {self.outputs})"

    def describe(self) -> str:
        """'name' (op) — the form every converter error uses."""
        return f"node '{self.name}' ({self.op})"


class Graph:
    def __init__(self) -> None:
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self._counter = 0

    # -- construction --------------------------------------------------------------------------
    def add_tensor(self, t: Tensor) -> Tensor:
        self.tensors[t.name] = t
        return t

    def add_constant(self, hint: str, value: np.ndarray, dtype: str | None = None) -> str:
        name = self.unique_name(hint)
        self.add_tensor(Tensor.constant(name, value, dtype))
        return name

    def unique_name(self, hint: str) -> str:
        if hint not in self.tensors and not any(n.name == hint for n in self.nodes):
            return hint
        while True:
            self._counter += 1
            name = f"{hint}__{self._counter}"
            if name not in self.tensors:
                return name

    def new_tensor(self, hint: str, like: Tensor | None = None, **kw: Any) -> Tensor:
        name = self.unique_name(hint)
        t = Tensor(name=name)
        if like is not None:
            t.dtype, t.shape, t.dim_names, t.source = like.dtype, like.shape, like.dim_names, like.source
        for k, v in kw.items():
            setattr(t, k, v)
        return self.add_tensor(t)

    # -- queries -------------------------------------------------------------------------------
    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def const(self, name: str) -> np.ndarray | None:
        """The value of constant tensor ``name``, or None if it is not a constant (or absent)."""
        if not name:
            return None
        t = self.tensors.get(name)
        return None if t is None else t.data

    def producers(self) -> dict[str, Node]:
        return {o: n for n in self.nodes for o in n.outputs if o}

    def consumers(self) -> dict[str, list[Node]]:
        c: dict[str, list[Node]] = defaultdict(list)
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    c[i].append(n)
        return c

    def node_by_name(self, name: str) -> Node | None:
        for n in self.nodes:
            if n.name == name:
                return n
        return None

    def is_graph_output(self, name: str) -> bool:
        return name in self.outputs

    # -- rewriting -----------------------------------------------------------------------------
    def replace_uses(self, old: str, new: str, *, outputs_too: bool = True) -> None:
        """Every consumer of ``old`` reads ``new`` instead (and graph outputs, by default)."""
        for n in self.nodes:
            n.inputs = [new if i == old else i for i in n.inputs]
        if outputs_too:
            self.outputs = [new if o == old else o for o in self.outputs]

    def remove_nodes(self, dead: Iterable[Node]) -> None:
        ids = {id(n) for n in dead}
        self.nodes = [n for n in self.nodes if id(n) not in ids]

    def toposort(self) -> None:
        """Stable topological order (original order kept where it is already valid)."""
        ready = set(self.inputs) | {k for k, t in self.tensors.items() if t.is_constant}
        ready.add("")
        pending = list(self.nodes)
        out: list[Node] = []
        while pending:
            progressed = False
            rest = []
            for n in pending:
                if all(i in ready for i in n.inputs):
                    out.append(n)
                    ready.update(n.outputs)
                    progressed = True
                else:
                    rest.append(n)
            if not progressed:
                names = ", ".join(n.describe() for n in rest[:5])
                raise ValueError(f"graph has a cycle or a missing input around {names}")
            pending = rest
        self.nodes = out

    def prune(self) -> None:
        """Drop nodes whose outputs nobody reads and tensors nobody refers to."""
        live = set(self.outputs)
        kept: list[Node] = []
        for n in reversed(self.nodes):
            if any(o in live for o in n.outputs):
                kept.append(n)
                live.update(i for i in n.inputs if i)
        self.nodes = kept[::-1]
        used = live | set(self.inputs)
        for n in self.nodes:
            used.update(n.outputs)
        self.tensors = {k: v for k, v in self.tensors.items() if k in used}

    def summary(self) -> str:
        lines = []
        for n in self.nodes:
            ins = ", ".join(i or "-" for i in n.inputs)
            lines.append(f"{n.name:30s} {n.op:18s} ({ins}) -> {', '.join(n.outputs)} {n.attrs}")
        return "\n".join(lines)
