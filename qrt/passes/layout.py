"""NCHW -> NHWC for convolutional regions.

1. Every 2-D Conv / MaxPool / AveragePool / GlobalAveragePool becomes its qrt NHWC op
   (Conv2d weights OIHW -> [O, KH, KW, C/group]), wrapped in Transpose(0,2,3,1) in front and
   Transpose(0,3,1,2) behind, so the graph stays correct at every step.
2. Transposes then move and cancel until they sit only at region edges:
   - back-to-NCHW transposes sink below layout-agnostic ops (unary and binary elementwise ops,
     with constants permuted to match; Concat with its axis remapped; Resize with its roi /
     scales / sizes reordered, or its axes remapped);
   - two transposes in a row compose (and vanish when they compose to the identity);
   - a transpose that only moves size-1 dims in front of Flatten/Reshape is dropped;
   - Transpose(0,3,1,2) -> Flatten -> Dense folds into the Dense weight (columns permuted).
1-D Conv / pools ([N, C, L]) are first lifted to 2-D ones on Unsqueeze(x, 2) with a unit kernel
height, followed by Squeeze(2); Squeezes sink below elementwise ops and cancel against the next
lifted op's Unsqueeze, so a 1-D CNN becomes one NHWC region too.
Ops that a pass cannot convert (3-D convs, dilated pools, auto_pad on unknown shapes, ...) stay
as ONNX ops and the support check reports them with the reason.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph, Node
from qrt.passes.qdq import carry_weight_hint
from qrt.passes.util import inverse_perm, permute_shape

TO_NHWC = [0, 2, 3, 1]
TO_NCHW = [0, 3, 1, 2]

ELEMENTWISE_UNARY = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "Erf", "Gelu", "HardSigmoid",
                     "HardSwish", "Silu", "Exp", "Log", "Neg", "Abs", "Sqrt", "Identity", "Cast"}
ELEMENTWISE_BINARY = {"Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "PRelu"}

# node name -> why a conv/pool node could not be converted (read by the support check).
UNCONVERTED_REASON = "_layout_reasons"


def _spatial(shape):
    if shape is None or len(shape) != 4 or shape[2] < 0 or shape[3] < 0:
        return None
    return shape[2], shape[3]


def _auto_pads(node: Node, in_hw, kernel, strides, dilations) -> list[int] | None:
    mode = node.attrs.get("auto_pad", "NOTSET")
    if mode in ("NOTSET", ""):
        return list(node.attrs.get("pads", [0, 0, 0, 0]))
    if mode == "VALID":
        return [0, 0, 0, 0]
    if in_hw is None:
        return None
    begin, end = [], []
    for i in range(2):
        out = -(-in_hw[i] // strides[i])
        eff = (kernel[i] - 1) * dilations[i] + 1
        total = max(0, (out - 1) * strides[i] + eff - in_hw[i])
        small, big = total // 2, total - total // 2
        b, e = (small, big) if mode == "SAME_UPPER" else (big, small)
        begin.append(b)
        end.append(e)
    return begin + end


def _ceil_extra(in_hw, kernel, strides, pads) -> list[int] | None:
    """Extra end padding that makes floor-mode output sizes equal ceil-mode ones."""
    if in_hw is None:
        return None
    extra = []
    for i in range(2):
        span = in_hw[i] + pads[i] + pads[i + 2] - kernel[i]
        floor_out = span // strides[i] + 1
        ceil_out = -(-span // strides[i]) + 1
        if (ceil_out - 1) * strides[i] >= in_hw[i] + pads[i]:  # ONNX: last window must start inside
            ceil_out -= 1
        extra.append((ceil_out - floor_out) * strides[i])
    return extra


def _convert(g: Graph, node: Node, reasons: dict) -> dict | None:
    """qrt op and attributes for an NCHW node, or None (reason recorded)."""
    xs = g.tensor(node.inputs[0]).shape
    if xs is not None and len(xs) != 4:
        reasons[node.name] = (f"only 1-D and 2-D {node.op} (3-D or 4-D input; 1-D with a constant weight) "
                              f"is supported, got rank {len(xs)}")
        return None
    in_hw = _spatial(xs)
    if node.op == "GlobalAveragePool":
        if xs is None:
            reasons[node.name] = "input rank unknown"
            return None
        return {"op": "GlobalAvgPool2d", "attrs": {}}
    if node.op == "Conv":
        w = g.const(node.inputs[1])
        wshape = list(w.shape) if w is not None else g.tensor(node.inputs[1]).shape
        if wshape is None or len(wshape) != 4:
            reasons[node.name] = "only 1-D and 2-D convolutions are supported"
            return None
        kernel = wshape[2:]
        strides = list(node.attrs.get("strides", [1, 1]))
        dil = list(node.attrs.get("dilations", [1, 1]))
        pads = _auto_pads(node, in_hw, kernel, strides, dil)
        if pads is None:
            reasons[node.name] = "auto_pad SAME needs static spatial input dims"
            return None
        attrs = {"strides": strides, "pads": pads, "dilations": dil,
                 "group": int(node.attrs.get("group", 1))}
        for k in ("activation", "clip_min", "clip_max"):
            if k in node.attrs:
                attrs[k] = node.attrs[k]
        attrs.setdefault("activation", "none")
        return {"op": "Conv2d", "attrs": attrs}
    # MaxPool / AveragePool
    if node.op == "MaxPool" and len(node.outputs) > 1 and node.outputs[1]:
        reasons[node.name] = "MaxPool with an indices output is not supported"
        return None
    kernel = list(node.attrs["kernel_shape"])
    strides = list(node.attrs.get("strides", [1, 1]))
    dil = list(node.attrs.get("dilations", [1, 1]))
    if len(kernel) != 2:
        reasons[node.name] = f"only 1-D and 2-D pooling is supported, got kernel {kernel}"
        return None
    if dil != [1, 1]:
        reasons[node.name] = f"dilated pooling (dilations={dil}) is not supported"
        return None
    pads = _auto_pads(node, in_hw, kernel, strides, dil)
    if pads is None:
        reasons[node.name] = "auto_pad SAME needs static spatial input dims"
        return None
    cip = int(node.attrs.get("count_include_pad", 0))
    if int(node.attrs.get("ceil_mode", 0)):
        extra = _ceil_extra(in_hw, kernel, strides, pads)
        if extra is None:
            reasons[node.name] = "ceil_mode=1 needs static spatial dims"
            return None
        if node.op == "AveragePool" and cip and any(extra):
            # The windows ceil_mode adds hang past the padded input; their divisor counts the
            # explicit padding but not the overhang (ONNX Runtime, PyTorch). Without explicit
            # padding that is count_include_pad=0 (PyTorch's AvgPool2d(2, 2, ceil_mode=True));
            # with it, the runtime's single padding cannot tell the two apart.
            if any(pads):
                reasons[node.name] = ("ceil_mode=1 with count_include_pad=1 and explicit padding "
                                      f"{pads} is not supported")
                return None
            cip = 0
        pads = [pads[0], pads[1], pads[2] + extra[0], pads[3] + extra[1]]
    if node.op == "MaxPool":
        return {"op": "MaxPool2d", "attrs": {"kernel": kernel, "strides": strides, "pads": pads}}
    return {"op": "AvgPool2d", "attrs": {"kernel": kernel, "strides": strides, "pads": pads,
                                         "count_include_pad": cip}}


def _spread(v, n_default: int, pad: bool = False) -> list[int]:
    """1-D attribute -> its 2-D form with a unit (or zero-pad) height in front."""
    v = list(v)
    if pad:  # [begin, end] -> [top, left, bottom, right]
        return [0, int(v[0]), 0, int(v[1])]
    return [n_default] + [int(a) for a in v]


def lift_1d(g: Graph) -> int:
    """1-D Conv / MaxPool / AveragePool / GlobalAveragePool ([N, C, L] input) -> the 2-D op on
    Unsqueeze(x, 2) = [N, C, 1, L] with a unit kernel height, then Squeeze(2): the rest of the
    pass and the runtime's Conv2d / pools run them as 1 x k windows."""
    new_nodes: list[Node] = []
    lifted = 0
    axis2 = None
    for node in g.nodes:
        xs = g.tensor(node.inputs[0]).shape if node.inputs and node.inputs[0] else None
        w = g.const(node.inputs[1]) if node.op == "Conv" and len(node.inputs) > 1 else None
        if (node.op not in ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool") or xs is None or len(xs) != 3
                or (node.op == "Conv" and (w is None or w.ndim != 3))
                or (node.op == "MaxPool" and len(node.outputs) > 1 and node.outputs[1])):
            new_nodes.append(node)
            continue
        if axis2 is None:
            axis2 = g.add_constant("lift1d_axis2", np.array([2], np.int64))
        x4 = g.new_tensor(f"{node.inputs[0]}_2d", like=g.tensor(node.inputs[0]), **_unit_h(g.tensor(node.inputs[0])))
        new_nodes.append(Node("Unsqueeze", g.unique_name(f"{node.name}_to_2d"), [node.inputs[0], axis2], [x4.name]))
        attrs = dict(node.attrs)
        for k in ("kernel_shape", "strides", "dilations"):
            if k in attrs:
                attrs[k] = _spread(attrs[k], 1)
        if "pads" in attrs:
            attrs["pads"] = _spread(attrs["pads"], 0, pad=True)
        inputs = [x4.name] + list(node.inputs[1:])
        if node.op == "Conv":
            w4 = g.add_constant(f"{node.inputs[1]}_2d", np.ascontiguousarray(w[:, :, None, :]))
            carry_weight_hint(g, node.inputs[1], w4, {0: 0})
            inputs[1] = w4
        y = node.outputs[0]
        y4 = g.new_tensor(f"{y}_2d", like=g.tensor(y), **_unit_h(g.tensor(y)))
        new_nodes.append(Node(node.op, node.name, inputs, [y4.name] + list(node.outputs[1:]), attrs))
        new_nodes.append(Node("Squeeze", g.unique_name(f"{node.name}_to_1d"), [y4.name, axis2], [y]))
        lifted += 1
    g.nodes = new_nodes
    return lifted


