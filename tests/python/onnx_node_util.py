"""Run ONNX graphs made of qrt's ONNX-semantics operators directly on the qrt runtime.

The graph is written as a .qmodel with the same op types and attributes (the converter/runtime
contract in docs/ARCHITECTURE.md, "Operators in a .qmodel"), without the converter's passes, so
these tests exercise the operators themselves. Integer inputs whose *values* decide shapes
(Reshape's shape, Slice's starts, ...) become constants, as the converter makes them: the runtime
requires those values at plan time.

Used by test_float_ops.py (qrt vs onnxruntime), test_onnx_backend.py (ONNX's node test cases)
and tools/gen_operators_doc.py.
"""

from __future__ import annotations

import numpy as np

# Operators of the float and shape groups (cpp/src/ops/float_*.cc, shape_*.cc) and their dtypes.
OPERATORS: dict[str, str] = {
    "Add": "f32, s64, s32 (u8 requantized: quant op group)",
    "Sub": "f32, s64, s32",
    "Mul": "f32, s64, s32 (u8 requantized: quant op group)",
    "Div": "f32, s64, s32",
    "Pow": "f32 (exponent f32/s64/s32)",
    "Min": "f32, s64, s32 (variadic)",
    "Max": "f32, s64, s32 (variadic)",
    "Sqrt": "f32", "Neg": "f32, s64, s32", "Exp": "f32", "Log": "f32", "Abs": "f32, s64, s32",
    "Relu": "f32", "LeakyRelu": "f32", "Clip": "f32", "Sigmoid": "f32", "Tanh": "f32",
    "Erf": "f32", "Gelu": "f32", "Silu": "f32 (qrt op: x * sigmoid(x))", "HardSigmoid": "f32",
    "HardSwish": "f32",
    "Softmax": "f32 (opset 13 semantics)",
    "LayerNormalization": "f32",
    "BatchNormalization": "f32 (inference mode)",
    "MatMul": "f32",
    "ReduceMean": "f32", "ReduceSum": "f32", "ReduceL2": "f32",
    "Equal": "f32, s64, s32, bool, u8, s8 -> bool",
    "Less": "f32, s64, s32 -> bool", "Greater": "f32, s64, s32 -> bool",
    "LessOrEqual": "f32, s64, s32 -> bool", "GreaterOrEqual": "f32, s64, s32 -> bool",
    "And": "bool", "Or": "bool", "Xor": "bool", "Not": "bool",
    "Floor": "f32", "Ceil": "f32", "Round": "f32 (halves to even)", "Reciprocal": "f32",
    "ReduceMax": "f32", "ReduceMin": "f32",
    "Size": "any -> s64", "CastLike": "as Cast",
    "Mod": "f32, s64, s32", "Sum": "f32 (variadic)", "LogSoftmax": "f32 (opset 13 semantics)",
    "GatherElements": "any (indices s64/s32)",
    "Pad": "any (constant, reflect, edge, wrap; pads and axes known at plan time)",
    "ReduceProd": "f32", "ReduceL1": "f32", "ReduceSumSquare": "f32", "ReduceLogSum": "f32",
    "ReduceLogSumExp": "f32", "ArgMax": "f32, s64, s32 -> s64", "ArgMin": "f32, s64, s32 -> s64",
    "Elu": "f32", "Selu": "f32", "Celu": "f32", "Softplus": "f32", "Softsign": "f32", "Mish": "f32",
    "ThresholdedRelu": "f32", "Swish": "f32", "Sin": "f32", "Cos": "f32", "Sign": "f32",
    "ConvTranspose": "f32, 1-D and 2-D (W constant)",
    "InstanceNormalization": "f32", "DepthToSpace": "any (DCR, CRD)", "SpaceToDepth": "any (DCR, CRD)",
    "Resize": "nearest: any; linear, cubic: f32 (roi, scales, sizes known at plan time)",
    "Where": "any (condition bool)",
    "Cast": "f32, f16, bf16, s8, u8, s32, s64, bool",
    "Identity": "any",
    "Reshape": "any", "Flatten": "any", "Transpose": "any", "Concat": "any (u8 requantized)",
    "Slice": "any", "Gather": "any (indices s64/s32)", "Squeeze": "any", "Unsqueeze": "any",
    "Split": "any", "Expand": "any", "Shape": "any -> s64", "Range": "f32, s64, s32",
    "ConstantOfShape": "f32, s64, s32, bool, u8, s8", "Tile": "any",
    "PRelu": "f32 (slope broadcast to X)",
    "CumSum": "f32, s64, s32 (axis known at plan time)",
    "TopK": "f32, s64, s32 -> values, s64 indices (K known at plan time)",
    "LSTM": "f32 (W, R constant: f32, f16 / bf16 or s8 with per-row scales from the converter's modes; activations Sigmoid, Tanh, Relu; sequence_lens s32)",
    "GRU": "f32 (W, R constant: f32, f16 / bf16 or s8 with per-row scales from the converter's modes; activations Sigmoid, Tanh, Relu; sequence_lens s32)",
    "RNN": "f32 (W, R constant: f32, f16 / bf16 or s8 with per-row scales from the converter's modes; activations Sigmoid, Tanh, Relu; sequence_lens s32)",
    "ScatterND": "any (reduction none); f32, s64, s32 (add, mul, max, min); indices s64/s32",
    "ScatterElements": "any (reduction none); f32, s64, s32 (add, mul, max, min); indices s64/s32",
    "Trilu": "any but u8/s8 (k may be computed at run time)",
}

