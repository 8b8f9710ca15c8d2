"""Reductions, Softmax and Clip: old opset attribute forms -> the current (input) forms."""

from __future__ import annotations

import numpy as np

from qrt.ir.errors import unsupported
from qrt.frontends.onnx.registry import ImportContext, register
from qrt.ir import Node

# Opset at which `axes` moved from an attribute to an input.
_AXES_INPUT_SINCE = {"ReduceSum": 13, "ReduceMean": 18, "ReduceL2": 18, "ReduceMax": 18,
                     "ReduceMin": 18, "ReduceProd": 18, "ReduceL1": 18, "ReduceSumSquare": 18,
                     "ReduceLogSumExp": 18, "ReduceLogSum": 18}


@register(*_AXES_INPUT_SINCE)
def reduce(ctx: ImportContext, node: Node) -> None:
    if "axes" in node.attrs:
        axes = np.array(node.attrs.pop("axes"), dtype=np.int64)
        name = ctx.graph.add_constant(f"{node.name}_axes", axes)
        node.inputs = [node.inputs[0], name]
    ctx.add(node)


@register("Clip")
def clip(ctx: ImportContext, node: Node) -> None:
    if "min" in node.attrs or "max" in node.attrs:  # opset < 11
        lo = np.array(node.attrs.pop("min", -3.4028234663852886e38), dtype=np.float32)
        hi = np.array(node.attrs.pop("max", 3.4028234663852886e38), dtype=np.float32)
        node.inputs = [node.inputs[0], ctx.graph.add_constant(f"{node.name}_min", lo),
                       ctx.graph.add_constant(f"{node.name}_max", hi)]
    ctx.add(node)


@register("Softmax", "LogSoftmax")
def softmax(ctx: ImportContext, node: Node) -> None:
    axis = int(node.attrs.get("axis", 1 if ctx.opset < 13 else -1))
    if ctx.opset < 13:
        # Before opset 13 Softmax flattened the input to 2-D at `axis`; that equals the modern
        # per-axis form only when `axis` is the last dimension.
        shape = ctx.graph.tensor(node.inputs[0]).shape
        if shape is None or axis not in (-1, len(shape) - 1):
            raise unsupported(f"{node.describe()}: opset-{ctx.opset} Softmax over axis {axis} of "
                              f"shape {shape} (only the last axis is supported)")
        axis = -1
    node.attrs["axis"] = axis
    ctx.add(node)


@register("Sum")
def sum_(ctx: ImportContext, node: Node) -> None:
    """Sum of n inputs -> a chain of Adds."""
    ins = node.inputs
    if len(ins) == 1:
        node.op, node.attrs = "Identity", {}
        ctx.add(node)
        return
    acc = ins[0]
    for k, x in enumerate(ins[1:], start=1):
        out = node.outputs[0] if k == len(ins) - 1 else ctx.graph.new_tensor(f"{node.name}_acc{k}").name
        ctx.add(Node("Add", f"{node.name}" if k == len(ins) - 1 else f"{node.name}_add{k}",
                     [acc, x], [out]))
        acc = out
