"""Recognise multi-head self-attention and replace it with one qrt ``Attention`` node.

Pattern (``torch.onnx.export`` of a BERT self-attention, opset 17, after the ``dense`` pass):

    qh = Transpose(Reshape(q, [B, S, H, D]), [0, 2, 1, 3])          q, k, v: [B, S, H*D]
    kt = Transpose(Reshape(k, [B, S, H, D]), [0, 2, 3, 1])          (or [0, 2, 1, 3] then [0, 1, 3, 2])
    vh = Transpose(Reshape(v, [B, S, H, Dv]), [0, 2, 1, 3])
    s  = MatMul(qh, kt)  [Div(s, c) | Mul(s, c) | Mul(c, s)]  [Add(s, mask) | Add(mask, s)]
         (or MatMul(qh * c1, kt * c2), as scaled_dot_product_attention exports;
          or Where(cond, -inf, s) with a constant cond, as masked_fill exports: an additive mask)
    p  = Softmax(s, axis=-1)
    y  = Reshape(Transpose(MatMul(p, vh), [0, 2, 1, 3]), [B, S, H*Dv])

becomes ``y = Attention(q, k, v[, mask]; num_heads=H, scale=1/c or c)``: the Q/K/V projections
stay Dense nodes (int8 in the int8 modes), the head split/merge transposes and the S x S score
tensors disappear. Every intermediate must be read only by the next node of the chain; H, D, Dv
must be static; the mask must be f32 of rank <= 4 whose known dims broadcast to [B, H, S, S].
The fused node keeps the name of the Q x K^T MatMul and writes the final Reshape's tensor.

``set_precision`` then gives the node ``precision="bf16"`` in the modes that already trade
precision for speed (int8, int8-dynamic, bf16), unless the user excludes it: the runtime may then
multiply bf16-rounded Q, K, V and softmax weights (exact products, fp32 sums) where the CPU has
AMX-BF16, and computes in fp32 elsewhere. The evaluator models the bf16 rounding, so the
per-layer accuracy report charges it to the node.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph, Node
from qrt.passes import mha
from qrt.passes.util import scalar_const


def _readers(name: str, consumers) -> list[Node]:
    """Consumers of ``name`` other than Shape nodes (an exporter's reshape arithmetic reads
    shapes of intermediates; it dies with the chain, which ``run`` checks)."""
    return [c for c in consumers.get(name, []) if c.op != "Shape"]


def _one_reader(g: Graph, name: str, consumers) -> Node | None:
    r = _readers(name, consumers)
    return r[0] if len(r) == 1 and not g.is_graph_output(name) else None


def _only(g: Graph, node: Node | None, op: str, consumers) -> Node | None:
    """``node`` if it is an ``op`` whose output only one node reads (besides Shape nodes)."""
    if node is None or node.op != op or len(_readers(node.outputs[0], consumers)) != 1:
        return None
    if g.is_graph_output(node.outputs[0]):
        return None
    return node


def _producer(g: Graph, name: str, producers, consumers) -> Node | None:
    """The node writing ``name`` when nothing else reads ``name``."""
    p = producers.get(name)
    return None if p is None else _only(g, p, p.op, consumers)


def _perm(n: Node) -> list[int]:
    return [int(p) for p in n.attrs.get("perm", [])]


def _split_heads(g: Graph, t: Node | None, producers, consumers, key: bool):
    """(x, H, D, nodes) for Transpose(Reshape(x, [B, S, H, D])) in the head-split layout;
    ``key``: the transposed-key forms. None when the form differs."""
    if t is None or t.op != "Transpose" or _only(g, t, "Transpose", consumers) is None:
        return None
    nodes = [t]
    perm = _perm(t)
    if key and perm == [0, 1, 3, 2]:  # [B,H,S,D] -> [B,H,D,S] after the usual split
        inner = _only(g, producers.get(t.inputs[0]), "Transpose", consumers)
        if inner is None or _perm(inner) != [0, 2, 1, 3]:
            return None
        nodes.append(inner)
        t = inner
    elif perm != ([0, 2, 3, 1] if key else [0, 2, 1, 3]):
        return None
    r = _only(g, producers.get(t.inputs[0]), "Reshape", consumers)
    if r is None:
        return None
    nodes.append(r)
    x = r.inputs[0]
    xs, rs = g.tensor(x).shape, g.tensor(r.outputs[0]).shape
    if xs is None or rs is None or len(xs) != 3 or len(rs) != 4:
        return None
    h, d = rs[2], rs[3]
    if h <= 0 or d <= 0 or (xs[2] > 0 and xs[2] != h * d):
        return None
    if xs[0] > 0 and rs[0] > 0 and xs[0] != rs[0]:
        return None
    if g.tensor(x).dtype != "f32":
        return None
    return x, h, d, nodes


def _scale(g: Graph, n: Node, s: str) -> float | None:
    """The factor of Div(s, c) / Mul(s, c) / Mul(c, s) with a scalar constant c."""
    if n.op == "Div" and n.inputs[0] == s:
        c = scalar_const(g, n.inputs[1])
        return None if c is None or c == 0 else 1.0 / c
    if n.op == "Mul":
        other = n.inputs[1] if n.inputs[0] == s else n.inputs[0]
        return scalar_const(g, other)
    return None


def _mask_ok(g: Graph, mask: str, b: int, h: int, sq: int, skv: int) -> bool:
    t = g.tensor(mask)
    if t.dtype != "f32" or t.shape is None or len(t.shape) > 4:
        return False
    full = [b, h, sq, skv][4 - len(t.shape):]
    return all(m in (1, -1) or f in (-1, m) for m, f in zip(t.shape, full))


def _where_mask(g: Graph, w: Node, producers) -> tuple[str, str, list[Node]] | None:
    """(scores, additive mask, nodes computing the mask) for Where(cond, v, scores) /
    Where(cond, scores, v) with a bool cond and a scalar v <= -1e30 (masked_fill with -inf or the
    float minimum): the same softmax as scores + where(cond, v, 0) (resp. where(cond, 0, v)). A
    constant cond gives a constant mask; a computed one (a causal mask whose size follows the
    run-time length, e.g. Trilu of the sequence length, as torch.export writes is_causal) a
    Where node that computes the mask at run time."""
    cond = g.const(w.inputs[0])
    if cond is None and g.tensor(w.inputs[0]).dtype != "bool":
        return None
    if cond is not None and cond.dtype != np.bool_:
        return None
    for k, other in ((1, 2), (2, 1)):
        v = scalar_const(g, w.inputs[k])
        p = producers.get(w.inputs[other])
        if v is None or not v <= -1e30 or p is None or p.op not in ("MatMul", "Mul", "Div"):
            continue
        if cond is not None:
            on = cond if k == 1 else ~cond
            mask = np.where(on, np.float32(v), np.float32(0)).astype(np.float32)
            return w.inputs[other], g.add_constant(f"{w.name}_additive_mask", mask), []
        ct = g.tensor(w.inputs[0])
        vals = [g.add_constant(f"{w.name}_masked", np.array(v, dtype=np.float32)),
                g.add_constant(f"{w.name}_kept", np.array(0.0, dtype=np.float32))]
        mask = g.new_tensor(f"{w.name}_additive_mask", dtype="f32", shape=ct.shape,
                            dim_names=ct.dim_names).name
        node = Node("Where", g.unique_name(f"{w.name}_additive_mask"),
                    [w.inputs[0]] + (vals if k == 1 else vals[::-1]), [mask])
        return w.inputs[other], mask, [node]
    return None


def _match(g: Graph, sm: Node, producers, consumers):
    x = sm.inputs[0]
    xs = g.tensor(x).shape
    if xs is None or len(xs) != 4 or int(sm.attrs.get("axis", -1)) not in (-1, 3):
        return None
    chain = [sm]
    # Softmax input: [Add(., mask) | Where(cond, -inf, .)] of [scaled] MatMul.
    mask, extra = "", []
    cur = _producer(g, x, producers, consumers)
    if cur is not None and cur.op == "Where":
        w = _where_mask(g, cur, producers)
        if w is None:
            return None
        s, mask, extra = w
        chain.append(cur)
        cur = _producer(g, s, producers, consumers)
    elif cur is not None and cur.op == "Add":
        a, b = cur.inputs
        pa, pb = producers.get(a), producers.get(b)
        # The scores side is the one computed from the MatMul (directly or through the scale).
        def is_scores(p):
            return p is not None and (p.op == "MatMul" or (p.op in ("Div", "Mul") and any(
                producers.get(i) is not None and producers[i].op == "MatMul" for i in p.inputs)))
        if is_scores(pa) and not is_scores(pb):
            s, mask = a, b
        elif is_scores(pb) and not is_scores(pa):
            s, mask = b, a
        else:
            return None
        chain.append(cur)
        cur = _producer(g, s, producers, consumers)
    scale = 1.0
    if cur is not None and cur.op in ("Div", "Mul"):
        mm_out = next((i for i in cur.inputs if producers.get(i) is not None
                       and producers[i].op == "MatMul"), None)
        f = _scale(g, cur, mm_out) if mm_out else None
        if f is None or not np.isfinite(f):
            return None
        scale = f
        chain.append(cur)
        cur = _only(g, producers.get(mm_out), "MatMul", consumers)
    if cur is None or cur.op != "MatMul" or len(_readers(cur.outputs[0], consumers)) != 1:
        return None
    qk = cur
    chain.append(qk)
    # A scale on each operand instead (scaled_dot_product_attention's export multiplies the
    # head-split Q and K^T by sqrt(scale) each).
    operands = []
    for inp in qk.inputs:
        p = _producer(g, inp, producers, consumers)
        if p is not None and p.op in ("Mul", "Div"):
            t = next((i for i in p.inputs if g.const(i) is None), None)
            f = _scale(g, p, t) if t else None
            if f is None or not np.isfinite(f):
                return None
            scale *= f
            chain.append(p)
            inp = t
        operands.append(inp)
    q = _split_heads(g, producers.get(operands[0]), producers, consumers, key=False)
    k = _split_heads(g, producers.get(operands[1]), producers, consumers, key=True)
    if q is None or k is None or q[1:3] != k[1:3]:
        return None
    # Softmax -> MatMul(p, vh) -> Transpose -> Reshape [B, S, H*Dv].
    pv = _one_reader(g, sm.outputs[0], consumers)
    if pv is None or pv.op != "MatMul" or pv.inputs[0] != sm.outputs[0]:
        return None
    v = _split_heads(g, producers.get(pv.inputs[1]), producers, consumers, key=False)
    if v is None or v[1] != q[1]:
        return None
    tr = _one_reader(g, pv.outputs[0], consumers)
    if tr is None or tr.op != "Transpose" or _perm(tr) != [0, 2, 1, 3]:
        return None
    rs = _one_reader(g, tr.outputs[0], consumers)
    if rs is None or rs.op != "Reshape":
        return None
    ys = g.tensor(rs.outputs[0]).shape
    h, d, dv = q[1], q[2], v[2]
    if ys is None or len(ys) != 3 or ys[2] not in (-1, h * dv):
        return None
    qs, ks = g.tensor(q[0]).shape, g.tensor(k[0]).shape
    if mask and not _mask_ok(g, mask, qs[0], h, qs[1], ks[1]):
        return None
    chain += q[3] + k[3] + v[3] + [pv, tr, rs]
    # What the chain's tensors hold, dimension by dimension, for Shape nodes that outlive them:
    # (source, axis) of the projection inputs q/k/v [B, S, H*D], or a constant.
    def dims(x, order):
        tok = {"B": (x, 0), "S": (x, 1), "H": h, "D": d if x != v[0] else dv}
        return [tok[c] for c in order]
    layouts = {}
    for x, split in ((q[0], q[3]), (k[0], k[3]), (v[0], v[3])):
        for n in split:  # Reshape [B, S, H, D], Transpose [0, 2, 1, 3], k^T's Transposes
            o = n.outputs[0]
            if n.op == "Reshape":
                layouts[o] = dims(x, "BSHD")
            elif _perm(n) in ([0, 2, 3, 1], [0, 1, 3, 2]):
                layouts[o] = dims(x, "BHDS")
            else:
                layouts[o] = dims(x, "BHSD")
    for p in chain:
        if p.op in ("Mul", "Div") and p is not chain[-1] and p.outputs[0] in (qk.inputs[0], qk.inputs[1]):
            src = next((i for i in p.inputs if i in layouts), None)
            if src is not None:
                layouts[p.outputs[0]] = layouts[src]
    return dict(q=q[0], k=k[0], v=v[0], mask=mask, heads=h, scale=scale, chain=chain, name=qk.name,
                out=rs.outputs[0], extra=extra, layouts=layouts)


def _shape_stand_ins(g: Graph, m: dict) -> tuple[list[Node], set[int]]:
    """Shape nodes reading a tensor of the fused chain that are still needed after it (e.g. a
    causal mask sized from the head-split query, as torch.export writes is_causal) are rebuilt
    from the shapes of the projections q/k/v: Concat of slices of Shape(q) and constants, which
    the runtime folds at plan time. Returns the new nodes and the ids of the Shape nodes they
    replace."""
    dead = {o for n in m["chain"] for o in n.outputs}
    new, replaced, src_shapes = [], set(), {}
    for n in g.nodes:
        if n.op != "Shape" or n.inputs[0] not in dead or n.inputs[0] not in m["layouts"]:
            continue
        toks = m["layouts"][n.inputs[0]]
        start, end = int(n.attrs.get("start", 0)), n.attrs.get("end")
        toks = toks[start:None if end is None else int(end)]
        pieces = []
        for t in toks:
            if isinstance(t, tuple):
                x, axis = t
                if x not in src_shapes:
                    src_shapes[x] = g.new_tensor(f"{x}_shape", dtype="s64", shape=[3]).name
                    new.append(Node("Shape", g.unique_name(f"{x}_shape"), [x], [src_shapes[x]]))
                piece = g.new_tensor(f"{n.name}_dim", dtype="s64", shape=[1]).name
                new.append(Node("Slice", g.unique_name(f"{n.name}_dim"),
                                [src_shapes[x], g.add_constant("dim_start", np.array([axis], np.int64)),
                                 g.add_constant("dim_end", np.array([axis + 1], np.int64))], [piece]))
                pieces.append(piece)
            else:
                pieces.append(g.add_constant(f"{n.name}_dim", np.array([int(t)], np.int64)))
        new.append(Node("Concat", n.name, pieces, [n.outputs[0]], {"axis": 0}))
        replaced.add(id(n))
    return new, replaced


def run(g: Graph) -> int:
    """Fuses every self-attention in the pattern above, first rewriting nn.MultiheadAttention's
    export form into it (``mha``; a rewrite is kept only if its layer then fuses). Returns the
    number of Attention nodes made."""
    found = 0
    for site in mha.find_sites(g):
        saved = list(g.nodes), dict(g.tensors)
        try:
            ok = mha.rewrite_site(g, site)
        except ValueError:  # a cycle (toposort) or a non-constant bias: not this form
            ok = False
        n = _fuse_all(g) if ok else 0
        if not ok or site["qkv"][0] in g.tensors:  # the layer did not fuse: undo the rewrite
            g.nodes, g.tensors = saved
            continue
        found += n
    return found + _fuse_all(g)


def _fuse_all(g: Graph) -> int:
    found = 0
    for sm in [n for n in g.nodes if n.op == "Softmax"]:
        if sm not in g.nodes:
            continue
        producers, consumers = g.producers(), g.consumers()
        m = _match(g, sm, producers, consumers)
        if m is None:
            continue
        saved_nodes, saved_tensors = list(g.nodes), dict(g.tensors)
        ins = [m["q"], m["k"], m["v"]] + ([m["mask"]] if m["mask"] else [])
        fused = Node("Attention", m["name"], ins, [m["out"]],
                     {"num_heads": int(m["heads"]), "scale": float(m["scale"])})
        # In place of the final Reshape (its inputs are all computed before it), then drop the
        # chain and whatever only fed it (the reshape-shape arithmetic).
        dead = {id(n) for n in m["chain"]}
        stand_ins, replaced = _shape_stand_ins(g, m)
        nodes = []
        for n in g.nodes:
            if id(n) in replaced:
                continue
            if n is m["chain"][-1]:
                nodes += m["extra"] + [fused]  # the run-time mask, if any, right before it
            elif id(n) not in dead:
                nodes.append(n)
        # The stand-ins read only q/k/v (computed before the chain): first, toposort places them.
        g.nodes = stand_ins + nodes
        g.prune()
        try:
            g.toposort()
        except ValueError:  # something outside the chain still reads a tensor of it
            g.nodes, g.tensors = saved_nodes, saved_tensors
            continue
        if not _valid(g):
            g.nodes, g.tensors = saved_nodes, saved_tensors
            continue
        found += 1
    if found:
        g.toposort()
    return found


# Modes whose Attention nodes get precision "bf16" (see the module docstring).
BF16_MODES = ("int8", "int8-dynamic", "bf16")


def set_precision(g: Graph, mode: str, excluded) -> int:
    """precision="bf16" on every Attention node not matched by ``excluded`` in BF16_MODES; the
    count of nodes so marked."""
    if mode not in BF16_MODES:
        return 0
    marked = 0
    for n in g.nodes:
        if n.op == "Attention" and not excluded(n):
            n.attrs["precision"] = "bf16"
            marked += 1
    return marked


def _valid(g: Graph) -> bool:
    """Every node input is a graph input, a constant or written by an earlier node."""
    ready = set(g.inputs) | {k for k, t in g.tensors.items() if t.is_constant} | {""}
    for n in g.nodes:
        if any(i not in ready for i in n.inputs):
            return False
        ready.update(n.outputs)
    return True


def _round_bf16(x: np.ndarray) -> np.ndarray:
    """x rounded to bf16 (nearest even), as float32."""
    from qrt.quantize.params import to_bf16

    bits = to_bf16(np.asarray(x, dtype=np.float32)).astype(np.uint32) << 16
    return bits.view(np.float32).reshape(np.shape(x))


def attention_reference(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None,
                        num_heads: int, scale: float, precision: str = "f32") -> np.ndarray:
    """The Attention op in numpy (float64 inside, f32 out): the evaluator's implementation.
    precision "bf16": Q, K, V and the softmax weights rounded to bf16, normalised by the sum of
    the unrounded weights (what the AMX kernel computes)."""
    bf16 = precision == "bf16"
    if bf16:
        q, k, v = _round_bf16(q), _round_bf16(k), _round_bf16(v)
    b, sq, hd = q.shape
    skv, hdv = k.shape[1], v.shape[2]
    h = num_heads
    qh = q.astype(np.float64).reshape(b, sq, h, hd // h).transpose(0, 2, 1, 3)
    kh = k.astype(np.float64).reshape(b, skv, h, hd // h).transpose(0, 2, 3, 1)
    vh = v.astype(np.float64).reshape(b, skv, h, hdv // h).transpose(0, 2, 1, 3)
    s = (qh @ kh) * scale
    if mask is not None:
        s = s + mask.astype(np.float64)
    s = np.exp(s - s.max(axis=-1, keepdims=True))
    total = s.sum(axis=-1, keepdims=True)
    if bf16:
        s = _round_bf16(s.astype(np.float32)).astype(np.float64)
    p = s / total
    return (p @ vh).transpose(0, 2, 1, 3).reshape(b, sq, hdv).astype(np.float32)


def _evaluate(self, node: Node, ins):
    mask = ins[3] if len(ins) > 3 else None
    return [attention_reference(ins[0], ins[1], ins[2], mask, int(node.attrs["num_heads"]),
                                float(node.attrs.get("scale", 1.0)),
                                str(node.attrs.get("precision", "f32")))]


def _register_evaluator() -> None:
    # The converter's numpy evaluator (qrt/ir/evaluate.py) dispatches on `_op_<op type>`; the
    # qrt Attention op has no ONNX reference implementation, so it is provided from here.
    from qrt.ir.evaluate import Evaluator

    if not hasattr(Evaluator, "_op_Attention"):
        Evaluator._op_Attention = _evaluate


_register_evaluator()
