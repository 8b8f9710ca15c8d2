"""A numpy interpreter for converter graphs: the converter's own oracle.

It runs an IR ``Graph`` (before or after quantization) with the semantics of
docs/ARCHITECTURE.md: qrt ops (NHWC Conv2d, Dense, pools, QuantizeLinear/DequantizeLinear with
the tensor records' parameters, u8 Add/Mul) are written out here, ONNX-semantics ops run through
``onnx.reference``. The integer paths follow the arithmetic of cpp/src/kernels/gemm_u8s8.h and
quantize_u8.h (integer accumulation, float32 requantization, round half to even), so the
converter can measure a quantized model before (and independently of) the C++ runtime; it is a
test and debugging tool, not fast.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import Graph, Node
from qrt.ir.tensor import numpy_dtype

F32 = np.float32


def _bf16_to_f32(a: np.ndarray) -> np.ndarray:
    return (a.astype(np.uint32) << 16).view(np.float32)


def constant_as_f32(g: Graph, name: str) -> np.ndarray:
    """A float view of a (possibly f16 / bf16 / quantized) constant."""
    t = g.tensor(name)
    if t.dtype == "bf16":
        return _bf16_to_f32(t.data)
    if t.quant is not None:
        return dequantize(t.data, t.quant)
    return t.data.astype(F32)


def dequantize(q: np.ndarray, qp) -> np.ndarray:
    scales = np.asarray(qp.scales, F32)
    zps = np.asarray(qp.zero_points, np.int64)
    if qp.axis >= 0:
        shape = [1] * q.ndim
        shape[qp.axis] = -1
        scales, zps = scales.reshape(shape), zps.reshape(shape)
    return ((q.astype(np.int64) - zps).astype(F32) * scales).astype(F32)


def quantize_u8(x: np.ndarray, scale: float, zp: int) -> np.ndarray:
    """quantize_u8.h: v = x / scale; clamp to [-zp, 255 - zp]; q = zp + nearbyint(v)."""
    v = x.astype(F32) / F32(scale)
    v = np.minimum(np.maximum(v, F32(-zp)), F32(255 - zp))
    return (zp + np.rint(v)).astype(np.uint8)


def choose_u8_params(lo: float, hi: float) -> tuple[float, int]:
    """quantize_u8.h choose_params, in float32 like the runtime."""
    lo, hi = F32(min(0.0, lo)), F32(max(0.0, hi))
    scale = F32((hi - lo) / F32(255)) if hi != lo else F32(1.0)
    zp = int(np.clip(np.rint(-lo / scale), 0, 255))
    return float(scale), zp


def _requant(acc: np.ndarray, mult: np.ndarray, out_zp: int, qmin: int, qmax: int) -> np.ndarray:
    r = acc.astype(F32) * mult.astype(F32)
    r = np.minimum(np.maximum(r, F32(qmin - out_zp)), F32(qmax - out_zp))
    return (out_zp + np.rint(r)).astype(np.uint8)


def _act_bounds_f32(node: Node):
    a = node.attrs.get("activation", "none")
    if a == "relu":
        return 0.0, None
    if a == "relu6":
        return 0.0, 6.0
    if a == "clip":
        return node.attrs["clip_min"], node.attrs["clip_max"]
    return None, None


def _act_bounds_u8(node: Node, scale: float, zp: int) -> tuple[int, int]:
    """As the runtime's activation_u8_range: nearbyint(double(bound) / scale) + zp, clamped."""
    lo, hi = _act_bounds_f32(node)
    qmin = 0 if lo is None else int(np.clip(np.rint(float(F32(lo)) / float(F32(scale))) + zp, 0, 255))
    qmax = 255 if hi is None else int(np.clip(np.rint(float(F32(hi)) / float(F32(scale))) + zp, 0, 255))
    return min(qmin, qmax), qmax


