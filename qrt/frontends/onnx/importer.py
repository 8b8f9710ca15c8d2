"""ONNX ModelProto -> qrt IR.

Constants (initializers and Constant nodes) become constant tensors; shapes and dtypes of every
value come from ``onnx.shape_inference`` (with data propagation, so shape arithmetic resolves
where it can). Each node goes through the handler registered for its op type (see
``registry.py``); op types without a handler are imported unchanged and judged later.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from qrt.frontends.onnx import ops as _ops  # noqa: F401  (registers the handlers)
from qrt.frontends.onnx.registry import HANDLERS, ImportContext
from qrt.ir import Graph, Node, Tensor
from qrt.ir.tensor import qrt_dtype


@dataclass
class ImportedModel:
    graph: Graph
    onnx_model: onnx.ModelProto  # after shape inference; the float reference for calibration
    sha256: str
    opset: int
    context: ImportContext


def load_onnx(model) -> tuple[onnx.ModelProto, str]:
    """Accepts a path, serialized bytes or a ModelProto; returns (model, sha256 of its bytes)."""
    if isinstance(model, onnx.ModelProto):
        data = model.SerializeToString()
        return model, hashlib.sha256(data).hexdigest()
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        return onnx.load_from_string(data), hashlib.sha256(data).hexdigest()
    path = os.fspath(model)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return onnx.load(path), digest


def _onnx_dtype(elem_type: int) -> str:
    try:
        return qrt_dtype(helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError):
        return "unsupported:" + onnx.TensorProto.DataType.Name(elem_type)


def _value_info_tensor(vi: onnx.ValueInfoProto) -> Tensor:
    t = Tensor(name=vi.name, source=vi.name)
    tt = vi.type.tensor_type
    if tt.elem_type:
        t.dtype = _onnx_dtype(tt.elem_type)
    if tt.HasField("shape"):
        shape, names = [], []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                shape.append(int(d.dim_value))
                names.append("")
            else:
                shape.append(-1)
                names.append(d.dim_param)
        t.shape = shape
        t.dim_names = names if any(names) else None
    return t


def parse_attrs(node: onnx.NodeProto) -> dict:
    attrs = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [x.decode("utf-8") for x in v]
        elif isinstance(v, onnx.TensorProto):
            v = numpy_helper.to_array(v)
        attrs[a.name] = v
    return attrs


def infer_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:  # shape inference is best effort; the runtime infers shapes at plan time
        return model


def import_onnx(model) -> ImportedModel:
    proto, digest = load_onnx(model)
    opset = 1
    for imp in proto.opset_import:
        if imp.domain in ("", "ai.onnx"):
            opset = imp.version
    proto = infer_shapes(proto)
    g = Graph()
    ctx = ImportContext(g, opset)
    init_names = set()
    for init in proto.graph.initializer:
        arr = numpy_helper.to_array(init)
        g.add_tensor(_constant_tensor(init.name, arr))
        init_names.add(init.name)
    for vi in list(proto.graph.input):
        if vi.name in init_names:
            continue
        g.add_tensor(_value_info_tensor(vi))
        g.inputs.append(vi.name)
    for vi in list(proto.graph.value_info) + list(proto.graph.output):
        if vi.name not in g.tensors:
            g.add_tensor(_value_info_tensor(vi))
    g.outputs = [o.name for o in proto.graph.output]

    seen_names: set[str] = set()
    for idx, onode in enumerate(proto.graph.node):
        op = onode.op_type if onode.domain in ("", "ai.onnx") else f"{onode.domain}::{onode.op_type}"
        name = onode.name or f"{onode.op_type}_{idx}"
        while name in seen_names:
            name = f"{name}_{idx}"
        seen_names.add(name)
        node = Node(op=op, name=name, inputs=list(onode.input), outputs=list(onode.output),
                    attrs=parse_attrs(onode))
        for o in node.outputs:
            if o and o not in g.tensors:
                g.add_tensor(Tensor(name=o, source=o))
        handler = HANDLERS.get(op)
        if handler is None:
            ctx.add(node)
        else:
            handler(ctx, node)
    return ImportedModel(graph=g, onnx_model=proto, sha256=digest, opset=opset, context=ctx)


def _constant_tensor(name: str, arr: np.ndarray) -> Tensor:
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    try:
        dtype = qrt_dtype(arr.dtype)
    except KeyError:
        dtype = f"unsupported:{arr.dtype}"
    return Tensor(name=name, dtype=dtype, shape=list(arr.shape), data=arr, source=name)
