"""Assign dtypes and quantization parameters to a converted graph, for every mode.

Static int8 (``quantize_static``), in four steps:
1. Decide per node (in execution order): compute ops with constant weights are int8; ops with
   role ``same_params``/``concat``/``binary`` are int8 when their activation inputs already are
   u8; excluded nodes and everything else stay f32 (with the reason recorded).
2. Tie tensors that must share parameters (input and output of ``same_params`` ops, all
   tensors around a Concat) with a union-find; a group's range is the union of its members'.
3. Ranges come from QDQ parameters already in the model, else from calibration (observed on
   the float ONNX model through ``Tensor.source``).
4. Rewrite: u8 tensors get their params, weights become s8 per channel, biases s32; a
   QuantizeLinear goes in front of every int8 node whose input is f32 and a DequantizeLinear
   behind every u8 tensor that a float node (or the graph output) reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qrt.ir import Graph, Node, QuantParams
from qrt.ir.errors import invalid_argument, unsupported
from qrt.quantize import capabilities
from qrt.quantize import params as P
from qrt.quantize.report import NodeReport
from qrt.quantize.scheme import ONNX_ALIASES, STATIC_FLOAT_OUTPUT, static_role


@dataclass
class Options:
    mode: str = "int8"
    per_channel: bool = True
    weight_bits: int = 8  # 8: s8 weights in [-127, 127]; 7: in [-64, 64]
    exclude: list[str] = field(default_factory=list)
    allow_float_fallback: bool = False

    @property
    def weight_qmax(self) -> int:
        return 64 if self.weight_bits == 7 else 127


def _weight(g: Graph, node: Node) -> np.ndarray | None:
    return g.const(node.inputs[1]) if len(node.inputs) > 1 else None


def _bias_name(node: Node) -> str:
    return node.inputs[2] if len(node.inputs) > 2 else ""


def excluded_matcher(g: Graph, exclude: list[str]):
    names = {n.name for n in g.nodes}
    ops = {n.op for n in g.nodes}
    unknown = [e for e in exclude if e not in names and e not in ops and ONNX_ALIASES.get(e) not in ops]
    if unknown:
        raise invalid_argument(
            f"exclude entries {unknown} match no node name or op type of the converted graph "
            "(fused nodes take the name of the first node; see the conversion report)")
    ex = set(exclude)
    ex_ops = {ONNX_ALIASES.get(e, e) for e in exclude}
    return lambda n: n.name in ex or n.op in ex_ops


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, a: str) -> str:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _act_inputs(g: Graph, node: Node, role: str | None) -> list[str]:
    """The activation inputs that run in u8 for this role (shape/axes operands stay as they are)."""
    if role in ("compute", "compute_f32", "same_params"):
        return [node.inputs[0]] if node.inputs and g.const(node.inputs[0]) is None else []
    return [i for i in node.inputs if i and g.const(i) is None]


def _unsupported_fallback(problems: list[tuple[Node, str]], opts: Options) -> None:
    if problems and not opts.allow_float_fallback:
        lines = "\n".join(f"  {n.describe()}: {why}" for n, why in problems)
        raise unsupported(f"{len(problems)} node(s) cannot run in {opts.mode} "
                          f"(pass allow_float_fallback=True to keep them in float):\n{lines}")
    for n, why in problems:
        n.float_reason = f"{why}; kept in float (allow_float_fallback)"


def plan_static(g: Graph, opts: Options) -> dict[str, str]:
    """{node name: role} for the nodes that will run in int8; sets float_reason on the rest.

    With ``scheme.STATIC_FLOAT_OUTPUT``, a Conv2d/Dense whose u8 output would only be
    dequantized again (every reader is a float op, possibly through u8 Reshape/Transpose
    chains that also end in float ops) gets role ``compute_f32``: u8 input with calibrated
    parameters, s8 weights, f32 bias and f32 output (the GEMM's dequantizing epilogue), so no
    precision is lost to an output requantization nobody needs. Iterated to a fixed point,
    since turning one output to f32 can turn the ops behind it to float.
    """
    float_out: set[str] = set()
    while True:
        for n in g.nodes:
            n.float_reason = None
        int8 = _plan_static(g, opts, float_out)
        if not (STATIC_FLOAT_OUTPUT and capabilities.static_float_output()):
            return int8
        consumers = g.consumers()

        def feeds_int8(t: str, depth: int = 0) -> bool:
            for c in consumers.get(t, []):
                role = int8.get(c.name)
                if role is None or role == "compute_f32" and c.inputs[0] != t:
                    continue
                if role != "same_params" or depth > 50 or feeds_int8(c.outputs[0], depth + 1):
                    return True
            return False

        new = {n.name for n in g.nodes if int8.get(n.name) == "compute"
               and not feeds_int8(n.outputs[0])}
        if new <= float_out:
            return int8
        float_out |= new


def _plan_static(g: Graph, opts: Options, float_out: set[str]) -> dict[str, str]:
    is_excluded = excluded_matcher(g, opts.exclude)
    u8: set[str] = set()
    int8: dict[str, str] = {}
    problems: list[tuple[Node, str]] = []
    for node in g.nodes:
        role = static_role(node)
        acts = _act_inputs(g, node, role)
        if is_excluded(node):
            node.float_reason = "excluded by the user (exclude=...)"
            continue
        if role is None:
            node.float_reason = "no int8 kernel for this op; runs in f32"
            continue
        if role == "compute":
            w = _weight(g, node)
            if w is None:
                problems.append((node, "weight is not a constant (int8 needs prepacked weights)"))
                continue
            b = _bias_name(node)
            if b and g.const(b) is None:
                problems.append((node, "bias is not a constant"))
                continue
        elif role == "same_params":
            if not acts or acts[0] not in u8:
                node.float_reason = "input is f32 (no int8 producer in front)"
                continue
        else:  # concat, binary
            if not acts or any(a not in u8 for a in acts):
                node.float_reason = "not all inputs are u8 (a float producer in front)"
                continue
            if role == "binary":
                shapes = [g.tensor(i).shape for i in node.inputs]
                if any(s is None for s in shapes):
                    node.float_reason = "input rank unknown"
                    continue
        if role == "compute" and node.name in float_out:
            int8[node.name] = "compute_f32"
            continue
        int8[node.name] = role
        u8.update(o for o in node.outputs if o)
    _unsupported_fallback(problems, opts)
    return int8


def ranges_needed(g: Graph, int8: dict[str, str]) -> tuple[_UnionFind, list[str]]:
    """Parameter groups and the u8 tensors (activation tensors read or written in int8)."""
    uf = _UnionFind()
    tensors: list[str] = []
    for node in g.nodes:
        role = int8.get(node.name)
        if role is None:
            continue
        acts = _act_inputs(g, node, role)
        for t in acts + ([node.outputs[0]] if role != "compute_f32" else []):
            uf.find(t)
            if t not in tensors:
                tensors.append(t)
        if role in ("same_params", "concat"):
            for a in acts:
                uf.union(node.outputs[0], a)
    return uf, tensors


def group_params(g: Graph, uf: _UnionFind, tensors: list[str], ranges: dict[str, tuple[float, float]],
                 hints: dict[str, QuantParams]) -> dict[str, QuantParams]:
    """QuantParams per u8 tensor: QDQ hints win; else the union of the group's observed ranges."""
    groups: dict[str, list[str]] = {}
    for t in tensors:
        groups.setdefault(uf.find(t), []).append(t)
    # A u8 Concat's constant inputs (a ViT's class token beside the patch embeddings) are stored
    # in the group's parameters (apply_static): the group's range covers their values too.
    members_set = set(tensors)
    const_ranges: dict[str, list[tuple[float, float]]] = {}
    for n in g.nodes:
        if n.op == "Concat" and n.outputs and n.outputs[0] in members_set:
            for i in n.inputs:
                c = g.const(i) if i else None
                if c is not None and c.size:
                    const_ranges.setdefault(n.outputs[0], []).append((float(c.min()), float(c.max())))
    out: dict[str, QuantParams] = {}
    missing: list[str] = []
    for members in groups.values():
        hint = next((hints[m] for m in members if m in hints), None)
        if hint is None:
            hint = next((hints[g.tensor(m).source] for m in members
                         if g.tensor(m).source in hints), None)
        if hint is not None:
            qp = hint
        else:
            rs = [ranges[g.tensor(m).source] for m in members if g.tensor(m).source in ranges]
            rs += [r for m in members for r in const_ranges.get(m, [])]
            if not rs:
                missing.extend(members)
                continue
            qp = P.activation_params(min(r[0] for r in rs), max(r[1] for r in rs))
        for m in members:
            out[m] = qp
    if missing:
        raise invalid_argument(f"no range for tensors {missing}: give calibration data "
                               "(or a model with QuantizeLinear/DequantizeLinear on them)")
    return out


def apply_static(g: Graph, int8: dict[str, str], qparams: dict[str, QuantParams],
                 opts: Options, weight_hints: dict[str, np.ndarray]) -> None:
    """Rewrite the graph: dtypes, params, s8 weights, s32 biases, Q/DQ boundaries."""
    quantized_name: dict[str, str] = {}    # f32 tensor -> its u8 twin (made by a Q node)
    dequantized_name: dict[str, str] = {}  # u8 tensor -> its f32 twin (made by a DQ node)
    new_nodes: list[Node] = []
    u8_out: set[str] = set()
    for node in g.nodes:
        role = int8.get(node.name)
        if role is None:
            # float node: dequantize u8 inputs
            for k, i in enumerate(node.inputs):
                if i in u8_out:
                    if i not in dequantized_name:
                        t = g.tensor(i)
                        d = g.new_tensor(f"{i}_dequantized", like=t, dtype="f32", quant=None)
                        new_nodes.append(Node("DequantizeLinear", g.unique_name(f"{i}_DequantizeLinear"),
                                              [i], [d.name]))
                        dequantized_name[i] = d.name
                    node.inputs[k] = dequantized_name[i]
            new_nodes.append(node)
            continue
        acts = _act_inputs(g, node, role)
        for k, i in enumerate(node.inputs):
            if i not in acts:
                continue
            if i not in u8_out:  # f32 producer: quantize in front
                if i not in quantized_name:
                    t = g.tensor(i)
                    q = g.new_tensor(f"{i}_quantized", like=t, dtype="u8", quant=qparams[i])
                    new_nodes.append(Node("QuantizeLinear", g.unique_name(f"{i}_QuantizeLinear"), [i], [q.name]))
                    quantized_name[i] = q.name
                node.inputs[k] = quantized_name[i]
        if role in ("compute", "compute_f32"):
            _quantize_compute(g, node, qparams, opts, weight_hints, float_bias=role == "compute_f32")
            if role == "compute_f32":
                new_nodes.append(node)
                continue
        elif role == "binary":
            for k, i in enumerate(node.inputs):
                c = g.const(i)
                if c is not None:
                    qp = P.activation_params(float(c.min()), float(c.max()))
                    from qrt.ir.evaluate import quantize_u8

                    node.inputs[k] = g.add_constant(f"{i}_u8", quantize_u8(c, qp.scale, qp.zero_point), "u8")
                    g.tensor(node.inputs[k]).quant = qp
        elif role == "concat":
            for k, i in enumerate(node.inputs):
                c = g.const(i) if i else None
                if c is not None:  # in the output's parameters (group_params counted its range)
                    from qrt.ir.evaluate import quantize_u8

                    qp = qparams[node.outputs[0]]
                    node.inputs[k] = g.add_constant(f"{i}_u8", quantize_u8(c, qp.scale, qp.zero_point), "u8")
                    g.tensor(node.inputs[k]).quant = qp
        y = node.outputs[0]
        yt = g.tensor(y)
        yt.dtype, yt.quant = "u8", qparams[y]
        u8_out.add(y)
        new_nodes.append(node)
    g.nodes = new_nodes
    # graph outputs that are u8: dequantize into the original name
    for k, o in enumerate(list(g.outputs)):
        if o not in u8_out:
            continue
        t = g.tensor(o)
        qname = g.unique_name(f"{o}_quantized")
        g.tensors.pop(o)
        t.name = qname
        g.tensors[qname] = t
        for n in g.nodes:
            n.inputs = [qname if i == o else i for i in n.inputs]
            n.outputs = [qname if x == o else x for x in n.outputs]
        f = g.add_tensor(type(t)(name=o, dtype="f32", shape=t.shape, dim_names=t.dim_names, source=t.source))
        g.nodes.append(Node("DequantizeLinear", g.unique_name(f"{o}_DequantizeLinear"), [qname], [f.name]))
        if o in dequantized_name:  # float readers already had a twin: point them at the output
            g.replace_uses(dequantized_name[o], o, outputs_too=False)
    g.prune()
    g.toposort()


def _quantize_compute(g: Graph, node: Node, qparams, opts: Options, weight_hints,
                      float_bias: bool = False) -> None:
    w = g.const(node.inputs[1])
    q, wqp = P.weight_params(w, opts.per_channel, weight_hints.get(node.inputs[1]), qmax=opts.weight_qmax)
    wname = g.add_constant(f"{node.inputs[1]}_s8", q, "s8")
    g.tensor(wname).quant = wqp
    node.inputs[1] = wname
    b = _bias_name(node)
    if b and not float_bias:
        bq, bqp = P.quantize_bias(g.const(b), g.tensor(node.inputs[0]).quant.scale, wqp.scales)
        bname = g.add_constant(f"{b}_s32", bq, "s32")
        g.tensor(bname).quant = bqp
        node.inputs[2] = bname


# -- the other modes ---------------------------------------------------------------------------
def apply_weight_modes(g: Graph, opts: Options, weight_hints) -> None:
    """int8-dynamic / int8-weight (Dense only), fp16 / bf16 (Conv2d, Dense and the recurrent
    layers' W and R), fp32."""
    is_excluded = excluded_matcher(g, opts.exclude)
    problems: list[tuple[Node, str]] = []
    for node in g.nodes:
        if node.op in RECURRENT_OPS and opts.mode in ("fp16", "bf16"):
            if is_excluded(node):
                node.float_reason = "excluded by the user (exclude=...)"
            else:
                _low_precision_recurrent(g, node, opts.mode)
            continue
        if node.op not in ("Conv2d", "Dense"):
            node.float_reason = None if opts.mode in ("fp32",) else "runs in f32 in this mode"
            continue
        if is_excluded(node):
            node.float_reason = "excluded by the user (exclude=...)"
            continue
        w = g.const(node.inputs[1])
        if opts.mode == "fp32":
            continue
        if w is None:
            problems.append((node, "weight is not a constant"))
            continue
        if opts.mode in ("fp16", "bf16"):
            data = w.astype(np.float16) if opts.mode == "fp16" else P.to_bf16(w)
            node.inputs[1] = g.add_constant(f"{node.inputs[1]}_{opts.mode}", data, "f16" if opts.mode == "fp16" else "bf16")
            continue
        if node.op == "Conv2d":
            node.float_reason = f"{opts.mode} applies to Dense only (no int8 Conv2d kernel with f32 input)"
            continue
        q, wqp = P.weight_params(w, opts.per_channel, weight_hints.get(node.inputs[1]), qmax=opts.weight_qmax)
        node.inputs[1] = g.add_constant(f"{node.inputs[1]}_s8", q, "s8")
        g.tensor(node.inputs[1]).quant = wqp
        if opts.mode == "int8-weight":
            node.attrs["weight_only"] = 1
    _unsupported_fallback(problems, opts)
    g.prune()


RECURRENT_OPS = ("LSTM", "GRU", "RNN")


def _low_precision_recurrent(g: Graph, node: Node, mode: str) -> None:
    """W and R (inputs 1 and 2) of an LSTM / GRU / RNN stored as f16 / bf16; the runtime computes
    in f32 on the rounded weights (biases, states and gates stay f32). A layer whose W or R is not
    a constant, or would overflow f16, stays f32 with the reason."""
    names = node.inputs[1:3]
    ws = [g.const(n) for n in names]
    if any(w is None for w in ws):
        node.float_reason = "recurrent weights W / R are not constants"
        return
    if mode == "fp16" and any(np.abs(w).max(initial=0) > 65504 for w in ws):
        node.float_reason = "recurrent weights exceed the f16 range"
        return
    for k, (n, w) in enumerate(zip(names, ws), start=1):
        data = w.astype(np.float16) if mode == "fp16" else P.to_bf16(w)
        node.inputs[k] = g.add_constant(f"{n}_{mode}", data, "f16" if mode == "fp16" else "bf16")
    node.float_reason = None


def quantize_recurrent(g: Graph, opts: Options) -> list[str]:
    """int8 and int8-dynamic: W and R of LSTM / GRU / RNN as s8, symmetric, one scale per row of
    G·hidden (axis 1, shared by the two directions of a bidirectional layer), in [-127, 127] or
    with weight_bits=7 in [-64, 64] (the exact vpmaddubsw kernel on AVX2); the runtime
    quantizes X and each step's state to u8 per call (ops/float_rnn.cc), so the layer's inputs,
    outputs and gate arithmetic stay f32. Returns the names of the nodes changed."""
    if opts.mode not in ("int8", "int8-dynamic"):
        return []
    is_excluded = excluded_matcher(g, opts.exclude)
    done = []
    for node in g.nodes:
        if node.op not in RECURRENT_OPS:
            continue
        if is_excluded(node):
            node.float_reason = "excluded by the user (exclude=...)"
            continue
        ws = [g.const(n) for n in node.inputs[1:3]]
        if any(w is None or g.tensor(n).dtype != "f32" for w, n in zip(ws, node.inputs[1:3])):
            node.float_reason = "recurrent weights W / R are not f32 constants"
            continue
        if not all(np.all(np.isfinite(w)) for w in ws):
            node.float_reason = "recurrent weights contain NaN or Inf"
            continue
        for k, (n, w) in enumerate(zip(node.inputs[1:3], ws), start=1):
            qmax = opts.weight_qmax
            amax = np.abs(w).max(axis=(0, 2)) if w.size else np.zeros(w.shape[1], np.float32)
            scales = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
            q = np.clip(np.rint(w / scales[None, :, None]), -qmax, qmax).astype(np.int8)
            name = g.add_constant(f"{n}_s8", q, "s8")
            g.tensor(name).quant = QuantParams(scales=[float(v) for v in scales],
                                               zero_points=[0] * len(scales), axis=1)
            node.inputs[k] = name
        node.float_reason = None
        done.append(node.name)
    g.prune()
    return done


# Gather tables at least this large (elements) are stored in low precision.
EMBEDDING_MIN_ELEMENTS = 1 << 16


def quantize_embeddings(g: Graph, opts: Options) -> list[str]:
    """Store constant Gather tables (embeddings) as s8 with one symmetric scale per row in the int8
    modes, as f16 / bf16 in those modes; the Gather dequantizes the rows it reads (attribute
    ``dequantize``), so its output stays f32. Returns the names of the nodes changed.

    Why: an f32 vocabulary table is most of a transformer's file (MiniLM: 47 of 59 MB), and page
    faults on a memory-mapped file can map whole large folios, so lookups of a few rows may make
    most of the table resident."""
    if opts.mode == "fp32":
        return []
    is_excluded = excluded_matcher(g, opts.exclude)
    done = []
    for node in g.nodes:
        if node.op != "Gather" or is_excluded(node) or node.attrs.get("dequantize"):
            continue
        data = g.const(node.inputs[0])
        if data is None or g.tensor(node.inputs[0]).dtype != "f32" or data.ndim != 2:
            continue
        if data.size < EMBEDDING_MIN_ELEMENTS or int(node.attrs.get("axis", 0)) not in (0, -2):
            continue
        if not np.all(np.isfinite(data)):
            continue
        if opts.mode in ("fp16", "bf16"):
            low = data.astype(np.float16) if opts.mode == "fp16" else P.to_bf16(data)
            node.inputs[0] = g.add_constant(f"{node.inputs[0]}_{opts.mode}", low,
                                            "f16" if opts.mode == "fp16" else "bf16")
        else:
            q, qp = P.weight_params(data, per_channel=True)
            node.inputs[0] = g.add_constant(f"{node.inputs[0]}_s8", q, "s8")
            g.tensor(node.inputs[0]).quant = qp
        node.attrs["dequantize"] = 1
        node.float_reason = None
        done.append(node.name)
    g.prune()
    return done


def node_reports(g: Graph, mode: str, int8: dict[str, str] | None = None) -> list[NodeReport]:
    out = []
    for node in g.nodes:
        if node.op in ("QuantizeLinear", "DequantizeLinear", "AffineQuantize"):
            continue
        dts = {}
        roles = ("input", "weight", "recurrent_weight", "bias") if node.op in RECURRENT_OPS else ("input", "weight", "bias")
        for role, i in zip(roles, node.inputs):
            if i:
                dts[role] = g.tensor(i).dtype
        dts["output"] = g.tensor(node.outputs[0]).dtype
        if node.op == "Attention" and node.attrs.get("precision") == "bf16":
            m = "bf16"
        elif node.op == "Gather" and node.attrs.get("dequantize"):
            m = {"s8": "int8-weight", "f16": "fp16", "bf16": "bf16"}.get(dts.get("input", ""), "f32")
        elif node.op in RECURRENT_OPS and dts.get("weight") in ("f16", "bf16", "s8"):
            # s8: the layer quantizes its inputs per call whatever the mode (dynamic)
            m = {"f16": "fp16", "bf16": "bf16", "s8": "int8-dynamic"}[dts["weight"]]
        elif int8 is not None:
            m = "int8" if node.name in int8 else "f32"
        elif node.op in ("Conv2d", "Dense") and not node.float_reason and mode != "fp32":
            m = mode
        else:
            m = "f32"
        out.append(NodeReport(node.name, node.op, m, dts, node.float_reason))
    return out
