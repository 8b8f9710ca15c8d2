"""LSTM / GRU / RNN: absent optional outputs.

ONNX marks an absent optional output with an empty name (``outputs=["", "Y_h"]`` is common: the
last hidden state without the full sequence). A .qmodel node lists only tensors it writes, so
trailing absent outputs are dropped and an absent one before a present one gets a name of its
own: a value nobody reads, which the runtime computes and frees right after the node.
"""

from __future__ import annotations

from qrt.frontends.onnx.registry import ImportContext, register
from qrt.ir import Node, Tensor


@register("LSTM", "GRU", "RNN")
def recurrent(ctx: ImportContext, node: Node) -> None:
    outs = list(node.outputs)
    while outs and not outs[-1]:
        outs.pop()
    for k, o in enumerate(outs):
        if not o:
            name = ctx.graph.unique_name(f"{node.name}_unused_output{k}")
            ctx.graph.add_tensor(Tensor(name=name, dtype="f32"))
            outs[k] = name
    node.outputs = outs
    ctx.add(node)
