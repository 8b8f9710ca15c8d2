"""Handlers of the ONNX frontend, grouped by kind (one small module per group)."""

from qrt.frontends.onnx.ops import constant, recurrent, reductions, resize, tensor_ops  # noqa: F401
