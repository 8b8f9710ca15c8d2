"""Observers: per-tensor statistics over calibration batches -> a clipping range (lo, hi).

Methods (``method=`` of ``qrt.convert``):
- ``minmax``: the exact min and max seen.
- ``percentile``: the ``percentile``-th and (100-``percentile``)-th percentiles (histogram).
- ``entropy``: TensorRT's KL-divergence threshold search (histogram, see histogram.kl_threshold).
- ``mse``: the range minimising the expected squared u8 quantization error (histogram).
All histogram methods use a ``StreamingHistogram``: memory is bounded whatever the sample count.
"""

from __future__ import annotations

import math

import numpy as np

from qrt.calibrate.histogram import StreamingHistogram, kl_threshold, mse_range

METHODS = ("minmax", "percentile", "entropy", "mse")


class Observer:
    def __init__(self, method: str = "minmax", percentile: float = 99.99, bins: int = 4096) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown calibration method {method!r}; expected one of {METHODS}")
        if not 50.0 < percentile <= 100.0:
            raise ValueError(f"percentile must be in (50, 100], got {percentile}")
        self.method = method
        self.percentile = percentile
        self.min = math.inf
        self.max = -math.inf
        self.hist = StreamingHistogram(bins) if method != "minmax" else None

    def update(self, x: np.ndarray) -> None:
        x = np.asarray(x)
        if x.size == 0:
            return
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        lo, hi = float(x.min()), float(x.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError("calibration data contains NaN or infinite values")
        self.min, self.max = min(self.min, lo), max(self.max, hi)
        if self.hist is not None:
            self.hist.update(x)

    @property
    def seen(self) -> bool:
        return math.isfinite(self.min)

    def range(self) -> tuple[float, float]:
        if not self.seen:
            raise ValueError("observer saw no data")
        if self.method == "minmax":
            return self.min, self.max
        if self.method == "percentile":
            p = self.percentile / 100.0
            return self.hist.quantile(1.0 - p), self.hist.quantile(p)
        if self.method == "entropy":
            return kl_threshold(self.hist)
        return mse_range(self.hist)
