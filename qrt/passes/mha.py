"""``nn.MultiheadAttention`` exports rewritten into the head-split form that ``attention`` fuses.

PyTorch's ``nn.MultiheadAttention`` (and so ``nn.TransformerEncoderLayer`` / ``nn.Transformer``)
computes in sequence-first layout with one packed input projection. Both ONNX exporters
(TorchScript, opset 17, and the torch.export-based default of PyTorch >= 2.9) emit, per layer:

    p  = Dense(xs)                         xs: [L, B, E]   (Transpose(x, [1, 0, 2]) if batch_first)
    s  = Squeeze(Transpose(Unsqueeze(Reshape(p, [L, B, 3, E]), 0), [3, 1, 2, 0, 4]), 3)
    qi = Gather(s, i, axis=0)              i = 0, 1, 2: q, k, v as [L, B, E]
    ti = Reshape(Transpose(Reshape(qi, [L, B*H, D]), [1, 0, 2]), [B, H, L, D])
    ... attention on t0, t1, t2 (a scale on each of q and k^T; k^T as Transpose(t1, [0, 1, 3, 2])
        or, from torch.export, Reshape(Transpose(Reshape(t1, [B*H, L, D]), [0, 2, 1]), [B, H, D, L]),
        or with static shapes t1 = Reshape(Transpose(Transpose(Reshape(q1, [L, B*H, D]), [1, 0, 2]),
        [0, 2, 1]), [B, H, D, L]) itself)
    o  = Reshape(Transpose(MatMul(probs, t2), [2, 0, 1, 3]), [L*B, E])
    y  = Reshape(Dense(o), [L, B, E])      (then Transpose(y, [1, 0, 2]) if batch_first)

``rewrite_site`` turns one such layer into the batch-first form the attention pattern knows:
three Dense nodes (the packed weight's row blocks) on x in [B, L, E], each split into heads by
Reshape [0, 0, H, D] + Transpose [0, 2, 1, 3] (writing the same tensors t0, t1, t2), k^T as one
Transpose, and the output merged by Transpose [0, 2, 1, 3] + Reshape [0, 0, E] before the output
projection, which then writes the layer's [B, L, E] (or, sequence-first, [L, B, E] through one
Transpose). The Reshape shapes use 0 ("copy this dimension"), so the rewritten layer runs at any
batch size and length, whatever sizes the export baked into its reshapes. The caller keeps the
rewrite only when the attention pattern then fuses the layer (``attention.run``); every step
checks the perms, gather indices and the dimensions that are known, and gives up otherwise.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph, Node


def _perm(n: Node) -> list[int]:
    return [int(p) for p in n.attrs.get("perm", [])]


def _shape(g: Graph, name: str):
    return g.tensor(name).shape


def _same(a: int, b: int) -> bool:
    """Dimensions that may be equal: either unknown (-1) or equal."""
    return a == -1 or b == -1 or a == b


def _axes(g: Graph, n: Node) -> list[int] | None:
    """Unsqueeze / Squeeze axes (attribute before opset 13, input since)."""
    if "axes" in n.attrs:
        return [int(a) for a in n.attrs["axes"]]
    if len(n.inputs) > 1 and n.inputs[1]:
        c = g.const(n.inputs[1])
        return None if c is None else [int(a) for a in np.atleast_1d(c)]
    return None


class _Walk:
    def __init__(self, g: Graph):
        self.g = g
        self.producers = g.producers()
        self.consumers = g.consumers()

    def readers(self, name: str) -> list[Node]:
        """Readers other than Shape nodes (shape arithmetic of the export, dead after the rewrite)."""
        return [c for c in self.consumers.get(name, []) if c.op != "Shape"]

    def only(self, name: str, op: str) -> Node | None:
        r = self.readers(name)
        if len(r) != 1 or r[0].op != op or self.g.is_graph_output(name):
            return None
        return r[0]


def _head_split(w: _Walk, gi: Node, e: int):
    """For Gather output qi [L, B, E]: (t, H, D, nodes) with t = Reshape(Transpose(Reshape(qi,
    [L, B*H, D]), [1, 0, 2]), [B, H, L, D]), or None."""
    g = w.g
    r1 = w.only(gi.outputs[0], "Reshape")
    if r1 is None:
        return None
    s1 = _shape(g, r1.outputs[0])
    if s1 is None or len(s1) != 3 or s1[2] <= 0:
        return None
    d = s1[2]
    t = w.only(r1.outputs[0], "Transpose")
    if t is None or _perm(t) != [1, 0, 2]:
        return None
    kt = _kt_tail(w, t.outputs[0], d)  # torch.export, static shapes: k^T straight away
    if kt is not None:
        nodes, out, h = kt
        return (out, h, d, [r1, t] + nodes, "bhdl") if h * d == e else None
    r2 = w.only(t.outputs[0], "Reshape")
    if r2 is None:
        return None
    s2 = _shape(g, r2.outputs[0])
    if s2 is None or len(s2) != 4 or s2[1] <= 0 or s2[3] != d or s2[1] * d != e:
        return None
    return r2.outputs[0], s2[1], d, [r1, t, r2], "bhld"


def find_sites(g: Graph) -> list[dict]:
    """Packed-projection attention layers in the export form above (input side only)."""
    w = _Walk(g)
    sites = []
    for p in g.nodes:
        if p.op != "Dense" or len(p.inputs) < 2 or g.const(p.inputs[1]) is None:
            continue
        wt = g.const(p.inputs[1])
        if wt.ndim != 2 or wt.shape[0] % 3:
            continue
        e = wt.shape[0] // 3
        if p.attrs.get("activation", "none") != "none":
            continue
        xs = _shape(g, p.inputs[0])
        if xs is None or len(xs) != 3 or not _same(xs[2], wt.shape[1]) or g.tensor(p.inputs[0]).dtype != "f32":
            continue
        r = w.only(p.outputs[0], "Reshape")
        if r is None:
            continue
        rs = _shape(g, r.outputs[0])
        if rs is not None and (len(rs) != 4 or not _same(rs[2], 3) or not _same(rs[3], e)):
            continue
        rc = g.const(r.inputs[1])
        if rc is not None and (rc.size != 4 or int(rc[2]) != 3 or int(rc[3]) != e):
            continue
        u = w.only(r.outputs[0], "Unsqueeze")
        if u is None or _axes(g, u) != [0]:
            continue
        t = w.only(u.outputs[0], "Transpose")
        if t is None or _perm(t) != [3, 1, 2, 0, 4]:
            continue
        sq = w.only(t.outputs[0], "Squeeze")
        if sq is None or _axes(g, sq) not in ([3], [-2]):
            continue
        gathers = w.readers(sq.outputs[0])
        if len(gathers) != 3 or g.is_graph_output(sq.outputs[0]):
            continue
        by_index = {}
        for gn in gathers:
            idx = g.const(gn.inputs[1]) if gn.op == "Gather" and len(gn.inputs) > 1 else None
            if idx is None or idx.size != 1 or int(gn.attrs.get("axis", 0)) != 0:
                break
            by_index[int(idx.reshape(()))] = gn
        if sorted(by_index) != [0, 1, 2]:
            continue
        splits = [_head_split(w, by_index[i], e) for i in range(3)]
        if any(s is None for s in splits) or len({(s[1], s[2]) for s in splits}) != 1:
            continue
        if splits[0][4] != "bhld" or splits[2][4] != "bhld":
            continue
        sites.append(dict(proj=p, e=e, heads=splits[0][1], head_dim=splits[0][2],
                          qkv=[s[0] for s in splits], k_form=splits[1][4],
                          gathered=[by_index[i].outputs[0] for i in range(3)], chain=[r, u, t, sq] + gathers +
                          [n for s in splits for n in s[3]]))
    return sites


def _permuted(g: Graph, like: str, hint: str, shape) -> str:
    """A new tensor holding the values of ``like`` in another order: linked to the same source
    tensor, so that calibration observes it there (a range does not depend on the order), and
    marked as not comparable element by element (source_order_kept False)."""
    src = g.tensor(like)
    return g.new_tensor(hint, dtype="f32", shape=list(shape), source=src.source,
                        source_order_kept=False).name


def _dense(g: Graph, proj: Node, x: str, rows: slice, out: str, hint: str) -> str:
    """Dense on x with rows ``rows`` of proj's weight (and bias), writing ``out``."""
    ins = [x, g.add_constant(f"{proj.name}_{hint}_W", np.ascontiguousarray(g.const(proj.inputs[1])[rows]))]
    if len(proj.inputs) > 2 and proj.inputs[2]:
        b = g.const(proj.inputs[2])
        if b is None:
            raise ValueError("bias is not a constant")
        ins.append(g.add_constant(f"{proj.name}_{hint}_B", np.ascontiguousarray(b.reshape(-1)[rows])))
    g.nodes.append(Node("Dense", g.unique_name(f"{proj.name}_{hint}"), ins, [out], {"activation": "none"}))
    return out


