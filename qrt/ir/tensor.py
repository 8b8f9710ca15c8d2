"""Tensors of the converter's intermediate representation.

A :class:`Tensor` is a named value: a graph input, a constant (``data`` is set) or the output of a
node. Shapes use ``-1`` for a dimension that is only known at run time; ``shape is None`` means
the rank itself is unknown. Quantized tensors carry their parameters in ``quant`` with the
affine convention of the .qmodel format, ``real = scale * (q - zero_point)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# qrt dtype strings <-> numpy dtypes. bf16 has no numpy dtype: its constants are stored as the
# upper 16 bits of the f32 value in a uint16 array (see qrt.quantize.weights.to_bf16).
DTYPES = ("f32", "f16", "bf16", "s8", "u8", "s32", "s64", "bool")
_NP_OF = {
    "f32": np.dtype(np.float32),
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(np.uint16),
    "s8": np.dtype(np.int8),
    "u8": np.dtype(np.uint8),
    "s32": np.dtype(np.int32),
    "s64": np.dtype(np.int64),
    "bool": np.dtype(np.bool_),
}
_QRT_OF = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float64): "f32",  # narrowed on import
    np.dtype(np.float16): "f16",
    np.dtype(np.int8): "s8",
    np.dtype(np.uint8): "u8",
    np.dtype(np.int32): "s32",
    np.dtype(np.int64): "s64",
    np.dtype(np.bool_): "bool",
}


def numpy_dtype(dtype: str) -> np.dtype:
    """The numpy dtype that holds elements of qrt dtype ``dtype``."""
    return _NP_OF[dtype]


def qrt_dtype(np_dtype: np.dtype | type) -> str:
    """The qrt dtype string of a numpy dtype (raises KeyError for types qrt has no name for)."""
    return _QRT_OF[np.dtype(np_dtype)]


@dataclass
class QuantParams:
    """Affine quantization parameters: ``real = scales[i] * (q - zero_points[i])``.

    ``axis == -1`` means one scale/zero point for the whole tensor; otherwise one per index along
    ``axis``.
    """

    scales: list[float]
    zero_points: list[int]
    axis: int = -1

    def to_dict(self) -> dict:
        return {
            "axis": int(self.axis),
            "scales": [float(s) for s in self.scales],
            "zero_points": [int(z) for z in self.zero_points],
        }

    @property
    def scale(self) -> float:
        assert self.axis == -1
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        assert self.axis == -1
        return int(self.zero_points[0])


@dataclass
class Tensor:
    name: str
    dtype: str = "f32"
    shape: list[int] | None = None
    data: np.ndarray | None = None
    quant: QuantParams | None = None
    dim_names: list[str] | None = None
    # Name of the tensor of the source ONNX model holding the same values, up to a permutation of
    # axes (layout changes keep the link). Calibration and accuracy reports observe that tensor.
    source: str | None = None
    # False when the values are those of `source` in a different element order that is not an
    # axis permutation (e.g. a Flatten of NHWC data): fine for ranges, not for comparisons.
    source_order_kept: bool = True

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @staticmethod
    def constant(name: str, value: np.ndarray, dtype: str | None = None) -> Tensor:
        value = np.asarray(value)
        if dtype is None:
            dtype = qrt_dtype(value.dtype)
            if value.dtype == np.float64:
                value = value.astype(np.float32)
        return Tensor(name=name, dtype=dtype, shape=list(value.shape), data=value)
