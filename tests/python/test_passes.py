"""Graph passes: each rewrite is checked for semantics (numpy evaluator vs onnxruntime on the
original model) and for the shape of the result (what got fused, where transposes remain)."""

from __future__ import annotations

import sys
import types

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper


def _import_qrt():
    # The converter needs no compiled code; until qrt._core is built, stand in for it so that
    # `import qrt` (whose __init__ loads the runtime) succeeds.
    try:
        import qrt  # noqa: F401
    except ImportError:
        sys.modules.setdefault("qrt._core", types.ModuleType("qrt._core"))


_import_qrt()

from qrt import passes  # noqa: E402
from qrt.convert import check_supported  # noqa: E402
from qrt.frontends.onnx import import_onnx  # noqa: E402
from qrt.ir.evaluate import Evaluator  # noqa: E402

RNG = np.random.default_rng(0)


def make_model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "t", inputs, outputs,
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    if all(o.type.tensor_type.HasField("shape") for o in outputs):
        onnx.checker.check_model(m)
    return m


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def ort_run(m, feeds):
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def converted(m, nhwc=True):
    im = import_onnx(m)
    passes.run_all(im.graph, nhwc=nhwc)
    check_supported(im.graph)
    return im.graph


def assert_same(m, feeds, g, rtol=1e-4, atol=1e-5):
    ref = ort_run(m, feeds)
    got = Evaluator(g).run(feeds)
    for o, r in zip(g.outputs, ref):
        np.testing.assert_allclose(got[o], r, rtol=rtol, atol=atol)


def ops(g):
    return [n.op for n in g.nodes]


def f32(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def test_batchnorm_folds_into_conv_and_relu_fuses():
    c = 6
    inits = {"w": f32(c, 3, 3, 3), "b": f32(c), "g": f32(c) + 2, "beta": f32(c),
             "mean": f32(c), "var": np.abs(f32(c)) + 0.5}
    m = make_model([
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["bn"], epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["y"]),
    ], [vi("x", [2, 3, 7, 5])], [vi("y", [2, c, 7, 5])], inits)
    g = converted(m)
    assert ops(g) == ["Transpose", "Conv2d", "Transpose"]
    conv = g.nodes[1]
    assert conv.attrs["activation"] == "relu"
    assert list(g.const(conv.inputs[1]).shape) == [c, 3, 3, 3]  # [O, KH, KW, C]
    assert_same(m, {"x": f32(2, 3, 7, 5)}, g)


def test_batchnorm_folds_into_gemm():
    inits = {"w": f32(5, 4), "b": f32(5), "g": f32(5), "beta": f32(5), "mean": f32(5),
             "var": np.abs(f32(5)) + 0.1}
    m = make_model([
        helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1),
        helper.make_node("BatchNormalization", ["h", "g", "beta", "mean", "var"], ["y"]),
    ], [vi("x", [3, 4])], [vi("y", [3, 5])], inits)
    g = converted(m)
    assert ops(g) == ["Dense"]
    assert_same(m, {"x": f32(3, 4)}, g)


@pytest.mark.parametrize("trans_a,trans_b,alpha,beta,cshape", [
    (0, 0, 1.0, 1.0, (5,)), (0, 1, 0.5, 2.0, (1, 5)), (1, 0, 1.0, 1.0, ()),
    (0, 1, 1.0, 1.0, (3, 5)), (0, 0, 2.0, 0.5, None)])
def test_gemm_becomes_dense(trans_a, trans_b, alpha, beta, cshape):
    a_shape = [4, 3] if trans_a else [3, 4]
    w = f32(5, 4) if trans_b else f32(4, 5)
    inits = {"w": w}
    ins = ["x", "w"]
    if cshape is not None:
        inits["c"] = f32(*cshape)
        ins.append("c")
    m = make_model([helper.make_node("Gemm", ins, ["y"], transA=trans_a, transB=trans_b,
                                     alpha=alpha, beta=beta)],
                   [vi("x", a_shape)], [vi("y", [3, 5])], inits)
    g = converted(m)
    assert "Dense" in ops(g) and "Gemm" not in ops(g)
    assert_same(m, {"x": f32(*a_shape)}, g)