def _unit_h(t) -> dict:
    """Shape and dim names of rank-3 tensor t with a unit axis inserted at 2 (None: unknown)."""
    sh, dn = t.shape, t.dim_names
    return {"shape": None if sh is None or len(sh) != 3 else [sh[0], sh[1], 1, sh[2]],
            "dim_names": None if dn is None or len(dn) != 3 else [dn[0], dn[1], None, dn[2]]}


def _axes_of(g: Graph, node: Node) -> list[int] | None:
    a = g.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
    return None if a is None else [int(v) for v in np.asarray(a).ravel()]


def _sink_squeeze_once(g: Graph) -> bool:
    """op(Squeeze(a, 2), ...) -> Squeeze(op(a, ...), 2) for elementwise ops and Concat over
    4-D tensors squeezed at axis 2 (constants get the unit axis too), and Unsqueeze(Squeeze(a,
    2), 2) -> a: consecutive lifted 1-D convolutions then meet with only transposes between them,
    which cancel."""
    producers = g.producers()
    for node in g.nodes:
        if node.op == "Unsqueeze":
            sq = producers.get(node.inputs[0])
            if (sq is not None and sq.op == "Squeeze" and _axes_of(g, node) == [2] and _axes_of(g, sq) == [2]
                    and not g.is_graph_output(node.outputs[0])):
                g.replace_uses(node.outputs[0], sq.inputs[0], outputs_too=False)
                g.remove_nodes([node])
                g.prune()
                return True
            continue
        if node.op not in ELEMENTWISE_UNARY | ELEMENTWISE_BINARY | {"Concat"} or g.is_graph_output(node.outputs[0]):
            continue
        acts = [i for i in node.inputs if i and g.const(i) is None]
        if node.op in ELEMENTWISE_UNARY:
            acts = acts[:1]
        sqs = [producers.get(i) for i in acts]
        if not sqs or any(q is None or q.op != "Squeeze" or _axes_of(g, q) != [2]
                          or len(g.tensor(q.inputs[0]).shape or []) != 4 for q in sqs):
            continue
        new_inputs, ok = [], True
        for k, i in enumerate(node.inputs):
            if not i or (node.op in ELEMENTWISE_UNARY and k > 0):
                new_inputs.append(i)
            elif i in acts:
                new_inputs.append(producers[i].inputs[0])
            else:
                c = g.const(i)
                if c is None or c.ndim > 3:
                    ok = False
                    break
                c3 = c.reshape((1,) * (3 - c.ndim) + c.shape)
                new_inputs.append(g.add_constant(f"{i}_2d", np.ascontiguousarray(c3[:, :, None, :])))
        if not ok:
            continue
        y = node.outputs[0]
        y4 = g.new_tensor(f"{y}_2d", like=g.tensor(y), **_unit_h(g.tensor(y)))
        node.inputs = new_inputs
        node.outputs = [y4.name]
        if node.op == "Concat":
            axis = int(node.attrs.get("axis", 0)) % 3
            node.attrs["axis"] = axis + 1 if axis == 2 else axis
        g.nodes.insert(g.nodes.index(node) + 1, Node("Squeeze", g.unique_name(f"{node.name}_to_1d"),
                                                     [y4.name, sqs[0].inputs[1]], [y]))
        return True
    return False


