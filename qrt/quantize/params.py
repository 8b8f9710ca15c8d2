"""Scale / zero-point math (the contract of docs/ARCHITECTURE.md and cpp/src/kernels).

Affine mapping ``real = scale * (q - zero_point)``.

- u8 activations, per tensor, asymmetric (``activation_params``): the range is widened to
  contain 0, ``scale = (hi - lo) / 255`` (1.0 when hi == lo), ``zero_point =
  clamp(nearbyint(-lo / scale), 0, 255)``, computed in float32 exactly like the runtime's
  ``choose_u8_params`` (quantize_u8.h), so 0.0 is exactly representable.
- s8 weights, symmetric (``weight_params``): per output channel ``scale[c] = max|W[c]| / 127``
  (or one scale for the whole tensor, repeated per channel), ``zero_point = 0``,
  ``q = clamp(nearbyint(W / scale), -127, 127)``. A channel of zeros gets scale 1. With
  ``qmax = 64`` (``weight_bits=7``) the same with 64: weights in [-64, 64], which CPUs without
  VNNI multiply exactly with vpmaddubsw (docs/KERNELS_INT8.md, "AVX2 without VNNI").
- s32 bias (``quantize_bias``): ``scale[c] = input_scale * weight_scale[c]``, ``zero_point = 0``,
  ``q = clamp(nearbyint(b / scale[c]), -2^31+1, 2^31-1)``.
"""

from __future__ import annotations

import numpy as np

from qrt.ir import QuantParams

F32 = np.float32


def activation_params(lo: float, hi: float) -> QuantParams:
    lo32, hi32 = F32(min(0.0, lo)), F32(max(0.0, hi))
    scale = F32((hi32 - lo32) / F32(255.0)) if hi32 != lo32 else F32(1.0)
    if not np.isfinite(scale) or scale <= 0:
        scale = F32(1.0)
    zp = int(np.clip(np.rint(-lo32 / scale), 0, 255))
    return QuantParams(scales=[float(scale)], zero_points=[zp], axis=-1)


def weight_scales(w: np.ndarray, per_channel: bool = True, qmax: int = 127) -> np.ndarray:
    """Symmetric s8 scales along axis 0 (float32) for the range [-qmax, qmax]."""
    flat = np.abs(w.reshape(w.shape[0], -1).astype(np.float32))
    amax = flat.max(axis=1) if per_channel else np.full(w.shape[0], flat.max(), np.float32)
    scales = (amax / F32(qmax)).astype(F32)
    scales[scales == 0] = F32(1.0)
    return scales


def quantize_weight(w: np.ndarray, scales: np.ndarray, qmax: int = 127) -> np.ndarray:
    s = np.asarray(scales, F32).reshape((-1,) + (1,) * (w.ndim - 1))
    return np.clip(np.rint(w.astype(F32) / s), -qmax, qmax).astype(np.int8)


def weight_params(w: np.ndarray, per_channel: bool = True,
                  scales: np.ndarray | None = None, qmax: int = 127) -> tuple[np.ndarray, QuantParams]:
    """(s8 values, params with axis 0). ``scales`` given: honour them (e.g. from a QDQ model;
    then the values keep the full [-127, 127] range those scales were chosen for)."""
    if scales is None:
        scales = weight_scales(w, per_channel, qmax)
    else:
        qmax = 127
    scales = np.broadcast_to(np.asarray(scales, F32), (w.shape[0],)).astype(F32)
    q = quantize_weight(w, scales, qmax)
    return q, QuantParams(scales=[float(s) for s in scales], zero_points=[0] * w.shape[0], axis=0)


def quantize_bias(b: np.ndarray, input_scale: float, w_scales) -> tuple[np.ndarray, QuantParams]:
    scales = (F32(input_scale) * np.asarray(w_scales, F32)).astype(F32)
    q = np.rint(b.astype(np.float64) / scales.astype(np.float64))
    q = np.clip(q, -(2**31) + 1, 2**31 - 1).astype(np.int32)
    return q, QuantParams(scales=[float(s) for s in scales], zero_points=[0] * len(scales), axis=0)


def to_bf16(w: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bits (uint16), rounding to nearest even; NaN stays NaN."""
    bits = np.ascontiguousarray(w, dtype=F32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    out = rounded.astype(np.uint16)
    nan = np.isnan(w)
    out[nan] = ((bits[nan] >> 16) | 0x40).astype(np.uint16)
    return out