def test_gemm_with_dynamic_b_is_lowered():
    m = make_model([helper.make_node("Gemm", ["x", "b"], ["y"], transB=1, alpha=0.5)],
                   [vi("x", [3, 4]), vi("b", [5, 4])], [vi("y", [3, 5])], {})
    g = converted(m)
    assert "MatMul" in ops(g)
    assert_same(m, {"x": f32(3, 4), "b": f32(5, 4)}, g)


def test_matmul_add_becomes_dense_with_bias():
    m = make_model([helper.make_node("MatMul", ["x", "w"], ["h"]),
                    helper.make_node("Add", ["h", "b"], ["y"])],
                   [vi("x", [2, 7, 4])], [vi("y", [2, 7, 6])], {"w": f32(4, 6), "b": f32(6)})
    g = converted(m)
    assert ops(g) == ["Dense"] and len(g.nodes[0].inputs) == 3
    assert_same(m, {"x": f32(2, 7, 4)}, g)


def _gelu_nodes(order):
    s2 = helper.make_node("Div", ["x", "sqrt2"], ["d"])
    erf = helper.make_node("Erf", ["d"], ["e"])
    add = helper.make_node("Add", ["e", "one"], ["a"])
    if order == "torch":      # (x * (1 + erf)) * 0.5
        return [s2, erf, add, helper.make_node("Mul", ["x", "a"], ["m"]),
                helper.make_node("Mul", ["m", "half"], ["y"])]
    if order == "half_first":  # (0.5 * x) * (1 + erf)
        return [s2, erf, add, helper.make_node("Mul", ["half", "x"], ["h"]),
                helper.make_node("Mul", ["h", "a"], ["y"])]
    return [s2, erf, add, helper.make_node("Mul", ["a", "half"], ["h"]),   # x * ((1 + erf) * 0.5)
            helper.make_node("Mul", ["x", "h"], ["y"])]


@pytest.mark.parametrize("order", ["torch", "half_first", "half_on_erf"])
def test_decomposed_gelu_is_recognised(order):
    inits = {"sqrt2": np.float32(np.sqrt(2)), "one": np.float32(1), "half": np.float32(0.5)}
    m = make_model(_gelu_nodes(order), [vi("x", [2, 8])], [vi("y", [2, 8])], inits)
    g = converted(m)
    assert ops(g) == ["Gelu"]
    assert_same(m, {"x": f32(2, 8, scale=3)}, g)


def test_gelu_lookalike_is_left_alone():
    inits = {"sqrt2": np.float32(1.5), "one": np.float32(1), "half": np.float32(0.5)}
    m = make_model(_gelu_nodes("torch"), [vi("x", [2, 8])], [vi("y", [2, 8])], inits)
    assert "Gelu" not in ops(converted(m))


def _gelu_tanh_nodes(cube, k=0.7978845608):
    """0.5 * x * (1 + tanh(k * (x + 0.044715 * x**3))) as PyTorch (cube "mul") and GPT-2-style
    code (cube "pow") export it."""
    if cube == "pow":
        c = [helper.make_node("Pow", ["x", "three"], ["x3"])]
    else:
        c = [helper.make_node("Mul", ["x", "x"], ["x2"]), helper.make_node("Mul", ["x", "x2"], ["x3"])]
    return c + [helper.make_node("Mul", ["c044", "x3"], ["t"]),
                helper.make_node("Add", ["x", "t"], ["u"]),
                helper.make_node("Mul", ["k", "u"], ["v"]),
                helper.make_node("Tanh", ["v"], ["th"]),
                helper.make_node("Add", ["one", "th"], ["a"]),
                helper.make_node("Mul", ["x", "a"], ["m"]),
                helper.make_node("Mul", ["half", "m"], ["y"])]


