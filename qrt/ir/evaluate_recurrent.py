"""LSTM / GRU / RNN with s8 W and R, as cpp/src/ops/float_rnn.cc runs them: the converter's
evaluator for the int8 modes (the float cases go through onnx.reference).

Every product quantizes its f32 input to u8 with one (scale, zero point) from its live range —
X once for the projection of all time steps (both directions), the state [B, H] at each step
(GRU's h gate with linear_before_reset = 0: r ⊙ h) — multiplies exactly in integers, and
dequantizes with scale_in · scale_w[row] and the f32 bias, as int8-dynamic Dense. The gate
arithmetic is float32 (numpy's sigmoid / tanh, a few ulp from the runtime's vmath).
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


def _act(name: str, x: np.ndarray) -> np.ndarray:
    if name == "Sigmoid":
        return (F32(1) / (F32(1) + np.exp(-x))).astype(F32)
    if name == "Tanh":
        return np.tanh(x).astype(F32)
    if name == "Relu":
        return np.maximum(x, F32(0)).astype(F32)
    raise ValueError(f"activation {name} is not supported with s8 recurrent weights")


def _dyn_product(a: np.ndarray, wq: np.ndarray, scales: np.ndarray, bias: np.ndarray | None):
    """a [M, K] f32 x wq [N, K] s8 -> [M, N] f32 (dynamic u8 quantization of a)."""
    from qrt.ir.evaluate import choose_u8_params, quantize_u8

    if not np.all(np.isfinite(a)):
        raise ValueError("input contains NaN or Inf; s8 weights cannot choose its range")
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    s, zp = choose_u8_params(lo, hi)
    aq = quantize_u8(a, s, zp)
    acc = aq.astype(np.int64) @ wq.astype(np.int64).T - zp * wq.astype(np.int64).sum(axis=1)
    y = acc.astype(F32) * (F32(s) * scales.astype(F32))
    if bias is not None:
        y = y + bias.astype(F32)
    return y.astype(F32)


def run(op: str, attrs: dict, ins: list, w_scales: np.ndarray, r_scales: np.ndarray) -> list[np.ndarray]:
    """ins: X, W (s8), R (s8), B, sequence_lens, initial_h[, initial_c, P] (None when absent)."""
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    x, w, r = ins[0].astype(F32), ins[1], ins[2]
    get = lambda k: ins[k] if len(ins) > k else None  # noqa: E731
    b, lens, h0 = get(3), get(4), get(5)
    c0, P = (get(6), get(7)) if op == "LSTM" else (None, None)
    direction = str(attrs.get("direction", "forward"))
    D = 2 if direction == "bidirectional" else 1
    H = int(r.shape[2])
    layout = int(attrs.get("layout", 0))
    clip = attrs.get("clip")
    lbr = int(attrs.get("linear_before_reset", 0))
    input_forget = int(attrs.get("input_forget", 0))
    acts = attrs.get("activations")
    per = {"LSTM": 3, "GRU": 2, "RNN": 1}[op]
    if acts:
        acts = [a.strip() for a in (acts.split(",") if isinstance(acts, str) else acts)]
        acts = [a if isinstance(a, str) else a.decode() for a in acts]
    else:
        acts = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}[op]
    if len(acts) == per:
        acts = acts * D
    xs = x if layout == 0 else x.transpose(1, 0, 2)  # [T, B, I]
    T, B, I = xs.shape
    lens = np.full(B, T, np.int64) if lens is None else lens.astype(np.int64)
    GH = G * H

    def cl(v):
        return np.clip(v, F32(-clip), F32(clip)).astype(F32) if clip is not None else v

    # projection: X in its own row order, quantized once for both directions
    rows = x.reshape(-1, I)
    Y = np.zeros((T, D, B, H), F32)
    Yh = np.zeros((D, B, H), F32)
    Yc = np.zeros((D, B, H), F32)
    for d in range(D):
        wb = b[d, :GH].astype(F32) if b is not None else np.zeros(GH, F32)
        rb = b[d, GH:].astype(F32) if b is not None else np.zeros(GH, F32)
        xbias = (wb + rb).astype(F32)
        rbias = np.zeros(H, F32)
        if op == "GRU" and lbr:
            xbias[2 * H:] = wb[2 * H:]
            rbias = rb[2 * H:]
        proj = _dyn_product(rows, w[d], w_scales, xbias)
        proj = proj.reshape(T, B, GH) if layout == 0 else proj.reshape(B, T, GH).transpose(1, 0, 2)
        st = lambda v: v[d] if layout == 0 else v[:, d]  # noqa: E731
        h = st(h0).astype(F32).copy() if h0 is not None else np.zeros((B, H), F32)
        c = st(c0).astype(F32).copy() if c0 is not None else np.zeros((B, H), F32)
        a = acts[d * per:(d + 1) * per]
        rev = direction == "reverse" or d == 1
        Rd = r[d]
        for s in range(T):
            active = s < lens
            if not active.any():
                continue
            ts = np.where(rev, lens - 1 - s, s)
            xp = np.stack([proj[ts[i], i] if active[i] else np.zeros(GH, F32) for i in range(B)])
            if op == "LSTM":
                g = _dyn_product(h, Rd, r_scales, None) + xp
                gi, go, gf, gc = (g[:, k * H:(k + 1) * H] for k in range(4))
                if P is not None:
                    gi = gi + P[d, :H] * c
                gi = _act(a[0], cl(gi))
                if input_forget:
                    gf = F32(1) - gi
                else:
                    if P is not None:
                        gf = gf + P[d, 2 * H:] * c
                    gf = _act(a[0], cl(gf))
                gc = _act(a[1], cl(gc))
                nc = (gf * c + gi * gc).astype(F32)
                if P is not None:
                    go = go + P[d, H:2 * H] * nc
                go = _act(a[0], cl(go))
                nh = (_act(a[2], nc) * go).astype(F32)
                c = np.where(active[:, None], nc, c)
            elif op == "RNN":
                nh = _act(a[0], cl(_dyn_product(h, Rd, r_scales, None) + xp))
            else:
                zr = _act(a[0], cl(_dyn_product(h, Rd[:2 * H], r_scales[:2 * H], None) + xp[:, :2 * H]))
                z, rg = zr[:, :H], zr[:, H:]
                if lbr:
                    gh = _dyn_product(h, Rd[2 * H:], r_scales[2 * H:], rbias)
                    pre = xp[:, 2 * H:] + rg * gh
                else:
                    tmp = np.where(active[:, None], rg * h, F32(0)).astype(F32)
                    pre = _dyn_product(tmp, Rd[2 * H:], r_scales[2 * H:], None) + xp[:, 2 * H:]
                nh = ((F32(1) - z) * _act(a[1], cl(pre)) + z * h).astype(F32)
            h = np.where(active[:, None], nh, h).astype(F32)
            for i in range(B):
                if active[i]:
                    Y[ts[i], d, i] = h[i]
        Yh[d], Yc[d] = h, c
    if layout:
        Y, Yh, Yc = Y.transpose(2, 0, 1, 3), Yh.transpose(1, 0, 2), Yc.transpose(1, 0, 2)
    return [Y, Yh, Yc][: (3 if op == "LSTM" else 2)]