def _transposed(g: Graph, name: str, perm: list[int], node_name: str, out: list[Node],
                cache: dict) -> str:
    key = (name, tuple(perm))
    if key not in cache:
        src = g.tensor(name)
        t = g.new_tensor(f"{name}_nhwc" if perm == TO_NHWC else f"{name}_T", like=src,
                         shape=permute_shape(src.shape, perm),
                         dim_names=permute_shape(src.dim_names, perm))
        out.append(Node("Transpose", g.unique_name(f"{node_name}_to_nhwc"), [name], [t.name],
                        {"perm": list(perm)}))
        cache[key] = t.name
    return cache[key]


def convert_ops(g: Graph) -> int:
    reasons = getattr(g, UNCONVERTED_REASON, {})
    setattr(g, UNCONVERTED_REASON, reasons)
    new_nodes: list[Node] = []
    cache: dict = {}
    converted = 0
    for node in g.nodes:
        if node.op not in ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool"):
            new_nodes.append(node)
            continue
        spec = _convert(g, node, reasons)
        if spec is None:
            new_nodes.append(node)
            continue
        x = _transposed(g, node.inputs[0], TO_NHWC, node.name, new_nodes, cache)
        inputs = [x]
        if node.op == "Conv":
            w = g.const(node.inputs[1])
            if w is not None:
                inputs.append(g.add_constant(f"{node.inputs[1]}_ohwi",
                                             np.ascontiguousarray(w.transpose(0, 2, 3, 1))))
                carry_weight_hint(g, node.inputs[1], inputs[-1], {0: 0})
            else:
                inputs.append(_transposed(g, node.inputs[1], TO_NHWC, node.name, new_nodes, cache))
            if len(node.inputs) > 2 and node.inputs[2]:
                inputs.append(node.inputs[2])
        y = node.outputs[0]
        ys = g.tensor(y)
        yn = g.new_tensor(f"{y}_nhwc", like=ys, shape=permute_shape(ys.shape, TO_NHWC),
                          dim_names=permute_shape(ys.dim_names, TO_NHWC))
        new_nodes.append(Node(spec["op"], node.name, inputs, [yn.name], spec["attrs"]))
        new_nodes.append(Node("Transpose", g.unique_name(f"{node.name}_to_nchw"), [yn.name], [y],
                              {"perm": list(TO_NCHW)}))
        converted += 1
    g.nodes = new_nodes
    return converted


