"""Streaming histogram with bounded memory, and the range searches that run over it.

``StreamingHistogram`` keeps at most ``max_bins`` int64 counts whatever the number of samples.
Bin ``k`` covers ``[k*w, (k+1)*w)``: zero is always an edge (u8 activations must represent 0
exactly), and when new data falls outside the window the width doubles, which merges pairs of
bins exactly (``floor(x / 2w) == floor(floor(x / w) / 2)``). The first batch sets the initial
width so that its range spans ``max_bins / 2`` bins; the data range always spans more than
``max_bins / 4`` bins afterwards. Exact min/max are kept beside the counts.

The per-element loop and the KL/MSE searches come from the compiled ``qrt._histogram`` when it
is built, else from the numpy twin ``_histogram_np`` (same results).
"""

from __future__ import annotations

import math

import numpy as np

try:  # the compiled loops (qrt/_histogram.pyx)
    from qrt import _histogram as _backend  # type: ignore[attr-defined]

    BACKEND = "cython"
except ImportError:  # pragma: no cover - depends on the build
    from qrt.calibrate import _histogram_np as _backend

    BACKEND = "numpy"


def use_backend(module) -> None:
    """Switch implementations (tests compare the compiled and the numpy one)."""
    global _backend, BACKEND
    _backend = module
    BACKEND = getattr(module, "__name__", "custom")


def backend():
    return _backend


