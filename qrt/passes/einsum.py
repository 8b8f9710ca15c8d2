"""Rewrite Einsum into Transpose / Reshape / ReduceSum / MatMul.

Exporters write ``torch.einsum`` as one ONNX Einsum node; the runtime has no Einsum, but every
one- or two-operand equation without repeated letters in an operand (no diagonals) is a
batched matrix product up to axis permutations:

    letters of A and B and the output: batch (b)       letters of A and B only: contracted (k)
    letters of A and the output: A's free (m)          letters of B and the output: B's free (n)
    letters of one operand only: summed out first (ReduceSum)

A becomes [b..., m..., k...] -> [b..., M, K], B becomes [b..., k..., n...] -> [b..., K, N]
(Reshape only where a group has other than one letter), MatMul gives [b..., M, N], which is
reshaped to [b..., m..., n...] and transposed to the output's order. Without batch letters A
keeps its m letters as leading dimensions ([m..., K] x [K, N]): ``bti,io->bto`` becomes a plain
MatMul against the (constant) weight, which the dense pass then turns into a quantizable Dense.

Three or more operands become a chain of two-operand Einsums (left to right, each keeping the
letters still needed). A Reshape that merges letters needs their sizes at conversion, except
that one unknown size per Reshape is allowed (-1) and batch letters are copied (0). Equations
outside this (diagonals, broadcast size-1 letters, unknown merged sizes) are left as Einsum,
and the support check names them with the reason.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph, Node
from qrt.passes.layout import UNCONVERTED_REASON


def _parse(eq: str, ranks: list[int]) -> tuple[list[str], str] | None:
    """Operand subscripts and the output's, '...' expanded to capital letters (explicit output
    or the implicit one: letters seen once, sorted, after the ellipsis)."""
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        return None
    ell_rank = 0
    for t, r in zip(terms, ranks):
        if "..." in t:
            ell_rank = max(ell_rank, r - (len(t) - 3))
    ell = "".join(chr(ord("A") + i) for i in range(ell_rank))
    out_terms = []
    for t, r in zip(terms, ranks):
        if "..." in t:
            n = r - (len(t) - 3)
            if n < 0:
                return None
            t = t.replace("...", ell[ell_rank - n:])
        if len(t) != r or not t.isalpha():
            return None
        out_terms.append(t)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for t in out_terms:
            for ch in t:
                counts[ch] = counts.get(ch, 0) + 1
        out = ell + "".join(sorted(ch for ch, c in counts.items() if c == 1 and ch not in ell))
    if not out.isalpha() and out != "":
        return None
    return out_terms, out


class _Builder:
    def __init__(self, g: Graph, node: Node):
        self.g, self.node, self.nodes = g, node, []
        self.dtype = g.tensor(node.inputs[0]).dtype

    def emit(self, op: str, inputs: list[str], shape: list[int] | None, attrs=None, hint="") -> str:
        t = self.g.new_tensor(f"{self.node.outputs[0]}_{hint or op.lower()}", dtype=self.dtype,
                              shape=None if shape is None else list(shape))
        self.nodes.append(Node(op, self.g.unique_name(f"{self.node.name}_{hint or op}"), inputs,
                               [t.name], attrs or {}))
        return t.name

    def transpose(self, x: str, letters: str, order: str, dims: dict) -> str:
        if letters == order:
            return x
        perm = [letters.index(ch) for ch in order]
        return self.emit("Transpose", [x], [dims[ch] for ch in order], {"perm": perm})

    def reshape(self, x: str, target: list[int], shape: list[int], hint: str) -> str | None:
        """Reshape with `target` (0 copies, -1 infers); None when two sizes are unknown."""
        if sum(1 for d in target if d == -1) > 1:
            return None
        c = self.g.add_constant(f"{self.node.name}_{hint}_shape", np.asarray(target, np.int64))
        return self.emit("Reshape", [x, c], shape, hint=hint)


def _prod(ds: list[int]) -> int:
    return -1 if any(d < 0 for d in ds) else int(np.prod(ds, dtype=np.int64))


_UNKNOWN = "two or more sizes of letters it must merge are unknown at conversion"


def _rewrite(g: Graph, node: Node) -> list[Node] | str:
    """The replacement nodes, or why there are none."""
    if len(node.inputs) not in (1, 2) or any(not i for i in node.inputs):
        return f"{len(node.inputs)} operands (qrt rewrites Einsum of one or two)"
    shapes = [g.tensor(i).shape for i in node.inputs]
    if any(s is None for s in shapes):
        return "operand rank unknown at conversion"
    eq = str(node.attrs.get("equation", ""))
    parsed = _parse(eq, [len(s) for s in shapes])
    if parsed is None:
        return f"equation '{eq}' does not match the operands' ranks"
    terms, out = parsed
    if any(len(set(t)) != len(t) for t in terms) or len(set(out)) != len(out):
        return f"equation '{eq}' repeats a letter within a term (diagonals are not rewritten)"
    dims: dict[str, int] = {}
    for t, s in zip(terms, shapes):
        for ch, d in zip(t, s):
            d = int(d)
            if ch in dims and dims[ch] >= 0 and d >= 0 and dims[ch] != d:
                return f"letter '{ch}' has sizes {dims[ch]} and {d} (broadcasting is not rewritten)"
            if ch not in dims or dims[ch] < 0:
                dims[ch] = d
    if any(ch not in dims for ch in out):
        return f"equation '{eq}': an output letter is in no operand"
    b = _Builder(g, node)
    ins = list(node.inputs)
    # letters only one operand has and the output lacks: sum them out first
    for k, t in enumerate(terms):
        others = set(out).union(*[set(u) for j, u in enumerate(terms) if j != k])
        gone = [i for i, ch in enumerate(t) if ch not in others]
        if gone:
            kept = "".join(ch for ch in t if ch in others)
            axes = g.add_constant(f"{node.name}_sum{k}_axes", np.asarray(gone, np.int64))
            ins[k] = b.emit("ReduceSum", [ins[k], axes], [dims[ch] for ch in kept], {"keepdims": 0},
                            hint=f"sum{k}")
            terms[k] = kept
    if len(terms) == 1:
        y = b.transpose(ins[0], terms[0], out, dims)
        if y == ins[0]:
            y = b.emit("Identity", [y], [dims[ch] for ch in out])
        b.nodes[-1].outputs = [node.outputs[0]]
        return b.nodes
    ta, tb = terms
    batch = "".join(ch for ch in out if ch in ta and ch in tb)
    fa = "".join(ch for ch in out if ch in ta and ch not in tb)
    fb = "".join(ch for ch in out if ch in tb and ch not in ta)
    kk = "".join(ch for ch in ta if ch in tb and ch not in out)
    sizes = lambda s: [dims[ch] for ch in s]  # noqa: E731
    a = b.transpose(ins[0], ta, batch + fa + kk, dims)
    bb = b.transpose(ins[1], tb, batch + kk + fb, dims)
    # A: [batch..., M, K] (without batch letters the free letters may stay leading dims)
    M, K, N = _prod(sizes(fa)), _prod(sizes(kk)), _prod(sizes(fb))
    keep_fa = not batch and len(fa) >= 1
    if keep_fa:
        a_shape = sizes(fa) + [K]
        if len(kk) != 1:
            a = b.reshape(a, [0] * len(fa) + [K if K >= 0 else -1], a_shape, "a2d")
    else:
        a_shape = sizes(batch) + [M, K]
        if len(fa) != 1 or len(kk) != 1:
            a = b.reshape(a, [0] * len(batch) + [M, K], a_shape, "a3d")
    if a is None:
        return _UNKNOWN
    b_shape = sizes(batch) + [K, N]
    if len(kk) != 1 or len(fb) != 1:
        bb = b.reshape(bb, [0] * len(batch) + [K, N], b_shape, "b3d")
    if bb is None:
        return _UNKNOWN
    mm_shape = (sizes(fa) if keep_fa else sizes(batch) + [M]) + [N]
    y = b.emit("MatMul", [a, bb], mm_shape)
    full = batch + fa + fb
    if (keep_fa and len(fb) != 1) or (not keep_fa and (len(fa) != 1 or len(fb) != 1)):
        lead = len(fa) if keep_fa else len(batch)
        target = [0] * lead + [d if d >= 0 else -1 for d in sizes(full[lead:])]
        y = b.reshape(y, target, sizes(full), "unmerge")
        if y is None:
            return _UNKNOWN
    y = b.transpose(y, full, out, dims)
    if not b.nodes or b.nodes[-1].outputs[0] != y:
        y = b.emit("Identity", [y], sizes(out))
    b.nodes[-1].outputs = [node.outputs[0]]
    return b.nodes


def _chain(g: Graph, node: Node) -> list[Node]:
    """Einsum of three or more operands as a chain of two-operand Einsums, left to right, each
    keeping the letters that a later operand or the output still needs."""
    shapes = [g.tensor(i).shape if i else None for i in node.inputs]
    if len(node.inputs) <= 2 or any(s is None for s in shapes):
        return [node]
    parsed = _parse(str(node.attrs.get("equation", "")), [len(s) for s in shapes])
    if parsed is None:
        return [node]
    terms, out = parsed
    dims = {ch: int(d) for t, sh in zip(terms, shapes) for ch, d in zip(t, sh)}
    nodes, cur, x = [], terms[0], node.inputs[0]
    for k in range(1, len(terms)):
        last = k == len(terms) - 1
        if last:
            inter, y = out, node.outputs[0]
        else:
            need = set(out).union(*[set(t) for t in terms[k + 1:]])
            inter = "".join(dict.fromkeys(ch for ch in cur + terms[k] if ch in need))
            y = g.new_tensor(f"{node.outputs[0]}_chain{k}", dtype=g.tensor(x).dtype,
                             shape=[dims.get(ch, -1) for ch in inter]).name
        nodes.append(Node("Einsum", g.unique_name(f"{node.name}_chain{k}"), [x, node.inputs[k]], [y],
                          {"equation": f"{cur},{terms[k]}->{inter}"}))
        cur, x = inter, y
    return nodes


def run(g: Graph) -> int:
    """Rewrites every Einsum it can; returns how many."""
    done = 0
    out: list[Node] = []
    g.nodes = [m for n in g.nodes for m in (_chain(g, n) if n.op == "Einsum" else [n])]
    for node in g.nodes:
        if node.op == "Einsum":
            new = _rewrite(g, node)
            if not isinstance(new, str):
                out.extend(new)
                done += 1
                continue
            reasons = getattr(g, UNCONVERTED_REASON, None)
            if reasons is None:
                reasons = {}
                setattr(g, UNCONVERTED_REASON, reasons)
            reasons[node.name] = new
        out.append(node)
    if done:
        g.nodes = out
        g.prune()
    return done