def _transpose(g: Graph, x: str, perm: list[int], out: str | None, hint: str, shape) -> str:
    if out is None:
        out = g.new_tensor(hint, dtype="f32", shape=shape).name
    g.nodes.append(Node("Transpose", g.unique_name(hint), [x], [out], {"perm": perm}))
    return out


def _reshape(g: Graph, x: str, dims: list[int], hint: str, shape, out: str | None = None) -> str:
    if out is None:
        out = g.new_tensor(hint, dtype="f32", shape=shape).name
    c = g.add_constant(f"{out}_shape", np.asarray(dims, dtype=np.int64))
    g.nodes.append(Node("Reshape", g.unique_name(hint or out), [x, c], [out], {"allowzero": 0}))
    return out


def _kt_tail(w: _Walk, bhld: str, d: int):
    """Reshape(Transpose(x, [0, 2, 1]), [B, H, D, L]) for x = ``bhld`` [B*H, L, D]: (nodes,
    output, H) or None."""
    t = w.only(bhld, "Transpose")
    if t is None or _perm(t) != [0, 2, 1]:
        return None
    r = w.only(t.outputs[0], "Reshape")
    s = None if r is None else _shape(w.g, r.outputs[0])
    if s is None or len(s) != 4 or s[1] <= 0 or s[2] != d:
        return None
    return [t, r], r.outputs[0], s[1]


