"""qrt: a quantized-inference runtime for CPUs.

    import qrt
    qrt.convert("model.onnx", "model.qmodel", mode="int8", calibration=samples)
    sess = qrt.InferenceSession("model.qmodel", threads=2)
    outputs = sess.run(None, {"input": x})
"""

from __future__ import annotations

from qrt.errors import (
    FormatError,
    InternalError,
    InvalidArgumentError,
    QrtError,
    QrtMemoryError,
    UnsupportedError,
)
from qrt.runtime import InferenceSession, NodeArg, cpu_info

__version__ = "0.1.0"


def convert(*args, **kwargs):
    """Convert an ONNX model (path, ``onnx.ModelProto``) or a ``torch.nn.Module`` to ``.qmodel``.

    See :func:`qrt.convert.convert` for the arguments; needs the ``onnx`` extra.
    """
    from qrt.convert import convert as _convert

    return _convert(*args, **kwargs)


def inspect(path, as_json: bool = False) -> str:
    """Describe a ``.qmodel`` file: header, sections, ops, tensors, quantization parameters."""
    from qrt.inspect import inspect as _inspect

    return _inspect(path, as_json=as_json)


__all__ = [
    "InferenceSession",
    "NodeArg",
    "cpu_info",
    "convert",
    "inspect",
    "QrtError",
    "FormatError",
    "InvalidArgumentError",
    "UnsupportedError",
    "QrtMemoryError",
    "InternalError",
    "__version__",
]
