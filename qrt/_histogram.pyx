# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Hot loops of calibration (module ``qrt._histogram``).

The pure-numpy twin is ``qrt/calibrate/_histogram_np.py``: both implement exactly the same
functions with the same float64 arithmetic and the same loop structure, so they choose the same
bins, thresholds and ranges (tests/python/test_calibrate_histogram.py checks that they agree).
``qrt.calibrate.histogram`` uses this module when it is built and the numpy one otherwise.

Bins: bin ``k`` of a histogram with bin width ``w`` covers ``[k*w, (k+1)*w)``; ``counts[j]`` is
bin ``offset + j``. Zero is always a bin edge, so growing the width by 2 merges bin pairs exactly.
"""

import numpy as np
cimport numpy as cnp
from libc.math cimport floor, log, nearbyint

cnp.import_array()


def histogram_add(cnp.int64_t[::1] counts, const float[::1] x, double width, long long offset):
    """counts[floor(x/width) - offset] += 1 for every x (indices clamped into range)."""
    cdef Py_ssize_t i, n = x.shape[0], nb = counts.shape[0]
    cdef long long k
    with nogil:
        for i in range(n):
            k = <long long>floor(<double>x[i] / width) - offset
            if k < 0:
                k = 0
            elif k >= nb:
                k = nb - 1
            counts[k] += 1


cdef void _smooth(double* d, Py_ssize_t n, double eps) noexcept nogil:
    """Move eps of mass onto every zero entry, taken evenly from the non-zero ones."""
    cdef Py_ssize_t i, zeros = 0
    for i in range(n):
        if d[i] == 0.0:
            zeros += 1
    if zeros == 0 or zeros == n:
        return
    cdef double take = eps * zeros / (n - zeros)
    for i in range(n):
        if d[i] == 0.0:
            d[i] = eps
        else:
            d[i] -= take


def kl_divergences(const double[::1] hist, int num_quant, int start, int stride):
    """KL(P || Q) for every threshold bin i in range(start, len(hist) + 1, stride) (TensorRT).

    P = hist[:i] with the mass beyond i folded into bin i-1; Q = hist[:i] merged into num_quant
    groups of i // num_quant bins (the remainder joins the last group) and spread back evenly
    over the bins of each group where P is non-zero. Both are normalised and smoothed (eps 1e-4
    moved onto zero entries) before the divergence. Returns the divergences (float64).
    """
    cdef Py_ssize_t n = hist.shape[0]
    cdef Py_ssize_t count = 0 if start > n else (n - start) // stride + 1
    out_arr = np.zeros(count, dtype=np.float64)
    cdef double[::1] out = out_arr
    p_arr = np.zeros(n, dtype=np.float64)
    q_arr = np.zeros(n, dtype=np.float64)
    cdef double[::1] p = p_arr
    cdef double[::1] q = q_arr
    cdef Py_ssize_t c, i, j, b, g0, g1, merged, nz
    cdef double outliers, total, gsum, psum, qsum, kl
    with nogil:
        for c in range(count):
            i = start + c * stride
            outliers = 0.0
            for b in range(i, n):
                outliers += hist[b]
            for b in range(i):
                p[b] = hist[b]
            p[i - 1] += outliers
            merged = i // num_quant
            for j in range(num_quant):
                g0 = j * merged
                g1 = g0 + merged if j < num_quant - 1 else i
                gsum = 0.0
                nz = 0
                for b in range(g0, g1):
                    gsum += hist[b]
                    if p[b] != 0.0:
                        nz += 1
                for b in range(g0, g1):
                    q[b] = gsum / nz if (nz > 0 and p[b] != 0.0) else 0.0
            psum = 0.0
            qsum = 0.0
            for b in range(i):
                psum += p[b]
                qsum += q[b]
            if psum <= 0.0 or qsum <= 0.0:
                out[c] = 1e300
                continue
            for b in range(i):
                p[b] /= psum
                q[b] /= qsum
            _smooth(&p[0], i, 1e-4)
            _smooth(&q[0], i, 1e-4)
            kl = 0.0
            for b in range(i):
                if p[b] > 0.0 and q[b] > 0.0:
                    kl += p[b] * log(p[b] / q[b])
            out[c] = kl
    return out_arr


def quantization_mse(const double[::1] hist, const double[::1] centers,
                     const double[::1] los, const double[::1] his):
    """Expected squared u8 quantization error of the histogram for every (lo, hi) pair.

    For a pair: scale = (hi - lo) / 255, zp = clamp(nearbyint(-lo / scale), 0, 255); each bin's
    center c is quantized q = clamp(nearbyint(c / scale) + zp, 0, 255) and dequantized
    (q - zp) * scale; the error is sum(hist * (c - deq)^2) / sum(hist). Returns [len(los), len(his)].
    """
    cdef Py_ssize_t a, b, k, n = hist.shape[0], na = los.shape[0], nh = his.shape[0]
    out_arr = np.zeros((na, nh), dtype=np.float64)
    cdef double[:, ::1] out = out_arr
    cdef double lo, hi, scale, zp, qv, d, err, total = 0.0
    for k in range(n):
        total += hist[k]
    if total <= 0.0:
        return out_arr
    with nogil:
        for a in range(na):
            for b in range(nh):
                lo = los[a] if los[a] < 0.0 else 0.0
                hi = his[b] if his[b] > 0.0 else 0.0
                scale = (hi - lo) / 255.0 if hi > lo else 1.0
                zp = nearbyint(-lo / scale)
                if zp < 0.0:
                    zp = 0.0
                elif zp > 255.0:
                    zp = 255.0
                err = 0.0
                for k in range(n):
                    if hist[k] == 0.0:
                        continue
                    qv = nearbyint(centers[k] / scale) + zp
                    if qv < 0.0:
                        qv = 0.0
                    elif qv > 255.0:
                        qv = 255.0
                    d = centers[k] - (qv - zp) * scale
                    err += hist[k] * d * d
                out[a, b] = err / total
    return out_arr