def _permute_const(c: np.ndarray, perm: list[int]) -> np.ndarray:
    """c' with transpose(c', perm) == c under broadcasting against a rank-len(perm) tensor."""
    rank = len(perm)
    if c.ndim > rank:
        raise ValueError("constant of higher rank")
    c4 = c.reshape((1,) * (rank - c.ndim) + c.shape)
    return np.ascontiguousarray(c4.transpose(inverse_perm(perm)))


def _sink_once(g: Graph) -> bool:
    producers = g.producers()
    for node in g.nodes:
        if node.op not in ELEMENTWISE_UNARY | ELEMENTWISE_BINARY | {"Concat"}:
            continue
        if g.is_graph_output(node.outputs[0]):
            continue
        acts = [i for i in node.inputs if i and g.const(i) is None]
        if node.op in ELEMENTWISE_UNARY:
            acts = acts[:1]
        ts = [producers.get(i) for i in acts]
        if not ts or any(t is None or t.op != "Transpose" or t.attrs.get("perm") != TO_NCHW for t in ts):
            continue
        perm = TO_NCHW
        new_inputs = []
        ok = True
        for k, i in enumerate(node.inputs):
            if not i:
                new_inputs.append(i)
            elif i in acts and (node.op not in ELEMENTWISE_UNARY or k == 0):
                new_inputs.append(producers[i].inputs[0])
            elif node.op in ELEMENTWISE_UNARY:
                new_inputs.append(i)  # scalar parameters (Clip bounds)
            else:
                c = g.const(i)
                if c is None or c.ndim > 4:
                    ok = False
                    break
                new_inputs.append(g.add_constant(f"{i}_nhwc", _permute_const(c, perm)))
        if not ok:
            continue
        y = node.outputs[0]
        ys = g.tensor(y)
        inv = inverse_perm(perm)
        yn = g.new_tensor(f"{y}_nhwc", like=ys, shape=permute_shape(ys.shape, inv),
                          dim_names=permute_shape(ys.dim_names, inv))
        node.inputs = new_inputs
        node.outputs = [yn.name]
        if node.op == "Concat":
            axis = int(node.attrs.get("axis", 0))
            node.attrs["axis"] = int(perm[axis % 4])  # NCHW axis k is NHWC axis perm[k]
        idx = g.nodes.index(node)
        g.nodes.insert(idx + 1, Node("Transpose", g.unique_name(f"{node.name}_to_nchw"), [yn.name], [y],
                                     {"perm": list(perm)}))
        return True
    return False


