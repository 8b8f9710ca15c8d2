"""Intermediate representation used by the converter (frontends -> passes -> quantizer)."""

from qrt.ir.graph import Graph, Node
from qrt.ir.tensor import QuantParams, Tensor, numpy_dtype, qrt_dtype

__all__ = ["Graph", "Node", "QuantParams", "Tensor", "numpy_dtype", "qrt_dtype"]