def _kt_merged(w: _Walk, t1: str, h: int, d: int):
    """torch.export's k^T: Reshape(Transpose(Reshape(t1, [B*H, L, D]), [0, 2, 1]), [B, H, D, L])
    -> (nodes, output) or None."""
    r1 = w.only(t1, "Reshape")
    s1 = None if r1 is None else _shape(w.g, r1.outputs[0])
    if s1 is None or len(s1) != 3 or s1[2] != d:
        return None
    tail = _kt_tail(w, r1.outputs[0], d)
    if tail is None or tail[2] != h:
        return None
    return [r1] + tail[0], tail[1]


def _output_side(w: _Walk, t2: str, e: int):
    """From the value heads t2: (pv MatMul, [Transpose, Reshape, Dense, Reshape(, Transpose)],
    final tensor, batch_first) or None."""
    g = w.g
    readers = w.readers(t2)
    if len(readers) != 1 or readers[0].op != "MatMul" or readers[0].inputs[1] != t2:
        return None
    pv = readers[0]
    tr = w.only(pv.outputs[0], "Transpose")
    if tr is None or _perm(tr) != [2, 0, 1, 3]:
        return None
    r1 = w.only(tr.outputs[0], "Reshape")
    if r1 is None:
        return None
    s1 = _shape(g, r1.outputs[0])
    if s1 is None or len(s1) != 2 or not _same(s1[1], e):
        return None
    o = w.only(r1.outputs[0], "Dense")
    if o is None or g.const(o.inputs[1]) is None or g.const(o.inputs[1]).shape[1] != e:
        return None
    if len(o.inputs) > 2 and o.inputs[2] and g.const(o.inputs[2]) is None:
        return None
    r2 = w.only(o.outputs[0], "Reshape")
    if r2 is None:
        return None
    s2 = _shape(g, r2.outputs[0])
    n_out = g.const(o.inputs[1]).shape[0]
    if s2 is None or len(s2) != 3 or not _same(s2[2], n_out):
        return None
    nodes = [tr, r1, o, r2]
    back = w.only(r2.outputs[0], "Transpose")
    if back is not None and _perm(back) == [1, 0, 2]:
        return pv, nodes + [back], back.outputs[0], True
    return pv, nodes, r2.outputs[0], False