# Recurrent layers: W and R are packed at load, so they must be constants; the .qmodel stores
# their `activations` list as one comma-separated string (the format has no string lists), and
# an absent output before a present one gets a name (qrt/frontends/onnx/ops/recurrent.py).
RECURRENT = ("LSTM", "GRU", "RNN")

# Inputs whose values must be known at plan time.
VALUE_INPUTS: dict[str, tuple[int, ...]] = {
    "Reshape": (1,), "Slice": (1, 2, 3, 4), "Squeeze": (1,), "Unsqueeze": (1,), "Split": (1,),
    "Expand": (1,), "Tile": (1,), "Range": (0, 1, 2), "ConstantOfShape": (0,),
    "ReduceMean": (1,), "ReduceSum": (1,), "ReduceL2": (1,), "ReduceMax": (1,), "ReduceMin": (1,),
    "Pad": (1, 3), "ReduceProd": (1,), "ReduceL1": (1,), "ReduceSumSquare": (1,), "ReduceLogSum": (1,),
    "ReduceLogSumExp": (1,), "Resize": (1, 2, 3), "ConvTranspose": (1,), "CumSum": (1,), "TopK": (1,),
    "LSTM": (1, 2), "GRU": (1, 2), "RNN": (1, 2),
}

NP_TO_QRT = {
    np.dtype(np.float32): "f32", np.dtype(np.float16): "f16", np.dtype(np.int8): "s8",
    np.dtype(np.uint8): "u8", np.dtype(np.int32): "s32", np.dtype(np.int64): "s64",
    np.dtype(np.bool_): "bool",
}
# ONNX TensorProto element types -> qrt dtype names.
ONNX_TO_QRT = {1: "f32", 10: "f16", 16: "bf16", 3: "s8", 2: "u8", 6: "s32", 7: "s64", 9: "bool"}


class Skip(Exception):
    """The graph uses something qrt does not implement (the message says what)."""


def _attr_value(node, a):
    import onnx

    t = a.type
    A = onnx.AttributeProto
    if t == A.INT:
        return int(a.i)
    if t == A.FLOAT:
        return float(a.f)
    if t == A.STRING:
        return a.s.decode()
    if t == A.INTS:
        return [int(v) for v in a.ints]
    if t == A.FLOATS:
        return [float(v) for v in a.floats]
    if t == A.STRINGS and node.op_type in RECURRENT and a.name == "activations":
        return ",".join(v.decode() for v in a.strings)
    if t == A.TENSOR and node.op_type == "ConstantOfShape" and a.name == "value":
        arr = onnx.numpy_helper.to_array(a.t).reshape(-1)
        if arr.size != 1:
            raise Skip("ConstantOfShape value must have one element")
        v = arr[0]
        return float(v) if np.issubdtype(arr.dtype, np.floating) else int(v)
    raise Skip(f"{node.op_type}: attribute '{a.name}' of type {A.AttributeType.Name(t)}")


