"""numpy twin of ``qrt/_histogram.pyx`` (same functions, same float64 arithmetic).

Used when the compiled module is not built. Keep the two in step: the docstrings of the .pyx
are the specification, and tests/python/test_calibrate_histogram.py compares them.
"""

from __future__ import annotations

import numpy as np


def histogram_add(counts: np.ndarray, x: np.ndarray, width: float, offset: int) -> None:
    k = np.floor(x.astype(np.float64) / width).astype(np.int64) - offset
    np.clip(k, 0, counts.shape[0] - 1, out=k)
    counts += np.bincount(k, minlength=counts.shape[0]).astype(np.int64)


def _smooth(d: np.ndarray, eps: float) -> np.ndarray:
    zero = d == 0.0
    zeros = int(zero.sum())
    if zeros == 0 or zeros == d.size:
        return d
    take = eps * zeros / (d.size - zeros)
    return np.where(zero, eps, d - take)


def _seq_sum(a: np.ndarray) -> float:
    """Left-to-right float64 sum (the loop order of the compiled module)."""
    return float(np.add.accumulate(a)[-1]) if a.size else 0.0


def kl_divergences(hist: np.ndarray, num_quant: int, start: int, stride: int) -> np.ndarray:
    hist = np.ascontiguousarray(hist, dtype=np.float64)
    n = hist.shape[0]
    count = 0 if start > n else (n - start) // stride + 1
    out = np.zeros(count, dtype=np.float64)
    for c in range(count):
        i = start + c * stride
        p = hist[:i].copy()
        p[i - 1] += _seq_sum(hist[i:])
        merged = i // num_quant
        q = np.zeros(i, dtype=np.float64)
        nonzero = p != 0.0
        for j in range(num_quant):
            g0 = j * merged
            g1 = g0 + merged if j < num_quant - 1 else i
            gsum = _seq_sum(hist[g0:g1])
            nz = int(nonzero[g0:g1].sum())
            if nz > 0:
                q[g0:g1] = np.where(nonzero[g0:g1], gsum / nz, 0.0)
        psum, qsum = _seq_sum(p), _seq_sum(q)
        if psum <= 0.0 or qsum <= 0.0:
            out[c] = 1e300
            continue
        p = _smooth(p / psum, 1e-4)
        q = _smooth(q / qsum, 1e-4)
        m = (p > 0.0) & (q > 0.0)
        terms = np.zeros(i, dtype=np.float64)
        terms[m] = p[m] * np.log(p[m] / q[m])
        out[c] = _seq_sum(terms)
    return out


def quantization_mse(hist: np.ndarray, centers: np.ndarray, los: np.ndarray,
                     his: np.ndarray) -> np.ndarray:
    hist = np.asarray(hist, dtype=np.float64)
    out = np.zeros((len(los), len(his)), dtype=np.float64)
    total = _seq_sum(hist)
    if total <= 0.0:
        return out
    nzm = hist != 0.0
    h, c = hist[nzm], np.asarray(centers, dtype=np.float64)[nzm]
    for a, lo in enumerate(los):
        lo = lo if lo < 0.0 else 0.0
        for b, hi in enumerate(his):
            hi = hi if hi > 0.0 else 0.0
            scale = (hi - lo) / 255.0 if hi > lo else 1.0
            zp = min(max(np.rint(-lo / scale), 0.0), 255.0)
            qv = np.clip(np.rint(c / scale) + zp, 0.0, 255.0)
            d = c - (qv - zp) * scale
            out[a, b] = _seq_sum(h * d * d) / total
    return out