def _apply_act_f32(y: np.ndarray, node: Node) -> np.ndarray:
    lo, hi = _act_bounds_f32(node)
    if lo is not None:
        y = np.maximum(y, F32(lo))
    if hi is not None:
        y = np.minimum(y, F32(hi))
    return y


def _patches(x: np.ndarray, kernel, strides, pads, dil, pad_value) -> np.ndarray:
    """NHWC x -> [N, OH, OW, KH, KW, C] windows (padding filled with pad_value)."""
    pt, pl, pb, pr = pads
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=pad_value)
    n, h, w, c = xp.shape
    kh, kw = kernel
    oh = (h - (kh - 1) * dil[0] - 1) // strides[0] + 1
    ow = (w - (kw - 1) * dil[1] - 1) // strides[1] + 1
    out = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, :, i, j, :] = xp[:, i * dil[0]: i * dil[0] + strides[0] * (oh - 1) + 1: strides[0],
                                       j * dil[1]: j * dil[1] + strides[1] * (ow - 1) + 1: strides[1], :]
    return out


def _grouped_gemm(p: np.ndarray, w: np.ndarray, group: int) -> np.ndarray:
    """p [N,OH,OW,KH,KW,C], w [O,KH,KW,C/g] -> [N,OH,OW,O] in float64 (exact for int inputs)."""
    o = w.shape[0]
    cg = w.shape[3]
    og = o // group
    outs = []
    for gi in range(group):
        pg = p[..., gi * cg:(gi + 1) * cg].reshape(p.shape[:3] + (-1,)).astype(np.float64)
        wg = w[gi * og:(gi + 1) * og].reshape(og, -1).astype(np.float64)
        outs.append(pg @ wg.T)
    return np.concatenate(outs, axis=-1)


