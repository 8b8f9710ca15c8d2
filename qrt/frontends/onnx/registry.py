"""{op_type: handler} registry of the ONNX frontend.

A handler receives the import context and one ONNX node (already turned into an IR ``Node`` with
parsed attributes) and adds the equivalent IR node(s) to the graph, normalising old opset forms
into one canonical form (docs/CONVERTER.md, "Canonical forms"). Op types without a handler are
imported as they are; after constant folding the converter checks every remaining op type
against the runtime's operator list and reports all unsupported ones at once.
"""

from __future__ import annotations

from typing import Callable

from qrt.ir import Graph, Node

Handler = Callable[["ImportContext", Node], None]
HANDLERS: dict[str, Handler] = {}


def register(*op_types: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for op in op_types:
            HANDLERS[op] = fn
        return fn

    return deco


class ImportContext:
    def __init__(self, graph: Graph, opset: int) -> None:
        self.graph = graph
        self.opset = opset
        # QDQ models: tensor name -> QuantParams read from QuantizeLinear/DequantizeLinear pairs,
        # and weight name -> (int values, QuantParams) from DequantizeLinear of constant ints.
        self.activation_qparams: dict = {}
        self.weight_qparams: dict = {}

    def add(self, node: Node) -> Node:
        self.graph.nodes.append(node)
        return node

    def const_input(self, node: Node, i: int):
        return self.graph.const(node.inputs[i]) if i < len(node.inputs) else None