@pytest.mark.parametrize("cube", ["mul", "pow"])
def test_decomposed_tanh_gelu_is_recognised(cube):
    inits = {"three": np.float32(3), "c044": np.float32(0.044715), "k": np.float32(0.7978845608),
             "one": np.float32(1), "half": np.float32(0.5)}
    m = make_model(_gelu_tanh_nodes(cube), [vi("x", [2, 8])], [vi("y", [2, 8])], inits)
    g = converted(m)
    assert ops(g) == ["Gelu"] and g.nodes[0].attrs["approximate"] == "tanh"
    assert_same(m, {"x": f32(2, 8, scale=3)}, g)
    # a different constant (not sqrt(2/pi)) is not a GELU
    m = make_model(_gelu_tanh_nodes(cube), [vi("x", [2, 8])], [vi("y", [2, 8])], {**inits, "k": np.float32(0.7)})
    assert "Gelu" not in ops(converted(m))


def _layernorm_model(with_affine=True, axes=(-1,)):
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mu"], axes=list(axes)),
        helper.make_node("Sub", ["x", "mu"], ["d"]),
        helper.make_node("Pow", ["d", "two"], ["p"]),
        helper.make_node("ReduceMean", ["p"], ["v"], axes=list(axes)),
        helper.make_node("Add", ["v", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["s"]),
        helper.make_node("Div", ["d", "s"], ["n" if with_affine else "y"]),
    ]
    inits = {"two": np.float32(2), "eps": np.float32(1e-5)}
    if with_affine:
        nodes += [helper.make_node("Mul", ["n", "gamma"], ["m"]),
                  helper.make_node("Add", ["m", "beta"], ["y"])]
        inits.update(gamma=f32(16), beta=f32(16))
    return make_model(nodes, [vi("x", [2, 5, 16])], [vi("y", [2, 5, 16])], inits, opset=13)


@pytest.mark.parametrize("affine", [True, False])
def test_decomposed_layernorm_is_recognised(affine):
    m = _layernorm_model(affine)
    g = converted(m)
    assert ops(g) == ["LayerNormalization"]
    assert_same(m, {"x": f32(2, 5, 16, scale=4) + 3}, g)


def test_layernorm_over_a_middle_axis_is_not_fused():
    m = _layernorm_model(False, axes=(1,))
    assert "LayerNormalization" not in ops(converted(m))


