"""ONNX frontend: ONNX ModelProto -> qrt IR graph."""

from qrt.frontends.onnx.importer import import_onnx, load_onnx

__all__ = ["import_onnx", "load_onnx"]