def rewrite_site(g: Graph, site: dict) -> bool:
    """Rewrites one site (see the module docstring); False (graph untouched) when the output
    side, the k^T form or the input does not match. The replaced nodes are removed, what only
    fed them is left for ``g.prune()``; the caller restores the graph if the layer then does not
    fuse."""
    w = _Walk(g)
    h, d, e = site["heads"], site["head_dim"], site["e"]
    t0, t1, t2 = site["qkv"]
    out = _output_side(w, t2, e)
    if out is None:
        return False
    pv, out_nodes, final, batch_first = out
    kt_merged = None  # k^T's own nodes when torch.export merged the heads for it
    if site["k_form"] == "bhld":  # k^T is made from t1 [B, H, L, D]
        kt_readers = w.readers(t1)
        if len(kt_readers) != 1:
            return False
        if kt_readers[0].op == "Transpose":
            if _perm(kt_readers[0]) != [0, 1, 3, 2]:
                return False
        else:
            kt_merged = _kt_merged(w, t1, h, d)
            if kt_merged is None:
                return False
    proj = site["proj"]
    tr, r1, o, r2 = out_nodes[:4]
    r1_out = r1.outputs[0]
    xs = proj.inputs[0]
    shp = _shape(g, xs)  # [L, B, E] (find_sites checked the rank)
    pre = w.producers.get(xs)
    batch_first_in = pre is not None and pre.op == "Transpose" and _perm(pre) == [1, 0, 2]
    if batch_first_in:
        xb = _shape(g, pre.inputs[0])
        if xb is None or len(xb) != 3 or g.tensor(pre.inputs[0]).dtype != "f32":
            return False
    # The replaced producers go first, so the new nodes are the only writers of t0..t2 / k^T /
    # the layer's output and the output projection keeps its name (exclusions refer to it).
    replaced = site["chain"] + out_nodes + (kt_merged[0] if kt_merged is not None else [])
    ids = {id(n) for n in replaced}
    g.nodes = [n for n in g.nodes if id(n) not in ids]
    if batch_first_in:
        x = pre.inputs[0]  # batch_first: the layer's own input
    else:
        x = _transpose(g, xs, [1, 0, 2], _permuted(g, xs, f"{proj.name}_bf", [shp[1], shp[0], shp[2]]),
                       f"{proj.name}_bf", None)
    xb = _shape(g, x)
    b, l = xb[0], xb[1]
    for i, (t, hint) in enumerate(zip((t0, t1, t2), ("q", "k", "v"))):
        gathered = site["gathered"][i]
        y = _dense(g, proj, x, slice(i * e, (i + 1) * e), _permuted(g, gathered, f"{proj.name}_{hint}", [b, l, e]), hint)
        y4 = _reshape(g, y, [0, 0, h, d], "", None, _permuted(g, gathered, f"{proj.name}_{hint}_heads", [b, l, h, d]))
        perm = [0, 2, 3, 1] if hint == "k" and site["k_form"] == "bhdl" else [0, 2, 1, 3]
        _transpose(g, y4, perm, t, f"{proj.name}_{hint}_heads_t", None)
    if kt_merged is not None:
        _transpose(g, t1, [0, 1, 3, 2], kt_merged[1], f"{proj.name}_kt", None)
    # Output: [B, H, L, D] -> [B, L, H, D] -> [B, L, E] -> projection.
    m = _transpose(g, pv.outputs[0], [0, 2, 1, 3], _permuted(g, tr.outputs[0], f"{o.name}_blhd", [b, l, h, d]),
                   f"{o.name}_blhd", None)
    z = _reshape(g, m, [0, 0, e], f"{o.name}_merged", None, _permuted(g, r1_out, f"{o.name}_merged", [b, l, e]))
    n_out = g.const(o.inputs[1]).shape[0]
    if batch_first:
        g.nodes.append(Node("Dense", o.name, [z] + o.inputs[1:], [final], dict(o.attrs)))
    else:
        yb = _permuted(g, r2.outputs[0], f"{o.name}_bf", [b, l, n_out])
        g.nodes.append(Node("Dense", o.name, [z] + o.inputs[1:], [yb], dict(o.attrs)))
        _transpose(g, yb, [1, 0, 2], final, f"{o.name}_sf", None)
    g.toposort()
    return True