def test_nhwc_region_keeps_transposes_at_edges_only():
    """conv -> relu -> (conv, conv) -> add -> concat(with conv) -> maxpool -> GAP -> flatten -> gemm"""
    c = 4
    inits = {f"w{i}": f32(c, c if i else 3, 3, 3, scale=0.3) for i in range(4)}
    inits.update(fw=f32(10, 2 * c), fb=f32(10), k=np.float32(0.5))
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("Conv", ["r0", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["r0", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c1", "c2"], ["s"]),
        helper.make_node("Mul", ["s", "k"], ["sk"]),
        helper.make_node("Conv", ["r0", "w3"], ["c3"], pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["sk", "c3"], ["cat"], axis=1),
        helper.make_node("MaxPool", ["cat"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["mp"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["f"]),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1),
    ]
    m = make_model(nodes, [vi("x", [2, 3, 8, 8])], [vi("y", [2, 10])], inits)
    g = converted(m)
    assert ops(g).count("Transpose") == 1, g.summary()  # only the input edge
    assert "Conv" not in ops(g) and ops(g).count("Conv2d") == 4
    assert_same(m, {"x": f32(2, 3, 8, 8)}, g)


def test_flatten_after_conv_folds_permutation_into_dense():
    inits = {"w": f32(4, 2, 3, 3), "fw": f32(5, 4 * 3 * 3), "fb": f32(5)}
    m = make_model([helper.make_node("Conv", ["x", "w"], ["c"]),
                    helper.make_node("Flatten", ["c"], ["f"]),
                    helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)],
                   [vi("x", [2, 2, 5, 5])], [vi("y", [2, 5])], inits)
    g = converted(m)
    assert ops(g) == ["Transpose", "Conv2d", "Flatten", "Dense"]
    assert_same(m, {"x": f32(2, 2, 5, 5)}, g)


def test_1d_convolutions_become_one_nhwc_region():
    """Conv1d -> Relu -> strided/padded Conv1d -> MaxPool1d -> Add [C, 1] constant -> grouped
    dilated Conv1d -> Conv1d (auto_pad SAME_UPPER, even kernel) -> AveragePool1d -> GlobalAveragePool: all lifted to 2-D ops,
    with one Unsqueeze + Transpose at the input and one Transpose + Squeeze at the output."""
    c = 6
    inits = {"w0": f32(c, 3, 5), "b0": f32(c), "w1": f32(c, c, 3), "k": f32(c, 1), "w2": f32(c, 2, 3),
             "w3": f32(c, 2, 4)}
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["a"], pads=[2, 2]),
        helper.make_node("Relu", ["a"], ["ar"]),
        helper.make_node("Conv", ["ar", "w1"], ["b"], strides=[2], pads=[1, 0]),
        helper.make_node("MaxPool", ["b"], ["mp"], kernel_shape=[2], strides=[2]),
        helper.make_node("Add", ["mp", "k"], ["s"]),
        helper.make_node("Conv", ["s", "w2"], ["d"], group=3, dilations=[2], pads=[2, 2]),
        helper.make_node("Conv", ["d", "w3"], ["d2"], group=3, auto_pad="SAME_UPPER"),
        helper.make_node("AveragePool", ["d2"], ["ap"], kernel_shape=[3], pads=[1, 1], strides=[1]),
        helper.make_node("GlobalAveragePool", ["ap"], ["y"]),
    ]
    m = make_model(nodes, [vi("x", [2, 3, 40])], [vi("y", [2, c, 1])], inits)
    g = converted(m)
    o = ops(g)
    assert o.count("Conv2d") == 4 and "Conv" not in o and o.count("Transpose") == 2, g.summary()
    assert o.count("Unsqueeze") == 1 and o.count("Squeeze") == 1, g.summary()
    assert_same(m, {"x": f32(2, 3, 40)}, g)


@pytest.mark.parametrize("c", [4, 1])
def test_flatten_of_equal_sized_dims_keeps_the_transpose(c):
    """A conv output [N, 4, 4, 4] (C = H = W) -> Flatten -> Gemm: the NHWC -> NCHW transpose in
    front of the Flatten reorders elements although the sizes read the same in either order, so
    it must not be dropped as a size-1 move (it folds into the Dense's columns instead). With
    C = 1 it does only move a size-1 dim and is dropped."""
    inits = {"w": f32(c, 2, 3, 3), "fw": f32(5, c * 16), "fb": f32(5)}
    m = make_model([helper.make_node("Conv", ["x", "w"], ["c"]),
                    helper.make_node("Flatten", ["c"], ["f"]),
                    helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)],
                   [vi("x", [2, 2, 6, 6])], [vi("y", [2, 5])], inits)
    g = converted(m)
    assert ops(g) == ["Transpose", "Conv2d", "Flatten", "Dense"], g.summary()
    assert_same(m, {"x": f32(2, 2, 6, 6)}, g)
    m = make_model([helper.make_node("Conv", ["x", "w"], ["c"]),
                    helper.make_node("Reshape", ["c", "shp"], ["y"])],
                   [vi("x", [2, 2, 6, 6])], [vi("y", [2, c * 16])],
                   {"w": inits["w"], "shp": np.array([2, c * 16], np.int64)})
    g = converted(m)
    assert ops(g).count("Transpose") == (1 if c == 1 else 2), g.summary()
    assert_same(m, {"x": f32(2, 2, 6, 6)}, g)


