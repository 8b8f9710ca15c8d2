"""Squeeze/Unsqueeze/Split/Slice: old opset attribute forms -> the current (input) forms."""

from __future__ import annotations

import numpy as np

from qrt.frontends.onnx.registry import ImportContext, register
from qrt.ir import Node


def _attr_to_input(ctx: ImportContext, node: Node, attr: str, position: int) -> None:
    if attr in node.attrs:
        value = np.array(node.attrs.pop(attr), dtype=np.int64)
        while len(node.inputs) < position:
            node.inputs.append("")
        node.inputs.insert(position, ctx.graph.add_constant(f"{node.name}_{attr}", value))


@register("Squeeze", "Unsqueeze")
def squeeze(ctx: ImportContext, node: Node) -> None:
    _attr_to_input(ctx, node, "axes", 1)
    ctx.add(node)


@register("Split")
def split(ctx: ImportContext, node: Node) -> None:
    _attr_to_input(ctx, node, "split", 1)
    ctx.add(node)


@register("Slice")
def slice_(ctx: ImportContext, node: Node) -> None:
    if "starts" in node.attrs:  # opset < 10
        starts = node.attrs.pop("starts")
        ends = node.attrs.pop("ends")
        axes = node.attrs.pop("axes", list(range(len(starts))))
        g = ctx.graph
        node.inputs = [node.inputs[0]] + [
            g.add_constant(f"{node.name}_{k}", np.array(v, dtype=np.int64))
            for k, v in (("starts", starts), ("ends", ends), ("axes", axes))]
    ctx.add(node)


@register("Dropout")
def dropout(ctx: ImportContext, node: Node) -> None:
    # Inference: Dropout is the identity; a second (mask) output, if anyone reads it, is all true.
    node.attrs = {}
    node.inputs = node.inputs[:1]
    ctx.add(node)