class Evaluator:
    def __init__(self, g: Graph) -> None:
        self.g = g
        self._cache: dict = {}

    def run(self, feeds: dict[str, np.ndarray], keep_all: bool = False) -> dict[str, np.ndarray]:
        g = self.g
        env: dict[str, np.ndarray] = {}
        for k, v in feeds.items():
            env[k] = np.asarray(v)
        for node in g.nodes:
            ins = [None if not i else (env[i] if i in env else g.tensor(i).data) for i in node.inputs]
            fn = getattr(self, f"_op_{node.op}", None)
            try:
                outs = fn(node, ins) if fn is not None else self._onnx(node, ins)
            except Exception as e:  # name the node: this is a debugging tool
                raise RuntimeError(f"evaluating {node.describe()}: {e}") from e
            for name, v in zip(node.outputs, outs):
                if name:
                    env[name] = v
        if keep_all:
            return env
        return {o: env[o] for o in g.outputs}

    # ONNX-semantics ops ---------------------------------------------------------------------
    def _onnx(self, node: Node, ins):
        from qrt.passes.fold_constants import evaluate_node

        ins = [self._as_float(node.inputs[k], x) for k, x in enumerate(ins)]
        return evaluate_node(node, ins, self._cache)

    def _as_float(self, name: str, x):
        if x is None or not name:
            return x
        t = self.g.tensor(name)
        if t.dtype == "bf16" and t.data is not None:
            return _bf16_to_f32(x)
        if t.dtype == "f16" and t.data is not None:
            return x.astype(F32)
        return x

    def _qp(self, name: str):
        return self.g.tensor(name).quant

    # quantization boundaries ----------------------------------------------------------------
    def _op_QuantizeLinear(self, node: Node, ins):
        qp = self._qp(node.outputs[0])
        return [quantize_u8(ins[0], qp.scale, qp.zero_point)]

    def _op_AffineQuantize(self, node: Node, ins):
        # QuantizeLinear((act(x) - shift) * mul) in float32, one rounding per step (the fused chain
        # Gelu -> Sub -> Mul -> QuantizeLinear; absent steps skipped)
        u = ins[0].astype(F32)
        act = node.attrs.get("activation", "none")
        if act != "none":
            gelu = Node("Gelu", node.name, node.inputs[:1], node.outputs,
                        {"approximate": "tanh" if act == "gelu_tanh" else "none"})
            u = self._op_Gelu(gelu, [u])[0]
        if len(ins) > 1 and ins[1] is not None:
            u = (u - ins[1].astype(F32)).astype(F32)
        if len(ins) > 2 and ins[2] is not None:
            u = (u * ins[2].astype(F32)).astype(F32)
        qp = self._qp(node.outputs[0])
        return [quantize_u8(u, qp.scale, qp.zero_point)]

    def _op_DequantizeLinear(self, node: Node, ins):
        return [dequantize(ins[0], self._qp(node.inputs[0]))]

    def _op_Gather(self, node: Node, ins):
        if not node.attrs.get("dequantize"):
            return self._onnx(node, ins)
        # dequantize = 1: the rows are read, then widened / dequantized (x = (q - zp) * scale)
        axis = int(node.attrs.get("axis", 0))
        idx = np.asarray(ins[1]).astype(np.int64)
        t = self.g.tensor(node.inputs[0])
        table = constant_as_f32(self.g, node.inputs[0]) if t.is_constant else (
            dequantize(ins[0], t.quant) if t.quant is not None else
            _bf16_to_f32(ins[0]) if t.dtype == "bf16" else ins[0].astype(F32))
        return [np.take(table, idx, axis=axis).astype(F32)]

    # qrt compute ops -------------------------------------------------------------------------
    def _op_Conv2d(self, node: Node, ins):
        x, w = ins[0], ins[1]
        a = node.attrs
        quant = self.g.tensor(node.inputs[0]).dtype == "u8"
        xqp = self._qp(node.inputs[0]) if quant else None
        p = _patches(x, w.shape[1:3], a["strides"], a["pads"], a["dilations"],
                     xqp.zero_point if quant else 0)
        if quant:
            return [self._int8_epilogue(node, _grouped_gemm(p, w, a["group"]),
                                        p.reshape(p.shape[:3] + (-1,)), w, a["group"])]
        wf = constant_as_f32(self.g, node.inputs[1]) if node.inputs[1] in self.g.tensors and \
            self.g.tensor(node.inputs[1]).is_constant else w
        y = _grouped_gemm(p, wf, a["group"]).astype(F32)
        if len(ins) > 2 and ins[2] is not None:
            y = y + ins[2].astype(F32)
        return [_apply_act_f32(y.astype(F32), node)]

    def _int8_epilogue(self, node: Node, acc_raw: np.ndarray, pflat, w, group):
        """acc_raw = sum x_q * w_q; subtract x_zp * colsum (per group), add bias, requantize."""
        g = self.g
        xqp, wqp, yqp = self._qp(node.inputs[0]), self._qp(node.inputs[1]), self._qp(node.outputs[0])
        colsum = w.reshape(w.shape[0], -1).astype(np.int64).sum(axis=1)
        acc = acc_raw.astype(np.int64) - xqp.zero_point * colsum
        if yqp is None:  # f32 output: kDequantF32, C = (float)acc * (x_s * w_s[n]) + bias_f32[n]
            y = acc.astype(F32) * (F32(xqp.scale) * np.asarray(wqp.scales, F32))
            if len(node.inputs) > 2 and node.inputs[2]:
                y = y + g.tensor(node.inputs[2]).data.astype(F32)
            return _apply_act_f32(y.astype(F32), node)
        if len(node.inputs) > 2 and node.inputs[2]:
            acc = acc + g.tensor(node.inputs[2]).data.astype(np.int64)
        # the runtime: float(double(x_scale) * w_scale[n] / y_scale)
        mult = (float(F32(xqp.scale)) * np.asarray(wqp.scales, F32).astype(np.float64)
                / float(F32(yqp.scale))).astype(F32)
        qmin, qmax = _act_bounds_u8(node, yqp.scale, yqp.zero_point)
        return _requant(acc, mult, yqp.zero_point, qmin, qmax)

    def _op_Dense(self, node: Node, ins):
        g = self.g
        x, w = ins[0], ins[1]
        xt, wt = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
        b = ins[2] if len(ins) > 2 else None
        if xt.dtype == "u8":  # static int8
            acc = x.reshape(-1, x.shape[-1]).astype(np.float64) @ w.astype(np.float64).T
            y = self._int8_epilogue(node, acc, None, w, 1)
            return [y.reshape(x.shape[:-1] + (w.shape[0],))]
        if wt.dtype == "s8" and not node.attrs.get("weight_only", 0):  # int8-dynamic
            xf = x.reshape(-1, x.shape[-1]).astype(F32)
            lo, hi = float(xf.min(initial=0.0)), float(xf.max(initial=0.0))
            s, zp = choose_u8_params(lo, hi)
            xq = quantize_u8(xf, s, zp)
            acc = xq.astype(np.float64) @ w.astype(np.float64).T
            acc = acc - zp * w.astype(np.int64).sum(axis=1)
            y = acc.astype(F32) * (F32(s) * np.asarray(wt.quant.scales, F32))
            if b is not None:
                y = y + b.astype(F32)
            y = _apply_act_f32(y.astype(F32), node)
            return [y.reshape(x.shape[:-1] + (w.shape[0],))]
        wf = constant_as_f32(g, node.inputs[1]) if wt.is_constant else w
        y = np.matmul(x.astype(F32), wf.T)
        if b is not None:
            y = y + b.astype(F32)
        return [_apply_act_f32(y.astype(F32), node)]

    def _recurrent(self, node: Node, ins):
        wt, rt = self.g.tensor(node.inputs[1]), self.g.tensor(node.inputs[2])
        if wt.dtype != "s8":
            return self._onnx(node, ins)
        from qrt.ir import evaluate_recurrent

        gh = int(ins[1].shape[1])
        scales = [np.broadcast_to(np.asarray(t.quant.scales, F32), (gh,)) for t in (wt, rt)]
        outs = evaluate_recurrent.run(node.op, node.attrs, ins, scales[0], scales[1])
        return outs[: len(node.outputs)]

    _op_LSTM = _op_GRU = _op_RNN = _recurrent

    def _op_MaxPool2d(self, node: Node, ins):
        x = ins[0]
        fill = np.iinfo(np.uint8).min if x.dtype == np.uint8 else -np.inf
        p = _patches(x, node.attrs["kernel"], node.attrs["strides"], node.attrs["pads"], [1, 1], fill)
        return [p.max(axis=(3, 4)).astype(x.dtype)]

    def _op_AvgPool2d(self, node: Node, ins):
        x = ins[0]
        a = node.attrs
        quant = x.dtype == np.uint8
        zp = self._qp(node.inputs[0]).zero_point if quant else 0
        p = _patches(x.astype(np.float64) - zp, a["kernel"], a["strides"], a["pads"], [1, 1], 0.0)
        ones = _patches(np.ones(x.shape[:3] + (1,)), a["kernel"], a["strides"], a["pads"], [1, 1], 0.0)
        count = (np.full_like(ones, 1.0).sum(axis=(3, 4)) if a.get("count_include_pad", 0)
                 else ones.sum(axis=(3, 4)))
        mean = p.sum(axis=(3, 4)) / count
        if quant:
            return [np.clip(np.rint(mean) + zp, 0, 255).astype(np.uint8)]
        return [mean.astype(F32)]

    def _op_GlobalAvgPool2d(self, node: Node, ins):
        x = ins[0]
        if x.dtype == np.uint8:
            zp = self._qp(node.inputs[0]).zero_point
            m = (x.astype(np.float64) - zp).mean(axis=(1, 2), keepdims=True)
            return [np.clip(np.rint(m) + zp, 0, 255).astype(np.uint8)]
        return [x.mean(axis=(1, 2), keepdims=True, dtype=np.float64).astype(F32)]

    def _binary_u8(self, node: Node, ins, fn):
        g = self.g
        vals = []
        for name, x in zip(node.inputs, ins):
            t = g.tensor(name)
            vals.append(dequantize(x, t.quant) if t.dtype == "u8" else x.astype(F32))
        if g.tensor(node.outputs[0]).dtype != "u8":
            return [fn(*vals).astype(F32)]
        qp = self._qp(node.outputs[0])
        if node.attrs.get("activation", "none") == "none":
            return [quantize_u8(fn(*vals), qp.scale, qp.zero_point)]
        lo, hi = _act_bounds_u8(node, qp.scale, qp.zero_point)  # a fused Relu / Clip
        v = fn(*vals).astype(F32) / F32(qp.scale)
        v = np.minimum(np.maximum(v, F32(lo - qp.zero_point)), F32(hi - qp.zero_point))
        return [(qp.zero_point + np.rint(v)).astype(np.uint8)]

    def _op_Add(self, node: Node, ins):
        if any(self.g.tensor(i).dtype == "u8" for i in node.inputs):
            return self._binary_u8(node, ins, np.add)
        return self._onnx(node, ins)

    def _op_Mul(self, node: Node, ins):
        if any(self.g.tensor(i).dtype == "u8" for i in node.inputs):
            return self._binary_u8(node, ins, np.multiply)
        return self._onnx(node, ins)

    def _op_Relu(self, node: Node, ins):
        # u8 Relu (quant_ops.cc QReluOp): real max(x, 0) -- q = max(q, zp) with equal input and
        # output parameters, else requantized; onnx.reference's max(q, 0) would be a no-op.
        t, y = self.g.tensor(node.inputs[0]), self.g.tensor(node.outputs[0])
        if t.dtype != "u8" or t.quant is None:
            return self._onnx(node, ins)
        qi, qo = t.quant, y.quant if y.quant is not None else t.quant
        zi, zo = int(qi.zero_point), int(qo.zero_point)
        q = ins[0].astype(np.int32)
        if F32(qi.scale) == F32(qo.scale) and zi == zo:
            return [np.maximum(q, zi).astype(np.uint8)]
        r = np.maximum(q - zi, 0).astype(F32) * (F32(qi.scale) / F32(qo.scale))
        r = np.minimum(r, F32(255 - zo))
        return [(zo + np.rint(r)).astype(np.uint8)]

    def _op_ConvTranspose(self, node: Node, ins):
        # onnx.reference's ConvTranspose ignores `group`: run one group-1 node per group.
        group = int(node.attrs.get("group", 1))
        if group == 1:
            return self._onnx(node, ins)
        from qrt.passes.fold_constants import evaluate_node

        x, w = self._as_float(node.inputs[0], ins[0]), self._as_float(node.inputs[1], ins[1])
        b = self._as_float(node.inputs[2], ins[2]) if len(ins) > 2 else None
        cg, og = x.shape[1] // group, w.shape[1]
        one = Node("ConvTranspose", node.name, ["x", "w"] + (["b"] if b is not None else []), node.outputs,
                   {k: v for k, v in node.attrs.items() if k != "group"})
        outs = [evaluate_node(one, [x[:, i * cg:(i + 1) * cg], w[i * cg:(i + 1) * cg]]
                              + ([b[i * og:(i + 1) * og]] if b is not None else []))[0]
                for i in range(group)]
        return [np.concatenate(outs, axis=1).astype(F32)]

    def _op_Silu(self, node: Node, ins):
        x = ins[0].astype(F32)
        return [(x / (F32(1) + np.exp(-x))).astype(F32)]

    def _op_Gelu(self, node: Node, ins):
        from scipy.special import erf

        x = ins[0].astype(np.float64)
        if node.attrs.get("approximate", "none") == "tanh":
            y = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
        else:
            y = 0.5 * x * (1 + erf(x / np.sqrt(2.0)))
        return [y.astype(F32)]