@pytest.mark.parametrize("attrs", [
    dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    dict(kernel_shape=[3, 3], auto_pad="SAME_UPPER", strides=[2, 2]),
    dict(kernel_shape=[2, 2], pads=[1, 0, 0, 1])])
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pool_attributes(op, attrs):
    m = make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [vi("x", [1, 3, 7, 6])],
                   [vi("y", None)], {})
    g = converted(m)
    assert op not in ops(g)
    assert_same(m, {"x": f32(1, 3, 7, 6)}, g)


def test_avgpool_ceil_mode_counting_padding():
    """AveragePool ceil_mode=1, count_include_pad=1 (PyTorch's AvgPool2d(2, 2, ceil_mode=True)
    default): without explicit pads the overhanging windows divide by the elements they cover,
    i.e. count_include_pad=0; with explicit pads the converter refuses it, naming the pads."""
    m = make_model([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                                     ceil_mode=1, count_include_pad=1)],
                   [vi("x", [1, 3, 7, 5])], [vi("y", None)], {})
    g = converted(m)
    assert ops(g) == ["Transpose", "AvgPool2d", "Transpose"], g.summary()
    assert g.nodes[1].attrs["count_include_pad"] == 0
    assert_same(m, {"x": f32(1, 3, 7, 5)}, g)
    m = make_model([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                     pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)],
                   [vi("x", [1, 3, 8, 8])], [vi("y", None)], {})
    with pytest.raises(NotImplementedError, match=r"explicit padding \[1, 1, 1, 1\] is not supported"):
        converted(m)


def test_grouped_conv_transpose_in_the_evaluator():
    """onnx.reference ignores ConvTranspose's group; the evaluator (per-node accuracy, build()
    tests) runs one group at a time."""
    inits = {"w": f32(6, 2, 3, 3), "b": f32(4)}
    m = make_model([helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], group=2, strides=[2, 2],
                                     pads=[1, 1, 1, 1], output_padding=[1, 1])],
                   [vi("x", [1, 6, 5, 4])], [vi("y", None)], inits)
    assert_same(m, {"x": f32(1, 6, 5, 4)}, converted(m))


def test_grouped_strided_dilated_conv():
    inits = {"w": f32(6, 2, 3, 3), "b": f32(6)}
    m = make_model([helper.make_node("Conv", ["x", "w", "b"], ["y"], group=3, strides=[2, 1],
                                     dilations=[1, 2], pads=[1, 2, 0, 1])],
                   [vi("x", [2, 6, 9, 8])], [vi("y", None)], inits)
    assert_same(m, {"x": f32(2, 6, 9, 8)}, converted(m))


def test_identity_and_dropout_are_dropped_but_outputs_keep_names():
    m = make_model([helper.make_node("Identity", ["x"], ["i"]),
                    helper.make_node("Relu", ["i"], ["r"]),
                    helper.make_node("Dropout", ["r"], ["y"])],
                   [vi("x", [2, 3])], [vi("y", [2, 3])], {})
    g = converted(m)
    assert ops(g) == ["Relu"] and g.outputs == ["y"] and g.nodes[0].outputs == ["y"]
    assert_same(m, {"x": f32(2, 3)}, g)


def test_constant_folding_removes_shape_arithmetic():
    inits = {"w": f32(4, 3)}
    m = make_model([helper.make_node("Shape", ["x"], ["s"]),
                    helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
                    helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
                    helper.make_node("Concat", ["n1", "m1"], ["shape"], axis=0),
                    helper.make_node("Reshape", ["x", "shape"], ["f"]),
                    helper.make_node("MatMul", ["f", "w"], ["y"])],
                   [vi("x", [2, 2, 2])], [vi("y", [2, 3])],
                   {**inits, "zero": np.array(0, np.int64), "ax": np.array([0], np.int64),
                    "m1": np.array([-1], np.int64)})
    g = converted(m)
    assert ops(g) == ["Reshape", "Dense"]
    assert_same(m, {"x": f32(2, 2, 2)}, g)