class StreamingHistogram:
    def __init__(self, max_bins: int = 4096) -> None:
        if max_bins < 16 or max_bins % 2:
            raise ValueError("max_bins must be an even number >= 16")
        self.max_bins = max_bins
        self.counts = np.zeros(0, dtype=np.int64)
        self.offset = 0  # bin index of counts[0]
        self.width: float | None = None
        self.min = math.inf
        self.max = -math.inf
        self.total = 0
        self._pending_zeros = 0  # all-zero data seen before the width could be chosen

    def update(self, x: np.ndarray) -> None:
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(-1))
        if x.size == 0:
            return
        lo, hi = float(x.min()), float(x.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError("calibration data contains NaN or infinite values")
        self.min, self.max = min(self.min, lo), max(self.max, hi)
        self.total += x.size
        if self.width is None:
            span = max(abs(lo), abs(hi))
            if span == 0.0:
                self._pending_zeros += x.size
                return
            self.width = span / (self.max_bins // 2)
            self.offset = self._index(lo)
            self.counts = np.zeros(0, dtype=np.int64)
        i_lo, i_hi = self._index(lo), self._index(hi)
        if self.counts.size:
            i_lo, i_hi = min(i_lo, self.offset), max(i_hi, self.offset + self.counts.size - 1)
        while i_hi - i_lo + 1 > self.max_bins:
            self._merge_pairs()
            i_lo, i_hi = self._index(lo), self._index(hi)
            if self.counts.size:
                i_lo = min(i_lo, self.offset)
                i_hi = max(i_hi, self.offset + self.counts.size - 1)
        self._extend(i_lo, i_hi)
        _backend.histogram_add(self.counts, x, self.width, self.offset)
        if self._pending_zeros:
            self._extend(min(i_lo, 0), max(i_hi, 0))
            self.counts[-self.offset] += self._pending_zeros
            self._pending_zeros = 0

    def _index(self, v: float) -> int:
        return int(math.floor(float(np.float64(np.float32(v))) / self.width))

    def _extend(self, i_lo: int, i_hi: int) -> None:
        if self.counts.size == 0:
            self.offset, self.counts = i_lo, np.zeros(i_hi - i_lo + 1, dtype=np.int64)
            return
        left = self.offset - i_lo
        right = i_hi - (self.offset + self.counts.size - 1)
        if left > 0 or right > 0:
            self.counts = np.concatenate([np.zeros(max(left, 0), np.int64), self.counts,
                                          np.zeros(max(right, 0), np.int64)])
            self.offset = min(self.offset, i_lo)

    def _merge_pairs(self) -> None:
        idx = np.arange(self.offset, self.offset + self.counts.size) // 2
        new_off = int(idx[0]) if idx.size else self.offset // 2
        merged = np.zeros(int(idx[-1]) - new_off + 1 if idx.size else 0, dtype=np.int64)
        np.add.at(merged, idx - new_off, self.counts)
        self.counts, self.offset = merged, new_off
        self.width *= 2.0

    # views -----------------------------------------------------------------------------------
    def edges(self) -> np.ndarray:
        return (self.offset + np.arange(self.counts.size + 1)) * self.width

    def centers(self) -> np.ndarray:
        return (self.offset + np.arange(self.counts.size) + 0.5) * self.width

    def nonnegative(self) -> bool:
        return self.min >= 0.0

    def abs_histogram(self) -> np.ndarray:
        """Counts over |x| with bins [k*w, (k+1)*w), k >= 0 (negative bin -k folds onto k-1)."""
        n = max(self.offset + self.counts.size, -self.offset)
        out = np.zeros(max(n, 1), dtype=np.float64)
        k = self.offset + np.arange(self.counts.size)
        pos = k >= 0
        np.add.at(out, k[pos], self.counts[pos])
        np.add.at(out, -k[~pos] - 1, self.counts[~pos])
        return out

    # quantile --------------------------------------------------------------------------------
    def quantile(self, q: float) -> float:
        """Value below which a fraction q of the data lies (linear within a bin)."""
        if self.width is None:
            return 0.0
        c = np.cumsum(self.counts, dtype=np.float64)
        target = q * c[-1]
        j = int(np.searchsorted(c, target, side="left"))
        j = min(j, c.size - 1)
        before = c[j - 1] if j > 0 else 0.0
        frac = 0.0 if self.counts[j] == 0 else (target - before) / self.counts[j]
        v = (self.offset + j + frac) * self.width
        return float(min(max(v, self.min), self.max))


def kl_threshold(hist: StreamingHistogram, max_kl_bins: int = 2048) -> tuple[float, float]:
    """TensorRT-style entropy calibration: the clipping range whose u8 quantization loses the
    least information (KL divergence) about the observed distribution.

    Nonnegative data (e.g. after ReLU): the search is over [0, T] with 256 levels. Signed data:
    over |x| with 128 levels per side, and the range is [max(min, -T), min(max, T)].
    """
    if hist.width is None:
        return 0.0, 0.0
    signed = not hist.nonnegative()
    h = hist.abs_histogram()
    width = hist.width
    while h.size > max_kl_bins:  # merge pairs down to the search resolution
        if h.size % 2:
            h = np.append(h, 0.0)
        h = h.reshape(-1, 2).sum(axis=1)
        width *= 2.0
    levels = 128 if signed else 256
    if h.size <= levels:
        t = h.size * width
    else:
        kl = _backend.kl_divergences(np.ascontiguousarray(h), levels, levels, 1)
        t = (levels + int(np.argmin(kl))) * width
    lo = max(hist.min, -t) if signed else 0.0
    return float(lo), float(min(hist.max, t))


def mse_range(hist: StreamingHistogram, steps: int = 64) -> tuple[float, float]:
    """The (lo, hi) that minimises the expected squared u8 quantization error of the histogram,
    searched over lo in min*{k/steps} and hi in max*{k/steps} for k in [steps/4, steps]."""
    if hist.width is None:
        return 0.0, 0.0
    fr = np.arange(steps // 4, steps + 1, dtype=np.float64) / steps
    his = max(hist.max, 0.0) * fr
    los = min(hist.min, 0.0) * fr if hist.min < 0 else np.zeros(1)
    err = _backend.quantization_mse(hist.counts.astype(np.float64), hist.centers(),
                                    np.ascontiguousarray(los), np.ascontiguousarray(his))
    a, b = np.unravel_index(int(np.argmin(err)), err.shape)
    return float(los[a]), float(his[b])
