"""Upsample (opsets 7-9) and Resize-10 -> the Resize form of opset 11+.

Both compute source coordinates as x / scale ("asymmetric"). Their nearest rounding is not in the
ONNX spec; ONNX Runtime floors when an axis is upsampled and takes the ceiling when it is
downsampled, so the rewrite picks nearest_mode floor or ceil from the (constant) scales and
refuses a node that upsamples one axis and downsamples another.
"""

from __future__ import annotations

import numpy as np

from qrt.frontends.onnx.registry import ImportContext, register
from qrt.ir import Node
from qrt.ir.errors import unsupported


@register("Upsample", "Resize")
def resize(ctx: ImportContext, node: Node) -> None:
    if node.op == "Resize" and ctx.opset >= 11:
        ctx.add(node)
        return
    g = ctx.graph
    if "scales" in node.attrs:  # Upsample-7
        scales = np.array(node.attrs.pop("scales"), dtype=np.float32)
        scales_name = g.add_constant(f"{node.name}_scales", scales)
    else:
        if len(node.inputs) < 2 or not node.inputs[1]:
            raise unsupported(f"{node.describe()}: no scales")
        scales_name = node.inputs[1]
        scales = g.const(scales_name)
    mode = str(node.attrs.pop("mode", "nearest"))
    if mode == "bilinear":
        mode = "linear"
    if mode not in ("nearest", "linear"):
        raise unsupported(f"{node.describe()}: mode {mode!r} (nearest or linear)")
    attrs = {"mode": mode, "coordinate_transformation_mode": "asymmetric"}
    if mode == "nearest":
        if scales is None:
            raise unsupported(f"{node.describe()}: opset-{ctx.opset} nearest {node.op} with scales computed at "
                              "run time (its rounding depends on whether each axis grows or shrinks)")
        s = np.asarray(scales, dtype=np.float64).ravel()
        up, down = bool(np.any(s > 1)), bool(np.any(s < 1))
        if up and down:
            raise unsupported(f"{node.describe()}: opset-{ctx.opset} nearest {node.op} that upsamples one axis "
                              f"and downsamples another (scales {s.tolist()})")
        attrs["nearest_mode"] = "ceil" if down else "floor"
    node.op = "Resize"
    node.attrs = attrs
    node.inputs = [node.inputs[0], "", scales_name]
    ctx.add(node)