def _constant_value(node) -> np.ndarray:
    import onnx

    for a in node.attribute:
        if a.name == "value":
            return onnx.numpy_helper.to_array(a.t)
        if a.name == "value_float":
            return np.array(a.f, np.float32)
        if a.name == "value_floats":
            return np.array(list(a.floats), np.float32)
        if a.name == "value_int":
            return np.array(a.i, np.int64)
        if a.name == "value_ints":
            return np.array(list(a.ints), np.int64)
    raise Skip(f"Constant node '{node.name}' with an unsupported value attribute")


def _as_array(v):
    import onnx

    if isinstance(v, onnx.TensorProto):
        return onnx.numpy_helper.to_array(v)
    if isinstance(v, (np.ndarray, np.generic)):
        return np.asarray(v)
    raise Skip("sequence/optional values")


def _type_of(vi) -> tuple[str | None, list | None]:
    tt = vi.type.tensor_type
    if not vi.type.HasField("tensor_type"):
        return None, None
    dt = ONNX_TO_QRT.get(tt.elem_type)
    shape = None
    if tt.HasField("shape"):
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
    return dt, shape


def model_to_qmodel_dict(model, feeds: dict[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    """ONNX ModelProto -> (qrt model dict, feeds for the remaining graph inputs)."""
    import onnx

    g = model.graph
    for n in g.node:
        if n.domain not in ("", "ai.onnx"):
            raise Skip(f"op domain '{n.domain}'")
        if n.op_type not in OPERATORS and n.op_type != "Constant":
            raise Skip(f"operator {n.op_type} is not implemented")
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:  # noqa: BLE001 - the runtime reports real problems
        inferred = model
    types = {}
    for vi in list(inferred.graph.value_info) + list(g.input) + list(g.output):
        types[vi.name] = _type_of(vi)

    value_names = set()
    for n in g.node:
        for i in VALUE_INPUTS.get(n.op_type, ()):
            if i < len(n.input) and n.input[i]:
                value_names.add(n.input[i])
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}

    m = {"tensors": [], "nodes": [], "inputs": [], "outputs": [], "metadata": {"producer": "qrt tests"}}
    index: dict[str, int] = {}
    rest: dict[str, np.ndarray] = {}

    def add(name, dtype, shape=(), data=None):
        if dtype is None:
            raise Skip(f"tensor '{name}' has an element type qrt does not support")
        m["tensors"].append({"name": name, "dtype": dtype, "shape": list(shape), "data": data, "quant": None})
        index[name] = len(m["tensors"]) - 1
        return index[name]

    def const(name, arr):
        arr = np.ascontiguousarray(arr)
        dt = NP_TO_QRT.get(arr.dtype)
        if dt is None:
            raise Skip(f"tensor '{name}' has dtype {arr.dtype}")
        return add(name, dt, arr.shape, arr)

    for name, arr in inits.items():
        const(name, arr)
    # Constant nodes become constants (the converter folds them the same way).
    nodes = []
    for n in g.node:
        if n.op_type != "Constant":
            nodes.append(n)
            continue
        const(n.output[0], _constant_value(n))
    for vi in g.input:
        if vi.name in index:
            continue
        arr = np.asarray(feeds[vi.name])
        if vi.name in value_names:
            const(vi.name, arr)
            continue
        dt = NP_TO_QRT.get(arr.dtype)
        if dt is None:
            raise Skip(f"input '{vi.name}' has dtype {arr.dtype}")
        m["inputs"].append(add(vi.name, dt, arr.shape))
        rest[vi.name] = arr
    for k, n in enumerate(nodes):
        ins = []
        for name in n.input:
            if not name:
                ins.append(-1)
            else:
                if name not in index:
                    raise Skip(f"input '{name}' is produced by nothing")
                ins.append(index[name])
        outs = []
        names = list(n.output)
        if n.op_type in RECURRENT:
            while names and not names[-1]:
                names.pop()
            names = [o or f"{n.name or n.op_type}_unused_output{j}" for j, o in enumerate(names)]
            for o in names:
                types.setdefault(o, ("f32", None))
        for name in names:
            if not name:
                raise Skip("an absent (empty-named) output")
            dt, _ = types.get(name, (None, None))
            if dt is None:
                raise Skip(f"value '{name}': element type unknown or unsupported")
            outs.append(add(name, dt))
        attrs = {a.name: _attr_value(n, a) for a in n.attribute}
        m["nodes"].append({"op": n.op_type, "version": 1, "name": n.name or f"{n.op_type}_{k}",
                           "inputs": ins, "outputs": outs, "attrs": attrs})
    for vi in g.output:
        if vi.name not in index:
            raise Skip(f"graph output '{vi.name}' is not produced by a node")
        m["outputs"].append(index[vi.name])
    return m, rest


def run_qrt(model, feeds: dict[str, np.ndarray], threads: int = 1) -> list[np.ndarray]:
    """Runs an ONNX ModelProto of qrt operators on the qrt runtime; outputs in graph order."""
    import qrt
    from qrt import _core

    m, rest = model_to_qmodel_dict(model, feeds)
    data = _core.write_model(m)
    sess = qrt.InferenceSession(data, threads=threads)
    return sess.run(None, rest)


def opset_of(model) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    return 0


# Semantics that changed between opsets in ways the qrt op (which follows the newest form)
# does not reproduce: op -> first opset whose semantics qrt implements.
MIN_OPSET = {"Softmax": 13, "Resize": 11}


def check_opset(model) -> None:
    v = opset_of(model)
    for n in model.graph.node:
        need = MIN_OPSET.get(n.op_type)
        if need and v < need:
            raise Skip(f"{n.op_type} opset {v} semantics (qrt implements opset >= {need}; the "
                       "converter rewrites older forms)")


# ---- ONNX backend node test cases ---------------------------------------------------------------

# Cases where qrt's contract deliberately differs from plain ONNX, with the reason.
_RAW_U8 = ("u8 tensors are quantized activations in qrt: u8 Add/Mul requantize with the tensors' "
           "quantization parameters (quant op group) and refuse u8 without them")
_ALIGN_CORNERS = ("align_corners with a scale that does not divide the length: qrt divides by the integer "
                  "output length (the spec's length_resized, as ONNX Runtime and PyTorch do; ORT gives qrt's "
                  "values here), ONNX's Python reference by scale * length")
KNOWN_DIFFERENCES = {"test_add_uint8": _RAW_U8, "test_mul_uint8": _RAW_U8,
                     "test_resize_downsample_scales_linear_align_corners": _ALIGN_CORNERS,
                     "test_resize_downsample_scales_cubic_align_corners": _ALIGN_CORNERS}


def backend_cases():
    """ONNX's node test cases that use at least one qrt operator (generated by the onnx package)."""
    import warnings

    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases()
    return [c for c in cases if c.kind == "node" and c.model is not None
            and any(n.op_type in OPERATORS for n in c.model.graph.node)]


def evaluate_case(case) -> tuple[str, str]:
    """("pass", "") | ("skip", reason) | ("fail", message) for one backend test case."""
    import qrt

    try:
        check_opset(case.model)
        if not case.data_sets:
            raise Skip("no data sets")
        for inputs, outputs in case.data_sets:
            names = [vi.name for vi in case.model.graph.input]
            feeds = {k: _as_array(v) for k, v in zip(names, inputs)}
            outputs = [_as_array(v) for v in outputs]
            if case.name in KNOWN_DIFFERENCES:
                raise Skip(KNOWN_DIFFERENCES[case.name])
            try:
                got = run_qrt(case.model, feeds)
            except qrt.UnsupportedError as e:
                raise Skip(f"runtime: {e}") from None
            except qrt.InvalidArgumentError as e:
                if "zero-size and negative dimensions are not supported" in str(e):
                    raise Skip("runtime: zero-size graph inputs are not supported") from None
                raise
            if len(got) != len(outputs):
                return "fail", f"{len(got)} outputs, expected {len(outputs)}"
            for k, (g, w) in enumerate(zip(got, outputs)):
                w = np.asarray(w)
                if w.dtype.name == "bfloat16" and g.dtype == np.uint16:  # qrt returns bf16 bits
                    w = w.view(np.uint16)
                if g.shape != w.shape:
                    return "fail", f"output {k}: shape {g.shape}, expected {w.shape}"
                if g.dtype != w.dtype:
                    return "fail", f"output {k}: dtype {g.dtype}, expected {w.dtype}"
                if w.dtype.kind in "fc":
                    np.testing.assert_allclose(g, w, rtol=case.rtol, atol=case.atol)
                else:
                    np.testing.assert_array_equal(g, w)
        return "pass", ""
    except Skip as e:
        return "skip", str(e)
    except AssertionError as e:
        return "fail", str(e)[:2000]
    except Exception as e:  # noqa: BLE001 - reported as a failure with its type
        return "fail", f"{type(e).__name__}: {e}"