def _sink_resize_once(g: Graph) -> bool:
    """Resize(Transpose(x, to NCHW)) -> Transpose(Resize'(x)): Resize' has its per-axis operands
    (roi, scales, sizes; or the axes attribute) reordered for NHWC, so a resize between NHWC
    convolutions needs no transposes. Only with constant (or absent) operands."""
    producers = g.producers()
    for node in g.nodes:
        if node.op != "Resize" or g.is_graph_output(node.outputs[0]):
            continue
        t = producers.get(node.inputs[0])
        if t is None or t.op != "Transpose" or t.attrs.get("perm") != TO_NCHW:
            continue
        operands = [(k, node.inputs[k]) for k in (1, 2, 3) if k < len(node.inputs) and node.inputs[k]]
        values = {k: g.const(i) for k, i in operands}
        if any(v is None for v in values.values()):
            continue
        new_inputs = list(node.inputs)
        if "axes" in node.attrs:  # operands follow `axes`: remap the axes, keep the values
            node.attrs["axes"] = [int(TO_NCHW[int(a) % 4]) for a in node.attrs["axes"]]
        else:
            ok = True
            for k, v in values.items():
                if v.size == 0:
                    continue
                parts = 2 if k == 1 else 1  # roi: starts then ends
                if v.ndim != 1 or v.size != 4 * parts:
                    ok = False
                    break
                pv = np.concatenate([v[4 * p:4 * p + 4][TO_NHWC] for p in range(parts)]).astype(v.dtype)
                new_inputs[k] = g.add_constant(f"{node.inputs[k]}_nhwc", pv)
            if not ok:
                continue
        y = node.outputs[0]
        ys = g.tensor(y)
        yn = g.new_tensor(f"{y}_nhwc", like=ys, shape=permute_shape(ys.shape, TO_NHWC),
                          dim_names=permute_shape(ys.dim_names, TO_NHWC))
        new_inputs[0] = t.inputs[0]
        node.inputs = new_inputs
        node.outputs = [yn.name]
        g.nodes.insert(g.nodes.index(node) + 1, Node("Transpose", g.unique_name(f"{node.name}_to_nchw"), [yn.name],
                                                     [y], {"perm": list(TO_NCHW)}))
        g.prune()
        return True
    return False


