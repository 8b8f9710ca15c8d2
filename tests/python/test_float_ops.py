"""qrt's ONNX-semantics operators against onnxruntime on random inputs.

Each case is a small ONNX graph (usually one node, opset 20) run by onnxruntime and, written as a
.qmodel with the same nodes (tests/python/onnx_node_util.py), by the qrt runtime with 1 and 2
threads. Zero-size dimensions are covered by the C++ op tests (tests/cpp/ops): the session refuses
zero-size graph inputs. Tolerances are per operator and stated in each case (rtol, atol):
  exact arithmetic, data movement, integer ops ........ 0 / 0 (bit-exact) or 1e-6 relative
  transcendental activations (Exp, Tanh, Erf, Gelu ...) 1e-5 / 1e-6
  Softmax, LayerNormalization, reductions .............. 1e-5 / 1e-6 (qrt accumulates in f64)
  MatMul ................................................ 1e-5 / 1e-5 * K (different summation order)
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
qrt = pytest.importorskip("qrt")

from onnx import TensorProto, helper  # noqa: E402
from onnx_node_util import run_qrt  # noqa: E402

OPSET = 20
NP_TO_ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float16): TensorProto.FLOAT16,
              np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int32): TensorProto.INT32,
              np.dtype(np.int8): TensorProto.INT8, np.dtype(np.uint8): TensorProto.UINT8,
              np.dtype(np.bool_): TensorProto.BOOL}
RNG = np.random.default_rng(2024)


def rnd(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape).astype(np.float32)


def i64(*v):
    return np.array(v, dtype=np.int64)


class Case:
    def __init__(self, name, op, inputs, attrs=None, rtol=1e-6, atol=0.0, out_types=None,
                 nodes=None, num_outputs=1):
        self.name, self.op, self.inputs, self.attrs = name, op, inputs, attrs or {}
        self.rtol, self.atol = rtol, atol
        self.out_types = out_types  # ONNX element types of the outputs (default: input 0's)
        self.nodes = nodes          # a multi-node graph: list of (op, inputs, outputs, attrs)
        self.num_outputs = num_outputs
        self.ort_model = None       # an equivalent model for ORT where it lacks the form qrt runs

    def model(self):
        ins = [helper.make_tensor_value_info(f"x{i}", NP_TO_ONNX[a.dtype], a.shape)
               for i, a in enumerate(self.inputs) if a is not None]
        if self.nodes is None:
            names = [f"x{i}" if a is not None else "" for i, a in enumerate(self.inputs)]
            outs = [f"y{k}" for k in range(self.num_outputs)]
            nodes = [helper.make_node(self.op, names, outs, **self.attrs)]
        else:
            nodes = [helper.make_node(op, i, o, **a) for op, i, o, a in self.nodes]
            outs = [nodes[-1].output[0]]
        first = next(a for a in self.inputs if a is not None)
        types = self.out_types or [NP_TO_ONNX[first.dtype]] * len(outs)
        outputs = [helper.make_tensor_value_info(o, t, None) for o, t in zip(outs, types)]
        graph = helper.make_graph(nodes, self.name, ins, outputs)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 9
        return m

    def feeds(self):
        return {f"x{i}": a for i, a in enumerate(self.inputs) if a is not None}


def binary_cases():
    shapes = [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (5,)),
              ((5, 1, 1), (1, 6, 7)), ((64, 257), (257,))]
    out = []
    for op in ["Add", "Sub", "Mul", "Div", "Min", "Max"]:
        for a, b in shapes:
            lo = 0.5 if op == "Div" else -2.0
            out.append(Case(f"{op}_{a}_{b}", op, [rnd(*a), rnd(*b, lo=lo)]))
    out.append(Case("Pow_bcast", "Pow", [rnd(3, 4, lo=0.1), rnd(4, lo=-2)], rtol=1e-6))
    out.append(Case("Max_3inputs", "Max", [rnd(3, 1), rnd(4), rnd(2, 1, 1)]))
    out.append(Case("Min_1input", "Min", [rnd(3, 4)]))
    for dt in (np.int64, np.int32):
        a = RNG.integers(-100, 100, size=(3, 4)).astype(dt)
        b = RNG.integers(1, 9, size=(4,)).astype(dt)
        for op in ["Add", "Sub", "Mul", "Div"]:
            out.append(Case(f"{op}_{np.dtype(dt).name}", op, [a, b], rtol=0))
    return out


def unary_cases():
    specs = [("Sqrt", {}, 0, 4, 1e-6), ("Neg", {}, -4, 4, 0), ("Exp", {}, -10, 10, 1e-5),
             ("Log", {}, 0.01, 9, 1e-5), ("Abs", {}, -4, 4, 0), ("Relu", {}, -4, 4, 0),
             ("LeakyRelu", {"alpha": 0.2}, -4, 4, 1e-6), ("Sigmoid", {}, -20, 20, 1e-5),
             ("Tanh", {}, -6, 6, 1e-5), ("Erf", {}, -4, 4, 1e-5), ("Gelu", {}, -6, 6, 1e-5),
             ("Gelu", {"approximate": "tanh"}, -6, 6, 1e-5),
             ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, -4, 4, 1e-6),
             ("HardSwish", {}, -6, 6, 1e-6)]
    out = []
    for op, attrs, lo, hi, tol in specs:
        for shape in [(2, 3, 4), (), (300, 123)]:
            out.append(Case(f"{op}{attrs}_{shape}", op, [rnd(*shape, lo=lo, hi=hi)], attrs,
                            rtol=tol, atol=1e-6 if tol else 0))
    x = rnd(4, 5, lo=-3, hi=3)
    out.append(Case("Clip_minmax", "Clip", [x, np.array(-1.0, np.float32), np.array(2.0, np.float32)]))
    out.append(Case("Clip_max_only", "Clip", [x, None, np.array(0.5, np.float32)]))
    out.append(Case("Clip_none", "Clip", [x]))
    out.append(Case("Abs_int64", "Abs", [RNG.integers(-50, 50, size=(7,)).astype(np.int64)], rtol=0))
    return out


def norm_cases():
    out = []
    x = rnd(3, 4, 5, lo=-10, hi=10)
    for axis in (0, 1, 2, -1):
        out.append(Case(f"Softmax_axis{axis}", "Softmax", [x], {"axis": axis}, rtol=1e-5, atol=1e-6))
    out.append(Case("Softmax_rows", "Softmax", [rnd(64, 1000, lo=-30, hi=30)], rtol=1e-5, atol=1e-7))
    for axis in (-1, 1):
        ns = x.shape[axis:] if axis > 0 else x.shape[-1:]
        out.append(Case(f"LayerNorm_axis{axis}", "LayerNormalization", [x, rnd(*ns), rnd(*ns)],
                        {"axis": axis, "epsilon": 1e-3}, rtol=1e-4, atol=1e-5))
    out.append(Case("LayerNorm_3outputs", "LayerNormalization", [x, rnd(5)], {"axis": -1},
                    rtol=1e-4, atol=1e-5, num_outputs=3))
    c = 6
    out.append(Case("BatchNorm", "BatchNormalization",
                    [rnd(2, c, 3, 3), rnd(c), rnd(c), rnd(c), rnd(c, lo=0.1, hi=2)],
                    {"epsilon": 1e-4}, rtol=1e-5, atol=1e-6))
    return out


def matmul_cases():
    shapes = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
              ((2, 1, 3, 4), (5, 4, 6)), ((1, 64, 96), (2, 96, 80)),
              ((130, 257), (257, 33))]
    return [Case(f"MatMul_{a}_{b}", "MatMul", [rnd(*a), rnd(*b)], rtol=1e-5, atol=1e-5 * a[-1])
            for a, b in shapes]


def reduce_cases():
    out = []
    x = rnd(3, 4, 5)
    for op in ("ReduceMean", "ReduceSum", "ReduceL2"):
        for axes in ([1], [0, 2], [-1], []):
            for keep in (0, 1):
                ins = [x, i64(*axes)] if axes else [x]
                out.append(Case(f"{op}_{axes}_{keep}", op, ins, {"keepdims": keep}, rtol=1e-5, atol=1e-6))
    return out


def misc_cases():
    out = []
    a = RNG.integers(0, 3, size=(3, 4)).astype(np.int64)
    out.append(Case("Equal_int64", "Equal", [a, a[0]], out_types=[TensorProto.BOOL]))
    f = np.array([1, 2, np.nan, 4], np.float32)
    out.append(Case("Equal_f32", "Equal", [f, np.float32([1, 0, np.nan, 4])], out_types=[TensorProto.BOOL]))
    out.append(Case("Where_bcast", "Where", [RNG.integers(0, 2, size=(3, 1)).astype(bool), rnd(4), rnd(3, 4)],
                    out_types=[TensorProto.FLOAT]))
    for src, to in [(rnd(10, lo=-300, hi=300), TensorProto.FLOAT16), (rnd(10) * 100, TensorProto.INT64),
                    (rnd(10) * 100, TensorProto.INT32), (RNG.integers(-5, 5, 10), TensorProto.FLOAT),
                    (rnd(10), TensorProto.BOOL), (rnd(10, lo=-300, hi=300).astype(np.float16), TensorProto.FLOAT),
                    (rnd(10, lo=0, hi=200), TensorProto.UINT8)]:
        out.append(Case(f"Cast_{src.dtype}_to_{to}", "Cast", [src], {"to": to}, rtol=0, out_types=[to]))
    out.append(Case("Identity", "Identity", [rnd(3, 2)]))
    return out


def shape_cases():
    x = rnd(2, 3, 4)
    out = [
        Case("Reshape", "Reshape", [x, i64(4, -1)]),
        Case("Reshape_zero", "Reshape", [x, i64(0, 0, -1, 2)]),
        Case("Flatten", "Flatten", [x], {"axis": 2}),
        Case("Flatten_neg", "Flatten", [x], {"axis": -1}),
        Case("Transpose_default", "Transpose", [x]),
        Case("Transpose_nhwc", "Transpose", [rnd(2, 3, 4, 5)], {"perm": [0, 2, 3, 1]}),
        Case("Transpose_uint8", "Transpose", [RNG.integers(0, 255, (3, 5, 7)).astype(np.uint8)], {"perm": [2, 0, 1]}),
        Case("Concat", "Concat", [x, rnd(2, 1, 4), rnd(2, 2, 4)], {"axis": 1}),
        Case("Concat_int64", "Concat", [i64(1, 2), i64(3)], {"axis": 0}),
        Case("Slice", "Slice", [x, i64(0, 3), i64(1, 0), i64(0, 2), i64(1, -1)]),
        Case("Slice_neg", "Slice", [x, i64(-2), i64(-100), i64(1), i64(-1)]),
        Case("Slice_clamp", "Slice", [x, i64(1), i64(2**62), i64(-1), i64(2)]),
        Case("Gather_axis1", "Gather", [x, np.array([[2, -1], [0, 1]], np.int64)], {"axis": 1}),
        Case("Gather_scalar", "Gather", [x, np.array(1, np.int64)], {"axis": 0}),
        Case("Squeeze", "Squeeze", [rnd(1, 3, 1, 2), i64(0, -2)]),
        Case("Squeeze_all", "Squeeze", [rnd(1, 3, 1, 2)]),
        Case("Unsqueeze", "Unsqueeze", [rnd(3, 2), i64(0, 3)]),
        Case("Expand", "Expand", [rnd(3, 1), i64(2, 1, 4)]),
        Case("Tile", "Tile", [rnd(2, 3), i64(2, 2)]),
        Case("Shape", "Shape", [x], {"start": 1}, out_types=[TensorProto.INT64]),
        Case("Range", "Range", [np.array(1.0, np.float32), np.array(4.0, np.float32),
                                np.array(0.5, np.float32)]),
        Case("ConstantOfShape", "ConstantOfShape", [i64(2, 3)],
             {"value": helper.make_tensor("v", TensorProto.FLOAT, [1], [2.5])},
             out_types=[TensorProto.FLOAT]),
        Case("Split", "Split", [rnd(2, 7), i64(3, 4)], {"axis": 1}, num_outputs=2),
        Case("Split_num_outputs", "Split", [rnd(7, 2)], {"num_outputs": 3, "axis": 0}, num_outputs=3),
    ]
    # A shape subgraph the runtime must fold at plan time: y = Reshape(x, [dim0 * dim1, -1]).
    out.append(Case("ShapeChain", None, [x], nodes=[
        ("Shape", ["x0"], ["s"], {}),
        ("Gather", ["s", "c0"], ["d0"], {}),
        ("Gather", ["s", "c1"], ["d1"], {}),
        ("Mul", ["d0", "d1"], ["d01"], {}),
        ("Concat", ["d01", "cm1"], ["shape"], {"axis": 0}),
        ("Reshape", ["x0", "shape"], ["y"], {}),
    ]))
    return out


def test_pad_and_gather_elements_errors():
    x = rnd(2, 3)
    def model(op, inputs, attrs, consts):
        node = helper.make_node(op, [n for n, _ in inputs], ["y0"], **attrs)
        vi = [helper.make_tensor_value_info(n, NP_TO_ONNX[a.dtype], a.shape) for n, a in inputs if n not in consts]
        inits = [helper.make_tensor(n, NP_TO_ONNX[a.dtype], a.shape, a.flatten().tolist()) for n, a in inputs if n in consts]
        g = helper.make_graph([node], "e", vi, [helper.make_tensor_value_info("y0", TensorProto.FLOAT, None)], inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    m = model("GatherElements", [("x0", x), ("x1", np.array([[0, 2, 1]], np.int64))], {"axis": 0}, ())
    with pytest.raises(ValueError, match="out of range"):
        run_qrt(m, {"x0": x, "x1": np.array([[0, 2, 1]], np.int64)})
    m = model("Pad", [("x0", x), ("p", i64(0, 3, 0, 0))], {"mode": "reflect"}, ("p",))
    with pytest.raises(ValueError, match="reflect pads"):
        run_qrt(m, {"x0": x})


def test_scatter_index_out_of_range_is_an_error():
    """A bad index from a runtime input is an error naming it (never a write outside the output);
    a bad constant index is refused at plan time."""
    x = rnd(3, 4)

    def model(op, idx_shape, upd_shape, attrs, const_idx=None):
        node = helper.make_node(op, ["x0", "x1", "x2"], ["y0"], **attrs)
        vi = [helper.make_tensor_value_info("x0", TensorProto.FLOAT, x.shape),
              helper.make_tensor_value_info("x2", TensorProto.FLOAT, upd_shape)]
        inits = []
        if const_idx is None:
            vi.insert(1, helper.make_tensor_value_info("x1", TensorProto.INT64, idx_shape))
        else:
            inits = [helper.make_tensor("x1", TensorProto.INT64, const_idx.shape, const_idx.flatten().tolist())]
        g = helper.make_graph([node], "s", vi, [helper.make_tensor_value_info("y0", TensorProto.FLOAT, None)], inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])

    m = model("ScatterND", [2, 1], [2, 4], {})
    for bad in (3, -4, 1 << 40):
        with pytest.raises(ValueError, match=f"index {bad} is out of range"):
            run_qrt(m, {"x0": x, "x1": np.array([[0], [bad]], np.int64), "x2": rnd(2, 4)})
    m = model("ScatterElements", [1, 2], [1, 2], {"axis": 1})
    with pytest.raises(ValueError, match="index 4 is out of range for axis 1 of size 4"):
        run_qrt(m, {"x0": x, "x1": np.array([[0, 4]], np.int64), "x2": rnd(1, 2)})
    m = model("ScatterND", None, [1, 4], {}, const_idx=np.array([[5]], np.int64))
    with pytest.raises(Exception, match="index 5 is out of range"):
        run_qrt(m, {"x0": x, "x2": rnd(1, 4)})


def _with_constants(case, model):
    if case.name != "ShapeChain":
        return model
    for name, v in (("c0", [0]), ("c1", [1]), ("cm1", [-1])):
        model.graph.initializer.append(helper.make_tensor(name, TensorProto.INT64, [1], v))
    return model


def compare_logic_cases():
    """Comparisons, logical ops, Mod, Sum, rounding, LogSoftmax, ReduceMax/Min, GatherElements,
    Pad, Size and CastLike: bit-exact except where stated."""
    out = []
    B = [TensorProto.BOOL]
    shapes = [((2, 3, 4), (2, 3, 4)), ((2, 1, 4), (3, 1)), ((), (5,)), ((64, 257), (257,))]
    f = np.float32([1, 2, np.nan, 4, -0.0, np.inf])
    g = np.float32([1, 0, np.nan, 5, 0.0, np.inf])
    for op in ("Less", "Greater", "LessOrEqual", "GreaterOrEqual"):
        for a, b in shapes:
            # Rounded values, so that equal pairs occur and <= / >= differ from < / >.
            out.append(Case(f"{op}_{a}_{b}", op, [np.asarray(np.round(rnd(*a)), np.float32), np.asarray(np.round(rnd(*b)), np.float32)], out_types=B))
        out.append(Case(f"{op}_nan_inf_zero", op, [f, g], out_types=B))
        ai = RNG.integers(-3, 3, size=(3, 4))
        for dt in (np.int64, np.int32):
            out.append(Case(f"{op}_{np.dtype(dt).name}", op, [ai.astype(dt), ai[1].astype(dt)], out_types=B))
    for op in ("And", "Or", "Xor"):
        for a, b in [((3, 4), (3, 4)), ((2, 1, 4), (3, 1)), ((), (6,))]:
            out.append(Case(f"{op}_{a}_{b}", op, [RNG.integers(0, 2, size=a).astype(bool),
                                                   RNG.integers(0, 2, size=b).astype(bool)], out_types=B))
    out.append(Case("Not", "Not", [RNG.integers(0, 2, size=(5, 7)).astype(bool)], out_types=B))
    for dt in (np.int64, np.int32):
        a = RNG.integers(-50, 50, size=(4, 6)).astype(dt)
        b = RNG.choice(np.array([-7, -3, -1, 1, 2, 5], dt), size=(6,))
        for fm in (0, 1):
            out.append(Case(f"Mod_{np.dtype(dt).name}_fmod{fm}", "Mod", [a, b], {"fmod": fm}, rtol=0))
    fa, fb = rnd(4, 6, lo=-9, hi=9), RNG.choice(np.float32([-2.5, -1, 0.75, 3]), size=(6,))
    out.append(Case("Mod_f32_fmod1", "Mod", [fa, fb], {"fmod": 1}, rtol=0))
    out.append(Case("Sum_3inputs", "Sum", [rnd(3, 1), rnd(4), rnd(2, 1, 1)], rtol=1e-6))
    out.append(Case("Sum_1input", "Sum", [rnd(3, 4)], rtol=0))
    halves = np.float32([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.49, 0.51, 7.0, -0.0])
    for op in ("Floor", "Ceil", "Round"):
        out.append(Case(f"{op}_halves", op, [halves], rtol=0))
        out.append(Case(f"{op}_rand", op, [rnd(30, 40, lo=-50, hi=50)], rtol=0))
    out.append(Case("Reciprocal", "Reciprocal", [rnd(30, 40, lo=0.1, hi=5) * RNG.choice([-1, 1], (30, 40)).astype(np.float32)],
                    rtol=1e-7))
    x = rnd(3, 4, 5, lo=-10, hi=10)
    for axis in (0, 1, -1):
        out.append(Case(f"LogSoftmax_axis{axis}", "LogSoftmax", [x], {"axis": axis}, rtol=1e-5, atol=1e-5))
    out.append(Case("LogSoftmax_rows", "LogSoftmax", [rnd(16, 1000, lo=-30, hi=30)], rtol=1e-5, atol=1e-5))
    for op in ("ReduceMax", "ReduceMin"):
        for axes in ([1], [0, 2], [-1], []):
            for keep in (0, 1):
                ins = [x, i64(*axes)] if axes else [x]
                out.append(Case(f"{op}_{axes}_{keep}", op, ins, {"keepdims": keep}, rtol=0))
    d = rnd(3, 4, 5)
    for axis, ishape in ((0, (2, 4, 5)), (1, (3, 6, 5)), (-1, (3, 4, 2)), (2, (1, 2, 7))):
        n = d.shape[axis]
        idx = RNG.integers(-n, n, size=ishape).astype(np.int64)
        out.append(Case(f"GatherElements_axis{axis}", "GatherElements", [d, idx], {"axis": axis}, rtol=0))
    img = rnd(1, 3, 5, 6)
    for mode in ("constant", "reflect", "edge", "wrap"):
        out.append(Case(f"Pad_{mode}", "Pad", [img, i64(0, 0, 2, 1, 0, 0, 1, 3)], {"mode": mode}, rtol=0))
    out.append(Case("Pad_constant_value_crop", "Pad", [img, i64(0, 1, -1, 2, 0, -1, 2, -2),
                                                       np.array(1.5, np.float32)], rtol=0))
    out.append(Case("Pad_axes", "Pad", [img, i64(1, 2, 3, 0), None, i64(-1, 2)], {"mode": "reflect"}, rtol=0))
    out.append(Case("Pad_int64", "Pad", [RNG.integers(-9, 9, size=(3, 4)).astype(np.int64), i64(1, 0, 0, 2),
                                         np.array(7, np.int64)], rtol=0))
    for op in ("ReduceProd", "ReduceL1", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"):
        xr = rnd(3, 4, 5, lo=0.5, hi=1.5) if op in ("ReduceProd", "ReduceLogSum") else x
        for axes in ([1], [0, 2], []):
            ins = [xr, i64(*axes)] if axes else [xr]
            out.append(Case(f"{op}_{axes}", op, ins, {"keepdims": 0}, rtol=1e-5, atol=1e-6))
    ties = np.float32([[1, 3, 3, 0], [2, 2, 1, 2], [5, 5, 5, 5]])
    for op in ("ArgMax", "ArgMin"):
        for axis in (0, 1, -1):
            for keep in (0, 1):
                out.append(Case(f"{op}_axis{axis}_keep{keep}", op, [x], {"axis": axis, "keepdims": keep},
                                out_types=[TensorProto.INT64]))
        for last in (0, 1):
            out.append(Case(f"{op}_ties_last{last}", op, [ties], {"axis": 1, "select_last_index": last},
                            out_types=[TensorProto.INT64]))
        out.append(Case(f"{op}_int32", op, [RNG.integers(-3, 3, size=(4, 6)).astype(np.int32)], {"axis": 1},
                        out_types=[TensorProto.INT64]))
    for op, attrs in [("Elu", {}), ("Elu", {"alpha": 0.5}), ("Selu", {}), ("Celu", {"alpha": 2.0}),
                      ("Softplus", {}), ("Softsign", {}), ("Mish", {}), ("ThresholdedRelu", {"alpha": 0.3}),
                      ("Sin", {}), ("Cos", {}), ("Sign", {})]:
        v = rnd(20, 30, lo=-10, hi=10)
        v[0, :3] = [0.0, -0.0, 0.3]
        out.append(Case(f"{op}{attrs}", op, [v], attrs, rtol=1e-5, atol=1e-6))
    out.append(Case("Size", "Size", [x], out_types=[TensorProto.INT64]))
    out.append(Case("CastLike_f32_to_i64", "CastLike", [rnd(10) * 100, i64(0)], rtol=0, out_types=[TensorProto.INT64]))
    out.append(Case("CastLike_i32_to_f32", "CastLike", [RNG.integers(-5, 5, 10).astype(np.int32), rnd(1)], rtol=0,
                    out_types=[TensorProto.FLOAT]))
    return out


def resize_cases():
    """Resize: nearest (every nearest_mode, any dtype) bit-exact; linear and cubic (f32 weights,
    f32 sums against ORT's) 1e-5 / 1e-5."""
    out = []
    img = rnd(1, 3, 7, 9)
    E = np.zeros(0, np.float32)  # an empty roi / scales input
    up, down, odd = np.float32([1, 1, 2, 1.5]), np.float32([1, 1, 0.6, 0.45]), np.float32([1, 1, 1.7, 0.8])
    for nm in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
        for ct in ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"):
            for tag, sc in (("up", up), ("down", down), ("odd", odd)):
                out.append(Case(f"Resize_nearest_{nm}_{ct}_{tag}", "Resize", [img, E, sc],
                                {"mode": "nearest", "nearest_mode": nm, "coordinate_transformation_mode": ct},
                                rtol=0))
    for mode, extra in (("linear", {}), ("cubic", {}), ("cubic", {"cubic_coeff_a": -0.5, "exclude_outside": 1})):
        for ct in ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric"):
            for tag, sc in (("up", up), ("down", down), ("odd", odd)):
                out.append(Case(f"Resize_{mode}{len(extra)}_{ct}_{tag}", "Resize", [img, E, sc],
                                {"mode": mode, "coordinate_transformation_mode": ct, **extra},
                                rtol=1e-5, atol=1e-5))
        out.append(Case(f"Resize_{mode}{len(extra)}_sizes", "Resize", [img, E, None, i64(1, 3, 12, 5)],
                        {"mode": mode, **extra}, rtol=1e-5, atol=1e-5))
        out.append(Case(f"Resize_{mode}{len(extra)}_antialias", "Resize", [img, E, np.float32([1, 1, 0.5, 0.3])],
                        {"mode": mode, "antialias": 1, **extra}, rtol=1e-5, atol=1e-5))
    roi = np.float32([0, 0, 0.2, -0.1, 1, 1, 0.9, 1.2])
    for mode in ("nearest", "linear", "cubic"):
        out.append(Case(f"Resize_tf_crop_{mode}", "Resize", [img, roi, None, i64(1, 3, 5, 8)],
                        {"mode": mode, "coordinate_transformation_mode": "tf_crop_and_resize",
                         "extrapolation_value": 2.5}, rtol=1e-5, atol=1e-5))
    for pol in ("not_larger", "not_smaller"):
        out.append(Case(f"Resize_axes_policy_{pol}", "Resize", [img, E, None, i64(10, 4)],
                        {"mode": "linear", "axes": [3, 2], "keep_aspect_ratio_policy": pol}, rtol=1e-5, atol=1e-5))
    out.append(Case("Resize_nearest_int32", "Resize",
                    [RNG.integers(-9, 9, size=(2, 3, 4)).astype(np.int32), E, np.float32([1, 2.5, 0.5])],
                    {"mode": "nearest"}, rtol=0))
    out.append(Case("Resize_linear_nhwc", "Resize", [rnd(1, 6, 5, 16), E, np.float32([1, 2, 2, 1])],
                    {"mode": "linear"}, rtol=1e-5, atol=1e-5))
    out.append(Case("Resize_nearest_nhwc", "Resize", [rnd(1, 5, 4, 8), E, np.float32([1, 1.6, 2.5, 1])],
                    {"mode": "nearest"}, rtol=0))
    out.append(Case("Resize_linear_2d", "Resize", [rnd(5, 7), E, np.float32([3, 0.5])],
                    {"mode": "linear", "coordinate_transformation_mode": "align_corners"}, rtol=1e-5, atol=1e-5))
    return out



def space_norm_cases():
    """DepthToSpace / SpaceToDepth (bit-exact), ConvTranspose and InstanceNormalization (1e-5 /
    1e-5)."""
    out = []
    x = rnd(2, 12, 3, 5)
    for mode in ("DCR", "CRD"):
        out.append(Case(f"DepthToSpace_{mode}", "DepthToSpace", [x], {"blocksize": 2, "mode": mode}, rtol=0))
    out.append(Case("DepthToSpace_u8_b1", "DepthToSpace", [RNG.integers(0, 255, size=(1, 3, 2, 2)).astype(np.uint8)],
                    {"blocksize": 1}, rtol=0))
    out.append(Case("SpaceToDepth", "SpaceToDepth", [rnd(2, 3, 6, 9)], {"blocksize": 3}, rtol=0))
    # ConvTranspose: f32 GEMM + gather, different summation order than ORT's: 1e-5 / 1e-5.
    ct = [("k3s2p1op1", (2, 8, 5, 6), (8, 6, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 1]}),
          ("k4s2p1", (1, 6, 7, 5), (6, 4, 4, 4), {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
          ("k2s2", (1, 16, 8, 8), (16, 8, 2, 2), {"strides": [2, 2]}),
          ("group2_dil2", (1, 6, 5, 5), (6, 3, 3, 2), {"group": 2, "dilations": [2, 1], "strides": [1, 3],
                                                        "pads": [0, 1, 2, 0]}),
          ("depthwise", (1, 5, 6, 6), (5, 1, 3, 3), {"group": 5, "strides": [2, 2], "pads": [1, 1, 1, 1]}),
          ("1d", (2, 4, 9), (4, 3, 5), {"strides": [3], "pads": [2, 1]}),
          ("same_upper", (1, 3, 5, 4), (3, 2, 3, 3), {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
          ("same_lower", (1, 3, 5, 4), (3, 2, 4, 3), {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
          ("output_shape", (1, 2, 4, 4), (2, 3, 3, 3), {"strides": [2, 2], "output_shape": [8, 9]})]
    for name, xs, ws, attrs in ct:
        b = rnd(ws[1] * attrs.get("group", 1))
        out.append(Case(f"ConvTranspose_{name}", "ConvTranspose", [rnd(*xs), rnd(*ws), b], attrs,
                        rtol=1e-5, atol=1e-5))
    out.append(Case("ConvTranspose_nobias", "ConvTranspose", [rnd(1, 3, 4, 4), rnd(3, 2, 3, 3)],
                    {"strides": [2, 2]}, rtol=1e-5, atol=1e-5))
    for shape in ((2, 3, 5, 7), (1, 4, 11), (2, 2, 3, 4, 5)):
        C = shape[1]
        out.append(Case(f"InstanceNormalization_{len(shape)}d", "InstanceNormalization",
                        [rnd(*shape) * 3 + 1, rnd(C), rnd(C)], {"epsilon": 1e-3}, rtol=1e-5, atol=1e-5))
    return out


def scan_topk_prelu_cases():
    out = []
    x = rnd(3, 4, 5)
    xi = RNG.integers(-50, 50, size=(3, 4, 5))
    for axis in (0, 1, -1):
        for excl in (0, 1):
            for rev in (0, 1):
                attrs = {"exclusive": excl, "reverse": rev}
                out.append(Case(f"CumSum_f32_{axis}_{excl}{rev}", "CumSum", [x, i64(axis)], attrs,
                                rtol=1e-5, atol=1e-6))
                out.append(Case(f"CumSum_s64_{axis}_{excl}{rev}", "CumSum", [xi, i64(axis)], attrs))
    out.append(Case("CumSum_s32", "CumSum", [xi.astype(np.int32), np.array(1, np.int32)], {"reverse": 1}))
    # ties (small integers as floats) must come out by ascending index, as ORT orders them
    ties = RNG.integers(0, 4, size=(4, 9)).astype(np.float32)
    for src, name in ((rnd(4, 9, 3), "f32"), (ties, "ties"), (xi, "s64")):
        for axis in (0, 1, -1):
            n = src.shape[axis]
            for k in sorted({1, min(3, n), n}):
                for largest in (0, 1):
                    out.append(Case(f"TopK_{name}_{axis}_{k}_{largest}", "TopK", [src, i64(k)],
                                    {"axis": axis, "largest": largest}, rtol=0, num_outputs=2,
                                    out_types=[NP_TO_ONNX[src.dtype], TensorProto.INT64]))
    for xs, ss in (((2, 3, 4, 5), (3, 1, 1)), ((2, 4, 5, 3), (3,)), ((6,), (1,)), ((2, 3), (2, 3))):
        out.append(Case(f"PRelu_{len(xs)}_{len(ss)}", "PRelu", [rnd(*xs), rnd(*ss, lo=-1, hi=1)], rtol=0))
    return out


def _layout0_twin(case):
    """ONNX Runtime refuses layout = 1 recurrent layers: the same computation as a layout-0 node
    between Transposes (X and the initial states in, Y and the final states out)."""
    op, ins, attrs = case.op, case.inputs, dict(case.attrs, layout=0)
    names = [f"x{i}" if a is not None else "" for i, a in enumerate(ins)]
    nodes = [helper.make_node("Transpose", ["x0"], ["xt"], perm=[1, 0, 2])]
    names[0] = "xt"
    for i in (5, 6):
        if i < len(ins) and ins[i] is not None:
            nodes.append(helper.make_node("Transpose", [f"x{i}"], [f"s{i}"], perm=[1, 0, 2]))
            names[i] = f"s{i}"
    outs = [f"t{k}" for k in range(case.num_outputs)]
    nodes.append(helper.make_node(op, names, outs, **attrs))
    for k in range(case.num_outputs):
        perm = [2, 0, 1, 3] if k == 0 else [1, 0, 2]
        nodes.append(helper.make_node("Transpose", [f"t{k}"], [f"y{k}"], perm=perm))
    gin = [helper.make_tensor_value_info(f"x{i}", NP_TO_ONNX[a.dtype], a.shape)
           for i, a in enumerate(ins) if a is not None]
    gout = [helper.make_tensor_value_info(f"y{k}", TensorProto.FLOAT, None) for k in range(case.num_outputs)]
    m = helper.make_model(helper.make_graph(nodes, case.name + "_layout0", gin, gout),
                          opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 9
    return m


def rnn_cases():
    """LSTM, GRU, RNN over directions, layouts 0/1, batch 1 and 3, 1 and 7 steps, with and without
    the optional inputs (bias, sequence_lens, initial states, peepholes), GRU's
    linear_before_reset 0/1, clip, input_forget and non-default activations. W and R become
    constants (onnx_node_util.VALUE_INPUTS). ORT sums in another order and its sigmoid/tanh are
    its own approximations: 1e-5 / 1e-5 (values are O(1), errors compound over the steps)."""
    out = []
    per = {"LSTM": 4, "GRU": 3, "RNN": 1}

    def inputs(op, T, B, I, H, D, layout, full, lens=None):
        w = RNG.uniform(-0.5, 0.5, size=(D, per[op] * H, I)).astype(np.float32)
        r = RNG.uniform(-0.5, 0.5, size=(D, per[op] * H, H)).astype(np.float32)
        x = rnd(*((B, T, I) if layout else (T, B, I)), lo=-1.5, hi=1.5)
        st = (B, D, H) if layout else (D, B, H)
        if not full:
            return [x, w, r]
        b = RNG.uniform(-0.5, 0.5, size=(D, 2 * per[op] * H)).astype(np.float32)
        seq = np.asarray(lens if lens is not None else [T] * B, np.int32)
        ins = [x, w, r, b, seq, rnd(*st, lo=-1, hi=1)]
        if op == "LSTM":
            ins += [rnd(*st, lo=-1, hi=1), RNG.uniform(-0.5, 0.5, size=(D, 3 * H)).astype(np.float32)]
        return ins

    def case(name, op, ins, attrs, n):
        c = Case(name, op, ins, attrs, rtol=1e-5, atol=1e-5, num_outputs=n)
        if attrs.get("layout"):
            c.ort_model = lambda: _layout0_twin(c)
        return c

    for op in ("LSTM", "GRU", "RNN"):
        for direction in ("forward", "reverse", "bidirectional"):
            D = 2 if direction == "bidirectional" else 1
            for layout in (0, 1):
                for lbr in ((0, 1) if op == "GRU" else (None,)):
                    attrs = {"hidden_size": 5, "direction": direction, "layout": layout}
                    if lbr is not None:
                        attrs["linear_before_reset"] = lbr
                    tag = f"{op}_{direction}_layout{layout}" + ("" if lbr is None else f"_lbr{lbr}")
                    n = 3 if op == "LSTM" else 2
                    out.append(case(f"{tag}_T1_B1", op, inputs(op, 1, 1, 4, 5, D, layout, False), attrs, n))
                    out.append(case(f"{tag}_T7_B3_full", op, inputs(op, 7, 3, 4, 5, D, layout, True), attrs, n))
                    out.append(case(f"{tag}_T7_B3_seqlens", op,
                                    inputs(op, 7, 3, 4, 5, D, layout, True, lens=[7, 2, 5]), attrs, n))
    # Wider than the kernels' tiles and vectors, clip, input_forget, other activations.
    big = {"hidden_size": 37, "direction": "bidirectional"}
    out.append(Case("LSTM_wide_clip", "LSTM", inputs("LSTM", 6, 3, 29, 37, 2, 0, True, lens=[6, 1, 4]),
                    {**big, "clip": 0.8}, rtol=1e-5, atol=1e-5, num_outputs=3))
    out.append(Case("LSTM_input_forget", "LSTM", inputs("LSTM", 5, 2, 6, 8, 1, 0, True),
                    {"hidden_size": 8, "input_forget": 1}, rtol=1e-5, atol=1e-5, num_outputs=3))
    out.append(Case("LSTM_activations", "LSTM", inputs("LSTM", 5, 2, 6, 8, 2, 0, True),
                    {"hidden_size": 8, "direction": "bidirectional",
                     "activations": ["Sigmoid", "Relu", "Tanh", "Sigmoid", "Tanh", "Relu"]},
                    rtol=1e-5, atol=1e-5, num_outputs=3))
    for lbr in (0, 1):
        out.append(case(f"GRU_wide_clip_lbr{lbr}", "GRU", inputs("GRU", 6, 3, 29, 37, 2, 1, True, lens=[3, 6, 1]),
                        {**big, "layout": 1, "clip": 0.6, "linear_before_reset": lbr}, 2))
    out.append(Case("RNN_relu", "RNN", inputs("RNN", 7, 3, 4, 5, 2, 0, True, lens=[1, 7, 4]),
                    {"hidden_size": 5, "direction": "bidirectional", "activations": ["Relu", "Relu"]},
                    rtol=1e-5, atol=1e-5, num_outputs=2))
    out.append(Case("RNN_Y_only", "RNN", inputs("RNN", 7, 3, 4, 5, 1, 0, False), {"hidden_size": 5},
                    rtol=1e-5, atol=1e-5, num_outputs=1))
    return out


def scatter_cases():
    """ScatterND / ScatterElements: slices and single elements, negative and repeated indices
    (a later update wins for "none"; reductions combine all), s32 indices, integer data,
    degenerate shapes. Indices are runtime inputs (checked in run()), as an export's are."""
    out = []
    for red in ("none", "add", "mul", "max", "min"):
        x = rnd(4, 3, 5)
        for name, idx in (("slices", np.array([[1], [-1]], np.int64)),
                          ("rows", np.array([[0, 2], [3, -3], [0, 2]], np.int64)),
                          ("elems", np.array([[[1, 1, 4], [2, 0, -5]]], np.int64))):
            upd_shape = idx.shape[:-1] + x.shape[idx.shape[-1]:]
            if red == "none" and name == "rows":  # ORT's order for repeated indices is its own
                idx = idx[:2]
                upd_shape = idx.shape[:-1] + x.shape[idx.shape[-1]:]
            out.append(Case(f"ScatterND_{name}_{red}", "ScatterND", [x, idx, rnd(*upd_shape)],
                            {"reduction": red}, rtol=1e-6))
        xi = RNG.integers(-9, 9, size=(5, 6))
        idx = np.array([[0, 1, 2], [4, -1, 0]], np.int64)
        for axis in (0, 1, -1):
            ix = idx if red != "none" else np.array([[0, 1, 2], [4, -1, 3]], np.int64)
            out.append(Case(f"ScatterElements_{axis}_{red}", "ScatterElements", [rnd(5, 6), ix, rnd(*ix.shape)],
                            {"axis": axis, "reduction": red}, rtol=1e-6))
        out.append(Case(f"ScatterElements_s64_{red}", "ScatterElements",
                        [xi, idx.astype(np.int32), RNG.integers(-9, 9, size=idx.shape)],
                        {"axis": 1, "reduction": red}))
    out.append(Case("ScatterND_bool_none", "ScatterND",
                    [RNG.integers(0, 2, size=(3, 4)).astype(bool), np.array([[2]], np.int64),
                     np.ones((1, 4), bool)], {}))
    out.append(Case("ScatterND_empty_updates", "ScatterND",
                    [rnd(3, 4), np.zeros((0, 1), np.int64), rnd(0, 4)], {}))
    return out


def trilu_cases():
    """Trilu: upper and lower, k from far below to far above the diagonal (a k of 2**62 must not
    overflow the index arithmetic), batched, rectangular, empty, integer and bool data; k is a
    run-time input."""
    out = []
    for upper in (0, 1):
        for k in (-(1 << 62), -4, -1, 0, 2, 7, 1 << 62):
            out.append(Case(f"Trilu_u{upper}_k{k}", "Trilu", [rnd(2, 3, 5, 4), i64(k)], {"upper": upper}))
        out.append(Case(f"Trilu_u{upper}_nok", "Trilu", [rnd(6, 3)], {"upper": upper}))
        out.append(Case(f"Trilu_u{upper}_s64", "Trilu", [RNG.integers(-9, 9, size=(4, 4)), i64(1)], {"upper": upper}))
        out.append(Case(f"Trilu_u{upper}_bool", "Trilu", [np.ones((3, 5), bool), i64(-1)], {"upper": upper}))
        out.append(Case(f"Trilu_u{upper}_empty", "Trilu", [rnd(2, 0, 3), i64(0)], {"upper": upper}))
    return out


CASES = binary_cases() + unary_cases() + norm_cases() + matmul_cases() + reduce_cases() + \
    misc_cases() + shape_cases() + compare_logic_cases() + resize_cases() + space_norm_cases() + \
    scan_topk_prelu_cases() + rnn_cases() + scatter_cases() + trilu_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_against_onnxruntime(case):
    model = _with_constants(case, case.model())
    ort_model = case.ort_model() if case.ort_model else model
    sess = ort.InferenceSession(ort_model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, case.feeds())
    for threads in (1, 2):
        got = run_qrt(model, case.feeds(), threads=threads)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape, (g.shape, w.shape)
            assert g.dtype == w.dtype, (g.dtype, w.dtype)
            if w.dtype.kind == "f" and (case.rtol or case.atol):
                np.testing.assert_allclose(g, w, rtol=case.rtol, atol=case.atol)
            else:
                np.testing.assert_array_equal(g, w)


def test_silu_matches_definition():
    x = rnd(5, 300, lo=-20, hi=20)
    node = helper.make_node("Silu", ["x0"], ["y0"])
    graph = helper.make_graph([node], "silu", [helper.make_tensor_value_info("x0", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y0", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    (y,) = run_qrt(model, {"x0": x})
    np.testing.assert_allclose(y, x / (1 + np.exp(-x.astype(np.float64))), rtol=1e-5, atol=1e-6)


def test_gather_out_of_range_is_an_error():
    x = rnd(3, 2)
    node = helper.make_node("Gather", ["x0", "x1"], ["y0"], axis=0)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x0", TensorProto.FLOAT, x.shape),
                                            helper.make_tensor_value_info("x1", TensorProto.INT64, [2])],
                              [helper.make_tensor_value_info("y0", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    with pytest.raises(ValueError, match="out of range"):
        run_qrt(model, {"x0": x, "x1": np.array([0, 3], np.int64)})