def test_unsupported_ops_are_all_listed_with_node_names():
    m = make_model([helper.make_node("Relu", ["x"], ["a"], name="ok"),
                    helper.make_node("Hardmax", ["a"], ["b"], name="hm1"),
                    helper.make_node("Hardmax", ["b"], ["c"], name="hm2"),
                    helper.make_node("Shrink", ["c"], ["y"], name="rnd")],
                   [vi("x", [2, 3])], [vi("y", [2, 3])], {})
    im = import_onnx(m)
    passes.run_all(im.graph)
    with pytest.raises(NotImplementedError) as e:
        check_supported(im.graph)
    msg = str(e.value)
    assert "Hardmax: 'hm1', 'hm2'" in msg and "Shrink: 'rnd'" in msg and "Relu" not in msg


def test_conv3d_is_reported_with_reason():
    m = make_model([helper.make_node("Conv", ["x", "w"], ["y"], name="c3d")],
                   [vi("x", [1, 2, 4, 4, 4])], [vi("y", None)], {"w": f32(3, 2, 2, 2, 2)})
    im = import_onnx(m)
    passes.run_all(im.graph)
    with pytest.raises(NotImplementedError, match=r"Conv: 'c3d' \(only 1-D and 2-D"):
        check_supported(im.graph)


def test_old_opset_forms_are_canonicalised():
    m = make_model([helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0]),
                    helper.make_node("ReduceSum", ["u"], ["r"], axes=[2], keepdims=0),
                    helper.make_node("Clip", ["r"], ["y"], min=-0.5, max=0.5)],
                   [vi("x", [3, 4])], [vi("y", [1, 3])], {}, opset=10)
    g = converted(m)
    assert [len(n.inputs) for n in g.nodes] == [2, 2, 3]
    assert_same(m, {"x": f32(3, 4)}, g)


def _pad_conv_model(pads, mode="constant", value=None, axes=None, second_reader=False):
    inits = {"w": f32(4, 3, 3, 3), "b": f32(4), "p": np.array(pads, np.int64)}
    ins = ["x", "p"]
    if value is not None:
        inits["v"] = np.array(value, np.float32)
        ins.append("v")
    if axes is not None:
        inits["ax"] = np.array(axes, np.int64)
        ins += [""] * (3 - len(ins)) + ["ax"]
    nodes = [helper.make_node("Pad", ins, ["xp"], mode=mode),
             helper.make_node("Conv", ["xp", "w", "b"], ["c"], pads=[1, 0, 1, 0])]
    outs = [vi("c", None)]
    if second_reader:
        nodes.append(helper.make_node("Relu", ["xp"], ["r"]))
        outs.append(vi("r", None))
    return make_model(nodes, [vi("x", [1, 3, 7, 8])], outs, inits, opset=18)


def test_zero_pad_folds_into_conv():
    x = {"x": f32(1, 3, 7, 8)}
    for pads, value, axes in [([0, 0, 1, 2, 0, 0, 0, 1], None, None), ([0, 0, 2, 0, 0, 0, 1, 3], 0.0, None),
                              ([1, 2, 0, 1], None, [2, 3]), ([1, 0, 1, 0], None, [-2, -1])]:
        m = _pad_conv_model(pads, value=value, axes=axes)
        g = converted(m)
        assert "Pad" not in ops(g), (pads, ops(g))
        conv = next(n for n in g.nodes if n.op == "Conv2d")
        assert_same(m, x, g)
        assert sum(conv.attrs["pads"]) == 2 + sum(pads), conv.attrs


def test_pad_that_is_not_zero_padding_stays():
    x = {"x": f32(1, 3, 7, 8)}
    for kw in [dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], mode="reflect"),
               dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.5),
               dict(pads=[0, 0, -1, 1, 0, 0, 1, 1]),     # cropping
               dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], second_reader=True)]:
        m = _pad_conv_model(**kw)
        g = converted(m)
        assert "Pad" in ops(g), (kw, ops(g))
        if min(kw["pads"]) >= 0:  # onnx.reference's Pad (numpy.pad) refuses negative pads
            assert_same(m, x, g)
