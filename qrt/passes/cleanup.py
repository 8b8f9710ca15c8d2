"""Drop no-ops: Identity and (inference-mode) Dropout.

The consumers of a no-op's output read its input instead. A no-op between a graph input (or a
constant) and a graph output stays, as an Identity, so that the output keeps its name.
"""

from __future__ import annotations

from qrt.ir import Graph


def run(g: Graph) -> int:
    removed = 0
    dead = []
    for node in g.nodes:
        if node.op not in ("Identity", "Dropout"):
            continue
        src, out = node.inputs[0], node.outputs[0]
        extra_used = any(o and any(o in n.inputs for n in g.nodes) or o in g.outputs
                         for o in node.outputs[1:])
        if extra_used:
            continue
        if g.is_graph_output(out):
            producers = g.producers()
            if src in g.inputs or g.is_graph_output(src) or src not in producers:
                node.op, node.attrs, node.inputs = "Identity", {}, [src]
                node.outputs = [out]
                continue
            # The producer writes the graph output directly.
            producers[src].outputs = [out if o == src else o for o in producers[src].outputs]
            g.replace_uses(src, out, outputs_too=False)
            hints = getattr(g, "activation_hints", {})
            if src in hints and out not in hints:
                hints[out] = hints[src]
            t = g.tensors.pop(src, None)
            if t is not None and out in g.tensors:
                g.tensors[out].source = g.tensors[out].source or t.source
        else:
            g.replace_uses(out, src, outputs_too=False)
        dead.append(node)
        removed += 1
    g.remove_nodes(dead)
    return removed