def _compose_once(g: Graph) -> bool:
    producers = g.producers()
    for node in g.nodes:
        if node.op != "Transpose":
            continue
        prev = producers.get(node.inputs[0])
        if prev is None or prev.op != "Transpose":
            continue
        p1, p2 = prev.attrs["perm"], node.attrs["perm"]
        q = [p1[k] for k in p2]
        if q == list(range(len(q))):
            if g.is_graph_output(node.outputs[0]):
                node.op, node.attrs, node.inputs = "Identity", {}, [prev.inputs[0]]
            else:
                g.replace_uses(node.outputs[0], prev.inputs[0], outputs_too=False)
                g.remove_nodes([node])
        else:
            node.inputs = [prev.inputs[0]]
            node.attrs["perm"] = q
        g.prune()
        return True
    return False


def _is_noop_reshape(shape, perm) -> bool:
    """The transpose keeps the elements' order: it moves only size-1 dims, i.e. the other axes
    (unknown sizes count as other) stay in increasing order. Comparing the sizes instead would
    take [1, 16, 16, 16] -> (0, 3, 1, 2) for a no-op."""
    if shape is None:
        return False
    kept = [p for p in perm if shape[p] != 1]
    return kept == sorted(kept)


def _flatten_fold_once(g: Graph) -> bool:
    producers, consumers = g.producers(), g.consumers()
    for node in g.nodes:
        if node.op not in ("Flatten", "Reshape"):
            continue
        t = producers.get(node.inputs[0])
        if t is None or t.op != "Transpose":
            continue
        x = t.inputs[0]
        xs = g.tensor(x).shape
        perm = t.attrs["perm"]
        flat_axis1 = node.op == "Flatten" and int(node.attrs.get("axis", 1)) == 1
        if node.op == "Reshape":
            target = g.const(node.inputs[1])
            flat_axis1 = target is not None and target.ndim == 1 and len(target) == 2 and (
                target[0] in (0, -1) or (xs is not None and xs[0] == target[0])) and target[1] != 0
            if target is not None and any(int(v) == 0 for v in target[1:]):
                continue
        if _is_noop_reshape(xs, perm) and (node.op == "Reshape" or flat_axis1):
            node.inputs[0] = x
            g.prune()
            return True
        if perm != TO_NCHW or not flat_axis1 or xs is None or any(d < 0 for d in xs[1:]):
            continue
        users = consumers.get(node.outputs[0], [])
        if g.is_graph_output(node.outputs[0]) or not users or any(
                u.op != "Dense" or u.inputs[0] != node.outputs[0] or g.const(u.inputs[1]) is None
                for u in users):
            continue
        _, h, w, c = xs
        for u in users:
            wt = g.const(u.inputs[1])
            if wt.shape[1] != h * w * c:
                break
        else:
            for u in users:
                wt = g.const(u.inputs[1])
                wp = wt.reshape(wt.shape[0], c, h, w).transpose(0, 2, 3, 1).reshape(wt.shape[0], -1)
                wn = g.add_constant(f"{u.inputs[1]}_nhwc", np.ascontiguousarray(wp))
                carry_weight_hint(g, u.inputs[1], wn, {0: 0})
                u.inputs[1] = wn
            node.inputs[0] = x
            g.tensor(node.outputs[0]).source_order_kept = False
            g.prune()
            return True
    return False


def run(g: Graph) -> int:
    lift_1d(g)
    n = convert_ops(g)
    if not n:
        return 0
    for _ in range(10 * len(g.nodes) + 10):
        if not (_compose_once(g) or _sink_once(g) or _sink_resize_once(g) or _sink_squeeze_once(g)
                or _flatten_fold_once(g)):
            break
    g.toposort()
    return n
