"""qrt.convert: the model dict (schema, dtypes, quantization parameters), every mode, errors,
simulated int8 accuracy on the digits CNN, QDQ models, torch modules, and — once the runtime
and its writer binding exist — end-to-end runs against onnxruntime."""

from __future__ import annotations

import json
import os
import sys
import types

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper


def _import_qrt():
    try:
        import qrt  # noqa: F401
    except ImportError:  # the converter needs no compiled code; stand in for qrt._core
        sys.modules.setdefault("qrt._core", types.ModuleType("qrt._core"))


_import_qrt()

from qrt.convert import build  # noqa: E402
from qrt.ir.evaluate import Evaluator  # noqa: E402
from qrt.quantize import capabilities  # noqa: E402

# Static int8 Conv2d/Dense with f32 outputs, where the runtime runs them (or without a runtime).
FLOAT_OUT = capabilities.static_float_output()

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "qrt", "data")
MODEL = os.path.join(DATA, "digits_cnn.onnx")
RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def digits():
    return dict(np.load(os.path.join(DATA, "digits.npz")))


@pytest.fixture(scope="module")
def float_logits(digits):
    s = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    return s.run(None, {"input": digits["x_test"]})[0]


@pytest.fixture(scope="module")
def int8_build(digits):
    return build(MODEL, calibration=[{"input": digits["x_calib"]}], progress=False)


def _has_runtime_writer() -> bool:
    try:
        from qrt import _core  # type: ignore[attr-defined]

        return hasattr(_core, "write_model") and hasattr(_core, "Session")
    except ImportError:
        return False


needs_runtime = pytest.mark.skipif(not _has_runtime_writer(),
                                   reason="qrt._core (runtime + write_model) not built")


def check_schema(d: dict) -> None:
    """Structural checks of the dict handed to qrt._core.write_model."""
    assert set(d) == {"tensors", "nodes", "inputs", "outputs", "metadata"}
    n_t = len(d["tensors"])
    names = [t["name"] for t in d["tensors"]]
    assert len(set(names)) == n_t
    produced = set(d["inputs"]) | {i for i, t in enumerate(d["tensors"]) if t["data"] is not None}
    for node in d["nodes"]:
        assert node["version"] == 1 and isinstance(node["op"], str)
        for i in node["inputs"]:
            assert i == -1 or i in produced, f"{node['name']} reads {names[i]} before it exists"
        produced.update(node["outputs"])
        for k, v in node["attrs"].items():
            assert isinstance(v, (int, float, str)) or (
                isinstance(v, list) and all(isinstance(x, (int, float)) for x in v)), (k, v)
    assert all(o in produced for o in d["outputs"])
    np_of = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16, "s8": np.int8,
             "u8": np.uint8, "s32": np.int32, "s64": np.int64, "bool": np.bool_}
    for t in d["tensors"]:
        assert t["dtype"] in np_of
        if t["data"] is not None:
            assert t["data"].dtype == np_of[t["dtype"]] and list(t["data"].shape) == t["shape"]
            assert t["data"].flags.c_contiguous
        q = t["quant"]
        if t["dtype"] == "u8" and t["data"] is None:
            assert q is not None and q["axis"] == -1 and len(q["scales"]) == 1
            assert 0 <= q["zero_points"][0] <= 255 and q["scales"][0] > 0
        if q is not None:
            assert len(q["scales"]) == len(q["zero_points"])
            if q["axis"] >= 0:
                assert len(q["scales"]) == t["shape"][q["axis"]]
    md = d["metadata"]
    for k in ("producer", "source_sha256", "mode", "method", "per_channel", "qrt_version",
              "exclude", "float_nodes"):
        assert k in md and isinstance(md[k], str)
    json.loads(md["float_nodes"])
    json.loads(md["exclude"])


def test_int8_model_dict_follows_the_contract(int8_build):
    d = int8_build.model_dict
    check_schema(d)
    tensors = d["tensors"]
    convs = [n for n in d["nodes"] if n["op"] in ("Conv2d", "Dense")]
    assert len(convs) == 4
    for k, n in enumerate(convs):
        x, w, b, y = (tensors[i] for i in n["inputs"] + n["outputs"])
        wq, bq = w["quant"], b["quant"]
        if k == len(convs) - 1 and FLOAT_OUT:
            # the logits layer feeds the graph output only: u8 in, f32 bias and output
            assert (x["dtype"], w["dtype"], b["dtype"], y["dtype"]) == ("u8", "s8", "f32", "f32")
            assert bq is None and y["quant"] is None and y["name"] == "logits"
            continue
        assert (x["dtype"], w["dtype"], b["dtype"], y["dtype"]) == ("u8", "s8", "s32", "u8")
        assert wq["axis"] == 0 and set(wq["zero_points"]) == {0}
        assert np.abs(w["data"]).max() <= 127
        # each output channel uses its full range: per-channel symmetric scales
        assert (np.abs(w["data"].reshape(len(w["data"]), -1)).max(axis=1) == 127).all()
        expect = np.float32(x["quant"]["scales"][0]) * np.asarray(wq["scales"], np.float32)
        np.testing.assert_array_equal(np.asarray(bq["scales"], np.float32), expect)
    conv0 = convs[0]
    assert tensors[conv0["inputs"][1]]["shape"] == [16, 3, 3, 1]  # [O, KH, KW, C]
    assert conv0["attrs"]["activation"] == "relu"
    assert tensors[conv0["outputs"][0]]["quant"]["zero_points"] == [0]  # relu output
    ops = [n["op"] for n in d["nodes"]]
    assert ops.count("QuantizeLinear") == 1
    assert ops.count("DequantizeLinear") == (0 if FLOAT_OUT else 1)
    assert ops[-1] == ("Dense" if FLOAT_OUT else "DequantizeLinear")
    assert tensors[d["outputs"][0]]["name"] == "logits" and tensors[d["outputs"][0]]["dtype"] == "f32"
    assert tensors[d["inputs"][0]]["shape"] == [-1, 1, 8, 8]
    assert tensors[d["inputs"][0]]["dim_names"][0] == "batch"
    assert d["metadata"]["mode"] == "int8" and d["metadata"]["method"] == "minmax"


def test_maxpool_and_flatten_keep_their_input_params(int8_build):
    d = int8_build.model_dict
    t = d["tensors"]
    for n in d["nodes"]:
        if n["op"] in ("MaxPool2d", "Flatten"):
            assert t[n["inputs"][0]]["quant"] == t[n["outputs"][0]]["quant"]
            assert t[n["outputs"][0]]["dtype"] == "u8"


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy", "mse"])
def test_int8_digits_accuracy_simulated(digits, float_logits, method):
    """The quantized graph, run with the runtime's integer arithmetic in numpy, keeps the float
    model's accuracy within a point and agrees on >= 98% of predictions."""
    r = build(MODEL, calibration=[{"input": digits["x_calib"]}], method=method, progress=False)
    y = Evaluator(r.graph).run({"input": digits["x_test"]})["logits"]
    acc_f = (float_logits.argmax(1) == digits["y_test"]).mean()
    acc_q = (y.argmax(1) == digits["y_test"]).mean()
    assert acc_q >= acc_f - 0.01, (method, acc_q, acc_f)
    assert (y.argmax(1) == float_logits.argmax(1)).mean() >= 0.98


@pytest.mark.parametrize("mode,wdtype,tol", [("fp32", "f32", 1e-5), ("fp16", "f16", 2e-2),
                                             ("bf16", "bf16", 1e-1)])
def test_float_modes(digits, float_logits, mode, wdtype, tol):
    r = build(MODEL, mode=mode, progress=False)
    check_schema(r.model_dict)
    t = r.model_dict["tensors"]
    for n in r.model_dict["nodes"]:
        if n["op"] in ("Conv2d", "Dense"):
            assert t[n["inputs"][1]]["dtype"] == wdtype and t[n["inputs"][2]]["dtype"] == "f32"
    assert not any(n["op"] in ("QuantizeLinear", "DequantizeLinear") for n in r.model_dict["nodes"])
    y = Evaluator(r.graph).run({"input": digits["x_test"]})["logits"]
    np.testing.assert_allclose(y, float_logits, atol=tol * np.abs(float_logits).max())


@pytest.mark.parametrize("mode", ["int8-dynamic", "int8-weight"])
def test_dynamic_and_weight_only_quantize_dense_only(digits, float_logits, mode):
    r = build(MODEL, mode=mode, progress=False)
    check_schema(r.model_dict)
    t = r.model_dict["tensors"]
    dense = [n for n in r.model_dict["nodes"] if n["op"] == "Dense"]
    assert all(t[n["inputs"][1]]["dtype"] == "s8" and t[n["inputs"][0]]["dtype"] == "f32"
               and t[n["outputs"][0]]["dtype"] == "f32" for n in dense)
    assert all(n["attrs"].get("weight_only", 0) == (mode == "int8-weight") for n in dense)
    conv_reports = [n for n in r.report.nodes if n.op == "Conv2d"]
    assert all(n.mode == "f32" and "Dense only" in n.float_reason for n in conv_reports)
    y = Evaluator(r.graph).run({"input": digits["x_test"]})["logits"]
    assert (y.argmax(1) == float_logits.argmax(1)).mean() >= 0.99


def test_exclude_by_name_and_op_type(digits):
    cal = [{"input": digits["x_calib"]}]
    r = build(MODEL, calibration=cal, exclude=["/head/head.4/Gemm"], progress=False)
    last = [n for n in r.report.nodes if n.name == "/head/head.4/Gemm"][0]
    assert last.mode == "f32" and "excluded" in last.float_reason
    kept = json.loads(r.model_dict["metadata"]["float_nodes"])
    assert any(k["name"] == "/head/head.4/Gemm" for k in kept)
    assert json.loads(r.model_dict["metadata"]["exclude"]) == ["/head/head.4/Gemm"]
    r = build(MODEL, calibration=cal, exclude=["Conv"], progress=False)
    assert all(n.mode == "f32" for n in r.report.nodes if n.op == "Conv2d")
    assert [n.mode for n in r.report.nodes if n.op == "Dense"] == ["int8", "int8"]
    with pytest.raises(ValueError, match="match no node"):
        build(MODEL, calibration=cal, exclude=["/no/such/node"], progress=False)


def test_bad_arguments_raise_value_errors(digits):
    with pytest.raises(ValueError, match="unknown mode"):
        build(MODEL, mode="int4")
    with pytest.raises(ValueError, match="unknown calibration method"):
        build(MODEL, method="magic")
    with pytest.raises(ValueError, match="calibration"):
        build(MODEL, mode="int8", progress=False)
    with pytest.raises(ValueError, match="lacks inputs"):
        build(MODEL, calibration=[{"x": digits["x_calib"]}], progress=False)


def test_calibration_from_npz_and_generator(tmp_path, digits):
    p = tmp_path / "cal.npz"
    np.savez(p, input=digits["x_calib"])
    a = build(MODEL, calibration=str(p), progress=False)
    gen = ({"input": digits["x_calib"][i:i + 10]} for i in range(0, 200, 10))
    b = build(MODEL, calibration=gen, progress=False)
    qa = [t["quant"] for t in a.model_dict["tensors"]]
    qb = [t["quant"] for t in b.model_dict["tensors"]]
    assert qa == qb  # minmax over the same samples, however they are batched
    assert b.report.calibration_batches == 20


def _tiny(nodes, inits, x_shape=(2, 4), out_shape=(2, 4)):
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape))],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def test_unsupported_ops_error_lists_all_of_them():
    m = _tiny([helper.make_node("Hardmax", ["x"], ["a"], name="h"),
               helper.make_node("Shrink", ["a"], ["b"], name="r1"),
               helper.make_node("Shrink", ["b"], ["y"], name="r2")], {})
    with pytest.raises(NotImplementedError) as e:
        build(m, mode="fp32")
    assert "Hardmax: 'h'" in str(e.value) and "Shrink: 'r1', 'r2'" in str(e.value)


@needs_runtime
def test_convert_refuses_to_write_a_file_the_runtime_rejects(tmp_path, monkeypatch):
    """convert() opens the bytes with the runtime before writing: a converter defect surfaces as
    the runtime's error, at conversion, and leaves no broken file behind."""
    import qrt
    import qrt.convert as C

    m = _tiny([helper.make_node("Gemm", ["x", "w"], ["y"], transB=1, name="g")],
              {"w": RNG.standard_normal((4, 4)).astype(np.float32)})
    real = C.write_model_bytes

    def corrupting(md):  # as if the converter had emitted an attribute the runtime rejects
        for nd in md["nodes"]:
            if nd["op"] == "Dense":
                nd["attrs"] = dict(nd.get("attrs", {}), activation="bogus")
        return real(md)

    monkeypatch.setattr(C, "write_model_bytes", corrupting)
    out = tmp_path / "m.qmodel"
    with pytest.raises(qrt.InvalidArgumentError, match="does not load in qrt's runtime.*unknown activation"):
        qrt.convert(m, str(out), mode="fp32", progress=False)
    assert not out.exists()
    monkeypatch.setattr(C, "write_model_bytes", real)
    qrt.convert(m, str(out), mode="fp32", progress=False)
    assert out.exists()


def test_int8_with_dynamic_weight_needs_fallback():
    m = _tiny([helper.make_node("Gemm", ["x", "w"], ["g"], transB=1),
               helper.make_node("Conv", ["x4", "x4w"], ["y4"], name="dynconv")], {})
    # a Conv whose weight is a graph input cannot run in int8
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="dynconv")], "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [3, 2, 1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    cal = [{"x": RNG.standard_normal((1, 2, 4, 4)).astype(np.float32),
            "w": RNG.standard_normal((3, 2, 1, 1)).astype(np.float32)}]
    with pytest.raises(NotImplementedError, match="node 'dynconv' \\(Conv2d\\): weight is not a constant"):
        build(m, calibration=cal, progress=False)
    r = build(m, calibration=cal, allow_float_fallback=True, progress=False)
    rep = [n for n in r.report.nodes if n.name == "dynconv"][0]
    assert rep.mode == "f32" and "allow_float_fallback" in rep.float_reason
    assert "dynconv" in r.model_dict["metadata"]["float_nodes"]


def test_residual_add_and_concat_stay_int8():
    c = 4
    w = {f"w{i}": (RNG.standard_normal((c, c, 3, 3)) * 0.2).astype(np.float32) for i in range(3)}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("Conv", ["ar", "w1"], ["b"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["ar", "b"], ["s"]),
             helper.make_node("Conv", ["s", "w2"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Concat", ["s", "c"], ["cat"], axis=1),
             helper.make_node("Softmax", ["cat"], ["y"], axis=1)]
    m = _tiny(nodes, w, (2, c, 6, 6), (2, 2 * c, 6, 6))
    xs = [RNG.standard_normal((2, c, 6, 6)).astype(np.float32) for _ in range(4)]
    r = build(m, calibration=[{"x": x} for x in xs], progress=False)
    modes = {n.op: n.mode for n in r.report.nodes}
    assert modes["Add"] == "int8" and modes["Concat"] == "int8" and modes["Softmax"] == "f32"
    t = r.model_dict["tensors"]
    cat = [n for n in r.model_dict["nodes"] if n["op"] == "Concat"][0]
    qs = {json.dumps(t[i]["quant"]) for i in cat["inputs"] + cat["outputs"]}
    assert len(qs) == 1  # concat inputs and output share parameters
    ref = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": xs[0]})[0]
    y = Evaluator(r.graph).run({"x": xs[0]})["y"]
    np.testing.assert_allclose(y, ref, atol=0.05)


def test_qdq_model_keeps_its_scales(digits, tmp_path):
    """A model quantized by onnxruntime (QDQ format) converts without calibration and keeps
    ORT's activation scales and weight scales."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"input": digits["x_calib"][i:i + 20]} for i in range(0, 200, 20)])

        def get_next(self):
            return next(self.it, None)

    pre = tmp_path / "pre.onnx"
    quant_pre_process(MODEL, str(pre))
    qdq = tmp_path / "qdq.onnx"
    quantize_static(str(pre), str(qdq), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=True)
    r = build(str(qdq), calibration=None, progress=False)
    check_schema(r.model_dict)
    m = onnx.load(str(qdq))
    ort_scales = {float(numpy_helper.to_array(i)) for i in m.graph.initializer
                  if i.name.endswith("_scale") and numpy_helper.to_array(i).size == 1}
    ours = {t["quant"]["scales"][0] for t in r.model_dict["tensors"]
            if t["dtype"] == "u8" and t["data"] is None}
    assert ours and ours <= {np.float32(s).item() for s in ort_scales}
    y = Evaluator(r.graph).run({"input": digits["x_test"]})["logits"]
    # The reference: the QDQ graph as written (DequantizeLinear -> float op -> QuantizeLinear),
    # with ORT's graph optimisations off. Optimised, ORT fuses the QDQ groups into its int8
    # kernels, which on AVX2 CPUs without VNNI use vpmaddubsw and saturate (wrong sums, ~2 % of
    # the argmaxes differ here on a Zen 3), so they are not a reference.
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ref = ort.InferenceSession(str(qdq), so, providers=["CPUExecutionProvider"]).run(
        None, {"input": digits["x_test"]})[0]
    assert (y.argmax(1) == ref.argmax(1)).mean() >= 0.99


def test_torch_module_converts(digits):
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU6(),
                              torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 10)).eval()
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2)
    x = digits["x_test"][:8]
    r = build(net, mode="fp32", example_inputs=torch.from_numpy(x), progress=False)
    ops = [n["op"] for n in r.model_dict["nodes"]]
    assert "BatchNormalization" not in ops and ops.count("Conv2d") == 1
    conv = [n for n in r.model_dict["nodes"] if n["op"] == "Conv2d"][0]
    assert conv["attrs"]["activation"] == "relu6"
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    y = Evaluator(r.graph).run({"input": x})[r.graph.outputs[0]]
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


# -- end to end, with the C++ runtime --------------------------------------------------------
@needs_runtime
@pytest.mark.parametrize("mode", ["fp32", "fp16", "int8-dynamic", "int8-weight"])
def test_runtime_float_modes_match_onnxruntime(tmp_path, digits, float_logits, mode):
    import qrt

    out = tmp_path / "m.qmodel"
    qrt.convert(MODEL, out, mode=mode, progress=False)
    y = qrt.InferenceSession(str(out)).run(None, {"input": digits["x_test"]})[0]
    if mode == "fp32":
        np.testing.assert_allclose(y, float_logits, rtol=1e-4, atol=1e-4 * np.abs(float_logits).max())
    else:
        assert (y.argmax(1) == float_logits.argmax(1)).mean() >= 0.99


@needs_runtime
def test_runtime_int8_matches_the_evaluator_and_keeps_accuracy(tmp_path, digits, float_logits, int8_build):
    import qrt

    out = tmp_path / "m.qmodel"
    rep = qrt.convert(MODEL, out, calibration=[{"input": digits["x_calib"]}], progress=False)
    assert rep.file_bytes == os.path.getsize(out) and rep.sqnr_source == "qrt runtime"
    y = qrt.InferenceSession(str(out)).run(None, {"input": digits["x_test"]})[0]
    sim = Evaluator(int8_build.graph).run({"input": digits["x_test"]})["logits"]
    # same integer arithmetic, f32 epilogue: equal up to float rounding
    np.testing.assert_allclose(y, sim, rtol=1e-5, atol=1e-5 * np.abs(sim).max())
    acc_f = (float_logits.argmax(1) == digits["y_test"]).mean()
    acc_q = (y.argmax(1) == digits["y_test"]).mean()
    assert acc_q >= acc_f - 0.01


def test_static_float_output_only_where_nothing_int8_reads_it(digits):
    """Dense/Conv2d outputs read by int8 ops stay u8; those read only by float ops are f32."""
    c = 4
    w = {"w0": (RNG.standard_normal((c, 1, 3, 3)) * 0.3).astype(np.float32),
         "w1": (RNG.standard_normal((c, c, 3, 3)) * 0.3).astype(np.float32)}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["a"], pads=[1, 1, 1, 1], name="c0"),
             helper.make_node("Conv", ["a", "w1"], ["b"], pads=[1, 1, 1, 1], name="c1"),
             helper.make_node("Sigmoid", ["b"], ["y"])]
    m = _tiny(nodes, w, (2, 1, 5, 5), (2, c, 5, 5))
    cal = [{"x": RNG.standard_normal((2, 1, 5, 5)).astype(np.float32)}]
    r = build(m, calibration=cal, progress=False)
    t = {x["name"]: x for x in r.model_dict["tensors"]}
    nodes = {n["name"]: n for n in r.model_dict["nodes"]}
    out = lambda n: r.model_dict["tensors"][nodes[n]["outputs"][0]]  # noqa: E731
    assert out("c0")["dtype"] == "u8" and out("c1")["dtype"] == ("f32" if FLOAT_OUT else "u8")
    assert len(t) > 0


def test_scalar_constants_keep_rank_zero():
    g = helper.make_graph(
        [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "i"], ["y"], axis=0)],
        "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [])],
        [numpy_helper.from_array(np.array(0, np.int64), "i")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    r = build(m, mode="fp32", progress=False)
    t = {x["name"]: x for x in r.model_dict["tensors"]}
    assert t["i"]["shape"] == [] and t["i"]["data"].shape == ()


def _outlier_dense_model(k: int, n: int):
    """Sigmoid -> Mul (two outlier channels, gains 40 and 25) -> MatMul "mm": a SmoothQuant case.
    Returns (model, the MatMul weight)."""
    w = (RNG.standard_normal((k, n)) * 0.3).astype(np.float32)
    m = _tiny([helper.make_node("Sigmoid", ["x"], ["h"]),
               helper.make_node("Mul", ["h", "gain"], ["hg"]),
               helper.make_node("MatMul", ["hg", "w"], ["y"], name="mm")],
              {"w": w, "gain": np.array([1.0] * (k - 2) + [40.0, 25.0], np.float32)},
              (64, k), (64, n))
    return m, w


def _fused_and_unfused(m, cal, tmp_path, monkeypatch):
    """Converts m to int8 static as is and with the post-quantization fusions (qrt/quantize/fuse.py)
    switched off. Returns (fused path, its conversion report, unfused path)."""
    import qrt
    from qrt.quantize import fuse

    pf, pc = tmp_path / "fused.qmodel", tmp_path / "chain.qmodel"
    rep = qrt.convert(m, str(pf), mode="int8", calibration=cal, progress=False)
    with monkeypatch.context() as mp:
        mp.setattr(fuse, "quantize_chains", lambda g: 0)
        qrt.convert(m, str(pc), mode="int8", calibration=cal, progress=False)
    return pf, rep, pc


def test_smoothquant_rewrite_is_exact_in_float_and_reduces_error():
    """Outlier channels in a Dense input: the shift+scale rewrite keeps the float function and
    lowers the int8-dynamic error; the choice is recorded in the metadata."""
    from qrt.calibrate.collect import Reservoir
    from qrt.quantize import smooth

    k, n = 16, 8
    m, w = _outlier_dense_model(k, n)
    xs = [RNG.standard_normal((64, k)).astype(np.float32) * 3 for _ in range(4)]
    plain = build(m, mode="int8-dynamic", progress=False)
    smoothed = build(m, mode="int8-dynamic", calibration=[{"x": x} for x in xs], progress=False)
    assert json.loads(smoothed.model_dict["metadata"]["smoothquant"]) == ["mm"]
    ops = [nd["op"] for nd in smoothed.model_dict["nodes"]]
    assert ops[-3:] == ["Sub", "Mul", "Dense"]
    ref = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    x = RNG.standard_normal((64, k)).astype(np.float32) * 3
    y_ref = ref.run(None, {"x": x})[0]
    err = lambda r: float(np.mean((Evaluator(r.graph).run({"x": x})["y"] - y_ref) ** 2))  # noqa: E731
    assert err(smoothed) < 0.5 * err(plain)
    # the rewrite alone (no quantization) is the same function
    g = build(m, mode="fp32", progress=False).graph
    groups = smooth.candidates(g, lambda node: False)
    src = g.tensor(next(iter(groups))).source
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    from qrt.calibrate.collect import expose_outputs, ort_session
    s2 = ort_session(expose_outputs(m, [src]))
    h = s2.run([src], {"x": xs[0]})[0]
    res = Reservoir(256)
    res.add(h)
    assert smooth.apply(g, groups, {src: (h.min(0), h.max(0), res.rows())}, {}) == 1
    np.testing.assert_allclose(Evaluator(g).run({"x": x})["y"], sess.run(None, {"x": x})[0],
                               rtol=1e-4, atol=1e-4)


def test_static_smoothquant_needs_held_out_evidence():
    """Static int8 fixes the smoothed input's u8 range at calibration: with 8 calibration rows
    for 64 channels the per-channel ranges fit those rows and clip new ones, so the static
    choice (cross-validated) declines the rewrite that the in-sample score (int8-dynamic, where
    nothing clips) takes; with real outlier channels and rows enough, static rewrites too."""
    from qrt.quantize import smooth

    rng = np.random.default_rng(3)
    w = [rng.standard_normal((10, 64)).astype(np.float32)]
    few = rng.standard_normal((8, 64)).astype(np.float32) * 0.2 + 0.1
    assert smooth.choose(few, few.min(0), few.max(0), w, dynamic=True) is not None
    assert smooth.choose(few, few.min(0), few.max(0), w) is None
    # LayerNorm-style outliers: two channels 40x larger, their weights 40x smaller (the outputs
    # are not dominated by them, but a per-tensor u8 range is)
    many = rng.standard_normal((256, 64)).astype(np.float32)
    many[:, :2] *= 40
    w[0][:, :2] /= 40
    assert smooth.choose(many, many.min(0), many.max(0), w) is not None
    assert smooth.choose(many[:smooth.MIN_ROWS - 1], many.min(0), many.max(0), w) is None


@needs_runtime
def test_static_smoothquant_does_not_overfit_a_small_calibration_set(tmp_path):
    """A classifier over a mean-pooled feature (ReduceMean -> MatMul), 8 calibration samples:
    held-out SQNR with SmoothQuant enabled is no worse than with it off (it was 25 dB against
    44 dB when the rewrite was chosen on the calibration rows themselves)."""
    import qrt
    import qrt.convert as C

    rng = np.random.default_rng(5)
    w = (rng.standard_normal((64, 10)) * 0.3).astype(np.float32)
    m = _tiny([helper.make_node("ReduceMean", ["x"], ["p"], axes=[2], keepdims=0),
               helper.make_node("MatMul", ["p", "w"], ["y"], name="fc")],
              {"w": w}, (1, 64, 50), (1, 10))
    cal = [{"x": rng.standard_normal((1, 64, 50)).astype(np.float32)} for _ in range(8)]
    test = [rng.standard_normal((1, 64, 50)).astype(np.float32) for _ in range(16)]
    ref = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])

    def sqnr(smooth_on):
        C.SMOOTH = smooth_on
        try:
            out = tmp_path / f"m{int(smooth_on)}.qmodel"
            qrt.convert(m, str(out), mode="int8", calibration=cal, progress=False)
        finally:
            C.SMOOTH = True
        s = qrt.InferenceSession(str(out))
        e = n = 0.0
        for x in test:
            r = ref.run(None, {"x": x})[0]
            e += float(np.sum((s.run(None, {"x": x})[0] - r) ** 2))
            n += float(np.sum(r ** 2))
        return 10 * np.log10(n / e)

    on, off = sqnr(True), sqnr(False)
    assert on >= off - 0.5, (on, off)


def test_static_smoothquant_chain_is_one_affine_quantize_with_the_same_bits(tmp_path, monkeypatch):
    """int8 static: the smoothed Dense input's Sub -> Mul -> QuantizeLinear becomes one
    AffineQuantize; the runtime's output is bit-identical to the unfused file's, and so is the
    converter's evaluator."""
    import qrt
    from qrt.quantize import fuse

    k, n = 40, 8
    m, _ = _outlier_dense_model(k, n)
    cal = [{"x": RNG.standard_normal((64, k)).astype(np.float32) * 3} for _ in range(4)]
    fused = build(m, mode="int8", calibration=cal, progress=False)
    assert json.loads(fused.model_dict["metadata"]["smoothquant"]) == ["mm"]
    ops = [nd["op"] for nd in fused.model_dict["nodes"]]
    assert ops == ["Sigmoid", "Mul", "AffineQuantize", "Dense"], ops
    monkeypatch.setattr(fuse, "quantize_chains", lambda g: 0)
    chain = build(m, mode="int8", calibration=cal, progress=False)
    ops_chain = [nd["op"] for nd in chain.model_dict["nodes"]]
    assert "AffineQuantize" not in ops_chain and ops_chain.count("Sub") == 1, ops_chain
    x = RNG.standard_normal((64, k)).astype(np.float32) * 3
    x[0, :4] = [np.nan, np.inf, -np.inf, 1e30]
    assert np.array_equal(Evaluator(fused.graph).run({"x": x})["y"],
                          Evaluator(chain.graph).run({"x": x})["y"], equal_nan=True)
    monkeypatch.undo()
    pf, _, pc = _fused_and_unfused(m, cal, tmp_path, monkeypatch)
    yf = qrt.InferenceSession(str(pf)).run(None, {"x": x})[0]
    yc = qrt.InferenceSession(str(pc)).run(None, {"x": x})[0]
    assert np.array_equal(yf, yc, equal_nan=True)
    kernels = {r["op"]: r["kernel"] for r in qrt.InferenceSession(str(pf)).kernel_report()}
    assert "AffineQuantize" in kernels


def test_static_gelu_before_a_dense_fuses_into_affine_quantize(tmp_path, monkeypatch):
    """int8 static: Gelu -> QuantizeLinear (or the smoothed AffineQuantize) in front of a u8 Dense
    becomes one AffineQuantize(activation=gelu). Its GELU is vmath's gelu_q where the CPU has it
    (|error| <= 2e-6, so a quantized byte can move by one step next to a rounding boundary): the
    runtime output is the unfused file's, up to such a step (<= 1 % of the output range here)."""
    import qrt

    k, h, n = 24, 48, 8
    w1 = (RNG.standard_normal((k, h)) * 0.3).astype(np.float32)
    w2 = (RNG.standard_normal((h, n)) * 0.3).astype(np.float32)
    m = _tiny([helper.make_node("MatMul", ["x", "w1"], ["a"], name="mm1"),
               helper.make_node("Div", ["a", "sqrt2"], ["d"]),
               helper.make_node("Erf", ["d"], ["e"]),
               helper.make_node("Add", ["e", "one"], ["f"]),
               helper.make_node("Mul", ["a", "f"], ["g0"]),
               helper.make_node("Mul", ["g0", "half"], ["g"]),
               helper.make_node("MatMul", ["g", "w2"], ["y"], name="mm2")],
              {"w1": w1, "w2": w2, "sqrt2": np.array(np.sqrt(2.0), np.float32),
               "one": np.array(1.0, np.float32), "half": np.array(0.5, np.float32)},
              (16, k), (16, n))
    cal = [{"x": RNG.standard_normal((16, k)).astype(np.float32)} for _ in range(4)]
    x = RNG.standard_normal((16, k)).astype(np.float32)
    pf, _, pc = _fused_and_unfused(m, cal, tmp_path, monkeypatch)
    ops = [r["op"] for r in qrt.InferenceSession(str(pf)).kernel_report()]
    assert "Gelu" not in ops and "AffineQuantize" in ops, ops
    ops_c = [r["op"] for r in qrt.InferenceSession(str(pc)).kernel_report()]
    assert "Gelu" in ops_c and "AffineQuantize" not in ops_c, ops_c
    yf = qrt.InferenceSession(str(pf)).run(None, {"x": x})[0]
    yc = qrt.InferenceSession(str(pc)).run(None, {"x": x})[0]
    assert np.abs(yf - yc).max() <= 0.01 * np.abs(yc).max()
    assert np.mean(yf != yc) <= 0.05


def test_static_residual_add_takes_the_following_relu(tmp_path, monkeypatch):
    """int8 static: u8 Add -> u8 Relu (a residual block's tail) becomes Add(activation=relu): no
    Relu node left, outputs within one output quantum of the unfused file's, none negative."""
    import qrt

    c = 8
    w0 = (RNG.standard_normal((c, 3, 3, 3)) * 0.3).astype(np.float32)
    w1 = (RNG.standard_normal((c, c, 3, 3)) * 0.2).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w0"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("Conv", ["ar", "w1"], ["b"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["b", "ar"], ["s"]),
             helper.make_node("Relu", ["s"], ["sr"]),
             helper.make_node("Conv", ["sr", "w1"], ["y"], pads=[1, 1, 1, 1])]
    m = _tiny(nodes, {"w0": w0, "w1": w1}, (1, 3, 10, 10), (1, c, 10, 10))
    cal = [{"x": RNG.standard_normal((1, 3, 10, 10)).astype(np.float32)} for _ in range(4)]
    pf, rep, pc = _fused_and_unfused(m, cal, tmp_path, monkeypatch)
    ops = [r["op"] for r in qrt.InferenceSession(str(pf)).kernel_report()]
    assert "Relu" not in ops and "Add" in ops, ops
    assert any("Relu into u8 Add" in n for n in rep.notes)
    assert "Relu" in [r["op"] for r in qrt.InferenceSession(str(pc)).kernel_report()]
    x = RNG.standard_normal((1, 3, 10, 10)).astype(np.float32)
    yf = qrt.InferenceSession(str(pf)).run(None, {"x": x})[0]
    yc = qrt.InferenceSession(str(pc)).run(None, {"x": x})[0]
    ref = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    err = lambda y: float(np.sqrt(np.mean((y - ref) ** 2)))  # noqa: E731
    assert err(yf) <= 1.05 * err(yc) + 1e-6, (err(yf), err(yc))
    assert np.max(np.abs(yf - yc)) < 0.1 * np.max(np.abs(ref))


def test_reservoir_is_bounded_and_uniform():
    from qrt.calibrate.collect import Reservoir

    r = Reservoir(100, seed=0)
    for i in range(50):
        r.add(np.full((40, 2), i, np.float32))
    rows = r.rows()
    assert rows.shape == (100, 2) and r.seen == 2000
    assert 10 < rows[:, 0].mean() < 40  # not just the first or the last batches


def test_external_data_initializers(tmp_path):
    """Models saved with external data (large exports) convert like inline ones."""
    import qrt
    from qrt import demo

    m = onnx.load(demo.MODEL)
    ext = tmp_path / "ext.onnx"
    onnx.save_model(m, str(ext), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").stat().st_size > 1000
    x = np.load(demo.SAMPLES)["x_test"][:8]
    outs = []
    for src in (demo.MODEL, str(ext)):
        out = tmp_path / (os.path.basename(src) + ".qmodel")
        qrt.convert(src, str(out), mode="fp32", progress=False)
        outs.append(qrt.InferenceSession(str(out)).run(None, {"input": x})[0])
    np.testing.assert_array_equal(outs[0], outs[1])


def _embedding_model(vocab=300, dim=256, seed=3):
    """ids -> Gather(table) -> Add(bias): a vocabulary table big enough to be stored low."""
    rng = np.random.default_rng(seed)
    table = (rng.standard_normal((vocab, dim)) * rng.uniform(0.01, 2.0, (vocab, 1))).astype(np.float32)
    bias = rng.standard_normal(dim).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["e"], axis=0, name="embed"),
         helper.make_node("Add", ["e", "bias"], ["y"], name="add")],
        "emb", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["b", "s"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "s", dim])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(bias, "bias")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), table, bias


@pytest.mark.parametrize("mode,dtype", [("int8-dynamic", "s8"), ("int8-weight", "s8"),
                                        ("fp16", "f16"), ("bf16", "bf16"), ("fp32", "f32")])
def test_embedding_tables_are_stored_low_and_dequantized_per_row(mode, dtype):
    m, table, bias = _embedding_model()
    r = build(m, mode=mode, progress=False)
    node = [n for n in r.model_dict["nodes"] if n["op"] == "Gather"][0]
    t = r.model_dict["tensors"][node["inputs"][0]]
    assert t["dtype"] == dtype
    assert node.get("attrs", {}).get("dequantize", 0) == (0 if mode == "fp32" else 1)
    assert node["version"] == (1 if mode == "fp32" else 2)  # old runtimes refuse it by name
    rep = {n.name: n.mode for n in r.report.nodes}
    assert rep["embed"] == {"s8": "int8-weight", "f16": "fp16", "bf16": "bf16", "f32": "f32"}[dtype]
    ids = np.array([[0, 299, 5, 5, 17], [-1, 3, 150, 0, 42]], np.int64)
    want = np.take(table, ids, axis=0) + bias
    got = Evaluator(r.graph).run({"ids": ids})["y"]
    # per-row symmetric s8: |error| <= scale / 2 = max|row| / 254 (+ f32 rounding of the add)
    rows = np.abs(np.take(table, ids, axis=0))
    rowmax = rows.max(-1, keepdims=True)
    tol = {"s8": rowmax / 254 * 1.001 + 1e-5, "f16": rows * 2**-11 + 1e-5,
           "bf16": rows * 2**-8 + 1e-5, "f32": 1e-6}[dtype]
    assert np.all(np.abs(got - want) <= tol)
    if dtype != "f32":
        assert not np.array_equal(got, want)  # it really is stored low
    if _has_runtime_writer():
        import qrt
        from qrt.convert import write_model_bytes

        s = qrt.InferenceSession(write_model_bytes(r.model_dict))
        y = s.run(None, {"ids": ids})[0]
        np.testing.assert_array_equal(y, got)  # runtime == the converter's evaluator, bit for bit
        with pytest.raises(ValueError, match="out of range"):
            s.run(None, {"ids": np.array([[300]], np.int64)})


def test_small_and_excluded_tables_stay_f32():
    m, _, _ = _embedding_model(vocab=100, dim=64)  # 6400 elements: below the threshold
    r = build(m, mode="int8-dynamic", progress=False)
    assert not [n for n in r.model_dict["nodes"] if n.get("attrs", {}).get("dequantize")]
    m, _, _ = _embedding_model()
    r = build(m, mode="int8-dynamic", exclude=["embed"], progress=False)
    assert not [n for n in r.model_dict["nodes"] if n.get("attrs", {}).get("dequantize")]


@pytest.mark.skipif(not _has_runtime_writer(), reason="needs the compiled runtime")
def test_dequantizing_gather_refuses_bad_records():
    import qrt
    from qrt.convert import write_model_bytes

    m, _, _ = _embedding_model()
    r = build(m, mode="fp32", progress=False)
    node = [n for n in r.model_dict["nodes"] if n["op"] == "Gather"][0]
    node.setdefault("attrs", {})["dequantize"] = 1
    with pytest.raises(ValueError, match="dequantize needs Gather version 2"):
        qrt.InferenceSession(write_model_bytes(r.model_dict))
    node["version"] = 2  # f32 data cannot be dequantized
    with pytest.raises(ValueError, match="dequantize = 1 needs s8, u8, f16 or bf16 data"):
        qrt.InferenceSession(write_model_bytes(r.model_dict)).run(None, {"ids": np.zeros((1, 1), np.int64)})
    node["attrs"]["dequantize"] = 2
    with pytest.raises(ValueError, match="dequantize must be 0 or 1"):
        qrt.InferenceSession(write_model_bytes(r.model_dict))


@needs_runtime
@pytest.mark.parametrize("mode", ["fp32", "int8"])
def test_pad_models_convert_and_run(tmp_path, mode):
    """Zero Pad -> Conv folds into the conv's padding; a reflect Pad stays an op (NCHW, float);
    both modes match onnxruntime (int8 within its quantization error)."""
    c = 4
    w = {"w0": (RNG.standard_normal((c, 3, 3, 3)) * 0.3).astype(np.float32),
         "w1": (RNG.standard_normal((c, c, 3, 3)) * 0.3).astype(np.float32),
         "p0": np.array([0, 0, 0, 1, 0, 0, 1, 0], np.int64), "p1": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)}
    nodes = [helper.make_node("Pad", ["x", "p0"], ["xp"], name="pad0"),
             helper.make_node("Conv", ["xp", "w0"], ["a"], name="c0"),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("Pad", ["ar", "p1"], ["ap"], mode="reflect", name="pad1"),
             helper.make_node("Conv", ["ap", "w1"], ["y"], name="c1")]
    m = _tiny(nodes, w, (2, 3, 9, 9), (2, c, 7, 7))
    s, y, ref = _convert_run_vs_ort(tmp_path, m, (2, 3, 9, 9), mode)
    kinds = [r["op"] for r in s.kernel_report()]
    assert kinds.count("Pad") == 1, kinds  # pad0 folded, the reflect pad kept
    _assert_close_to_ort(y, ref, mode)


def _convert_run_vs_ort(tmp_path, m, x_shape, mode):
    """Converts ONNX model m (input "x") in `mode` (int8: 5 calibration batches), runs it on qrt
    and onnxruntime: (qrt session, qrt output, ORT output)."""
    import qrt

    src = tmp_path / "model.onnx"
    onnx.save(m, src)
    x = RNG.standard_normal(x_shape).astype(np.float32)
    ref = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    out = tmp_path / "model.qmodel"
    cal = [{"x": RNG.standard_normal(x_shape).astype(np.float32)} for _ in range(4)] + [{"x": x}]
    qrt.convert(str(src), out, mode=mode, calibration=cal if mode == "int8" else None, progress=False)
    s = qrt.InferenceSession(str(out))
    return s, s.run(None, {"x": x})[0], ref


def _assert_close_to_ort(y, ref, mode):
    assert y.shape == ref.shape
    if mode == "fp32":
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    else:
        err = np.abs(y - ref).max() / np.abs(ref).max()
        assert err < 0.05, err


@needs_runtime
@pytest.mark.parametrize("mode", ["fp32", "int8"])
@pytest.mark.parametrize("form", ["nearest", "linear", "cubic_sizes", "upsample9", "resize10_linear", "resize10_down"])
def test_resize_models_convert_and_run(tmp_path, mode, form):
    """Conv -> Resize -> Conv: opset-17 Resize (scales or sizes) and the older Upsample-9 /
    Resize-10 forms (rewritten by the frontend to asymmetric coordinates, floor / ceil nearest)
    match onnxruntime; int8 within its quantization error."""
    c, opset = 4, 17
    up = np.array([1, 1, 2, 1.5], np.float32)
    w = {"w0": (RNG.standard_normal((c, 3, 3, 3)) * 0.3).astype(np.float32),
         "w1": (RNG.standard_normal((c, c, 3, 3)) * 0.3).astype(np.float32)}
    attrs = {}
    if form == "nearest":
        w["s"], ins, attrs = up, ["a", "", "s"], {"mode": "nearest"}
    elif form == "linear":
        w["s"], ins = up, ["a", "", "s"]
        attrs = {"mode": "linear", "coordinate_transformation_mode": "align_corners"}
    elif form == "cubic_sizes":
        w["z"], ins, attrs = np.array([2, c, 9, 6], np.int64), ["a", "", "", "z"], {"mode": "cubic"}
    elif form == "upsample9":
        w["s"], ins, opset = up, ["a", "s"], 9
    elif form == "resize10_linear":
        w["s"], ins, opset, attrs = up, ["a", "s"], 10, {"mode": "linear"}
    else:  # resize10_down: nearest downsampling (ORT rounds up)
        w["s"], ins, opset = np.array([1, 1, 0.6, 0.75], np.float32), ["a", "s"], 10
    nodes = [helper.make_node("Conv", ["x", "w0"], ["a"], name="c0", pads=[1, 1, 1, 1]),
             helper.make_node("Upsample" if form == "upsample9" else "Resize", ins, ["r"], name="rs", **attrs),
             helper.make_node("Conv", ["r", "w1"], ["y"], name="c1")]
    m = _tiny(nodes, w, (2, 3, 7, 8), ())
    m.graph.output[0].type.tensor_type.ClearField("shape")
    m.opset_import[0].version = opset
    s, y, ref = _convert_run_vs_ort(tmp_path, m, (2, 3, 7, 8), mode)
    ops = [r["op"] for r in s.kernel_report()]
    assert ops.count("Resize") == 1
    k = ops.index("Resize")  # the layout pass moved the resize into the NHWC region
    assert ops[k - 1] == "Conv2d" and ops[k + 1] in ("Conv2d", "QuantizeLinear"), ops
    if mode == "int8" and form in ("nearest", "upsample9", "resize10_down"):
        assert ops[k + 1] == "Conv2d", ops  # nearest moves u8 values: no requantization
    _assert_close_to_ort(y, ref, mode)


def test_upsample_mixed_nearest_is_refused(tmp_path):
    w = {"s": np.array([1, 1, 2, 0.5], np.float32)}
    m = _tiny([helper.make_node("Upsample", ["x", "s"], ["y"], name="up")], w, (1, 2, 4, 4), (1, 2, 8, 2))
    m.opset_import[0].version = 9
    with pytest.raises(NotImplementedError, match="upsamples one axis and downsamples another"):
        build(m, mode="fp32")


@needs_runtime
@pytest.mark.parametrize("mode", ["fp32", "int8"])
def test_torch_norm_upsample_model_runs(tmp_path, mode):
    """GroupNorm (exported as Reshape/InstanceNormalization/Reshape/Mul/Add), InstanceNorm2d,
    PixelShuffle (DepthToSpace), bilinear and nearest interpolate, on conv outputs whose C, H and
    W are all 16 (the layout pass once dropped a reordering transpose there): against PyTorch."""
    torch = pytest.importorskip("torch")
    import qrt

    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.gn = nn.Conv2d(3, 16, 3, padding=1), nn.GroupNorm(4, 16)
            self.inorm, self.ps = nn.InstanceNorm2d(16, affine=True), nn.PixelShuffle(2)
            self.c2 = nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x):
            a = self.inorm(torch.relu(self.gn(self.c1(x))))
            b = self.ps(a)  # 4 x 32 x 32
            u = F.interpolate(F.avg_pool2d(b, 2), size=b.shape[-2:], mode="bilinear", align_corners=False)
            return self.c2(torch.cat([b, F.interpolate(u, scale_factor=1, mode="nearest")], 1))

    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        net.gn.weight.uniform_(0.5, 1.5)
        net.gn.bias.uniform_(-1, 1)
        net.inorm.weight.uniform_(0.5, 1.5)
    x = RNG.standard_normal((1, 3, 16, 16)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    onnx_path = tmp_path / "norm.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(onnx_path), opset_version=17, dynamo=False,
                      input_names=["x"])
    cal = [{"x": RNG.standard_normal((1, 3, 16, 16)).astype(np.float32)} for _ in range(6)] + [{"x": x}]
    out = tmp_path / "norm.qmodel"
    qrt.convert(str(onnx_path), out, mode=mode, calibration=cal if mode == "int8" else None, progress=False)
    s = qrt.InferenceSession(str(out))
    ops = [r["op"] for r in s.kernel_report()]
    assert {"InstanceNormalization", "DepthToSpace", "Resize"} <= set(ops), ops
    y = s.run(None, {s.get_inputs()[0].name: x})[0]
    err = np.abs(y - ref).max() / np.abs(ref).max()
    assert err < (1e-5 if mode == "fp32" else 0.05), err


@needs_runtime
@pytest.mark.parametrize("mode", ["fp32", "int8"])
def test_torch_conv1d_model_runs(tmp_path, mode):
    """A 1-D CNN (Conv1d with BatchNorm, dilation, stride, groups; max/avg pools, residual Add,
    GELU, two heads) runs as lifted 2-D ops in one NHWC region, against PyTorch."""
    torch = pytest.importorskip("torch")
    import qrt

    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.bn = nn.Conv1d(4, 16, 5, padding=2), nn.BatchNorm1d(16)
            self.c2 = nn.Conv1d(16, 16, 3, padding=2, dilation=2)
            self.c3 = nn.Conv1d(16, 32, 3, stride=2)
            self.dw, self.fc = nn.Conv1d(32, 32, 3, padding=1, groups=32), nn.Linear(32, 5)

        def forward(self, x):
            a = F.relu(self.bn(self.c1(x)))
            b = F.max_pool1d(F.relu(self.c2(a)) + a, 2)
            c = F.gelu(self.c3(b))
            c = F.avg_pool1d(self.dw(c) * 0.5 + c, 3, stride=1, padding=1)
            return self.fc(c.mean(-1)), F.adaptive_avg_pool1d(c, 1).flatten(1)

    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        net.bn.running_mean.uniform_(-0.5, 0.5)
        net.bn.running_var.uniform_(0.5, 1.5)
    x = RNG.standard_normal((2, 4, 64)).astype(np.float32)
    with torch.no_grad():
        refs = [t.numpy() for t in net(torch.from_numpy(x))]
    src = tmp_path / "c1d.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False, input_names=["x"])
    cal = [{"x": RNG.standard_normal((2, 4, 64)).astype(np.float32)} for _ in range(6)] + [{"x": x}]
    out = tmp_path / "c1d.qmodel"
    qrt.convert(str(src), out, mode=mode, calibration=cal if mode == "int8" else None, progress=False)
    s = qrt.InferenceSession(str(out))
    ops = [r["op"] for r in s.kernel_report()]
    # Transposes only at the edges: the input's (fused into QuantizeLinear in int8), one per head.
    assert ops.count("Conv2d") == 4 and ops.count("Transpose") == (3 if mode == "fp32" else 2), ops
    for y, ref in zip(s.run(None, {"x": x}), refs):
        err = np.abs(y - ref).max() / np.abs(ref).max()
        assert err < (1e-5 if mode == "fp32" else 0.05), err


@needs_runtime
@pytest.mark.parametrize("mode", ["fp32", "int8", "fp16"])
def test_torch_prelu_model_runs_in_nhwc(tmp_path, mode):
    """nn.PReLU with one slope per channel ([C, 1, 1] in the export) and a single slope, between
    convolutions: the slope is permuted with the NHWC region (no transposes inside it)."""
    torch = pytest.importorskip("torch")
    import qrt

    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.PReLU(16), nn.Conv2d(16, 8, 3),
                        nn.PReLU(), nn.Conv2d(8, 4, 1)).eval()
    with torch.no_grad():
        net[1].weight.uniform_(-0.5, 0.5)  # negative and distinct slopes: a transposed slope shows
        net[3].weight.fill_(0.1)
    x = RNG.standard_normal((2, 3, 12, 10)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    src = tmp_path / "p.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False, input_names=["x"])
    cal = [{"x": RNG.standard_normal((2, 3, 12, 10)).astype(np.float32)} for _ in range(6)] + [{"x": x}]
    out = tmp_path / "p.qmodel"
    qrt.convert(str(src), out, mode=mode, calibration=cal if mode == "int8" else None, progress=False)
    s = qrt.InferenceSession(str(out))
    ops = [r["op"] for r in s.kernel_report()]
    assert ops.count("PRelu") == 2 and ops.count("Transpose") <= 2, ops
    y = s.run(None, {"x": x})[0]
    err = np.abs(y - ref).max() / np.abs(ref).max()
    assert err < {"fp32": 1e-5, "fp16": 3e-3, "int8": 0.05}[mode], err


@needs_runtime
def test_u8_relu_after_a_residual_add_matches_the_runtime(tmp_path):
    """A Relu after a residual Add stays a u8 op (q = max(q, zero point)). The converter's
    evaluator ran it as ONNX's max(q, 0) on the raw bytes -- a no-op -- so the per-node report
    charged that Relu 1.2 dB SQNR while the runtime's output had 35 dB."""
    torch = pytest.importorskip("torch")
    import qrt
    from qrt.convert import build, write_model_bytes
    from qrt.ir.evaluate import Evaluator

    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2, self.s = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 1)

        def forward(self, x):
            return torch.relu(self.c2(torch.relu(self.c1(x))) + self.s(x))

    torch.manual_seed(0)
    net = Net().eval()
    x = RNG.standard_normal((1, 8, 10, 10)).astype(np.float32)
    src = tmp_path / "r.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False, input_names=["x"])
    cal = [{"x": RNG.standard_normal((1, 8, 10, 10)).astype(np.float32)} for _ in range(6)]
    res = build(str(src), mode="int8", calibration=cal, progress=False)
    relu = [n for n in res.graph.nodes if n.op == "Relu"]
    assert len(relu) == 1 and res.graph.tensor(relu[0].inputs[0]).dtype == "u8"
    got = qrt.InferenceSession(write_model_bytes(res.model_dict)).run(None, {"x": x})[0]
    ev = Evaluator(res.graph).run({"x": x})[res.graph.outputs[0]]
    assert np.array_equal(got, ev)
    rep = qrt.convert(str(src), str(tmp_path / "r.qmodel"), mode="int8", calibration=cal, progress=False)
    node = next(r for r in rep.nodes if r.name == relu[0].name)
    assert node.sqnr_db is not None and node.sqnr_db > 25, node


@needs_runtime
def test_int8_concat_of_u8_tokens_and_a_constant_class_token(tmp_path):
    """A ViT-style Concat of a learned class token (a constant after folding) with u8 patch
    embeddings runs in u8: the constant is stored in the Concat's parameters, whose range covers
    its values (it once stayed f32 and the runtime refused the file: "input 1 dtype u8 differs
    from input 0's f32")."""
    torch = pytest.importorskip("torch")
    import qrt

    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch, self.head = nn.Conv2d(3, 16, 4, stride=4), nn.Linear(16, 5)
            self.cls = nn.Parameter(torch.randn(1, 1, 16) * 3)  # beyond the patches' range

        def forward(self, x):
            t = self.patch(x).flatten(2).transpose(1, 2)
            t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], 1)
            return self.head(torch.relu(t))

    torch.manual_seed(0)
    net = Net().eval()
    x = RNG.standard_normal((1, 3, 16, 16)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    src = tmp_path / "vit.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False, input_names=["x"])
    cal = [{"x": RNG.standard_normal((1, 3, 16, 16)).astype(np.float32)} for _ in range(6)] + [{"x": x}]
    res = build(str(src), mode="int8", calibration=cal, progress=False)
    tensors = res.model_dict["tensors"]
    concat = [nd for nd in res.model_dict["nodes"] if nd["op"] == "Concat"]
    assert len(concat) == 1
    assert [tensors[i]["dtype"] for i in concat[0]["inputs"]] == ["u8", "u8"], concat
    assert len({(tensors[i]["quant"]["scales"][0], tensors[i]["quant"]["zero_points"][0])
                for i in concat[0]["inputs"] + concat[0]["outputs"]}) == 1
    out = tmp_path / "vit.qmodel"
    qrt.convert(str(src), out, mode="int8", calibration=cal, progress=False)
    y = qrt.InferenceSession(str(out)).run(None, {"x": x})[0]
    # the class token's row is exact up to one u8 step of the shared range
    err = np.abs(y - ref).max() / np.abs(ref).max()
    assert err < 0.05, err


@needs_runtime
@pytest.mark.parametrize("groups", [2, 4, 16])
def test_int8_grouped_conv_with_f32_output_matches_torch(tmp_path, groups):
    """Grouped convolutions (neither 1 nor depthwise) in int8, the last one dequantizing to f32
    (the model output): each group's GEMM writes its channel slice of the f32 output (it once
    used the u8 input's element size for the slice offset: SQNR below 0 dB, NaNs)."""
    torch = pytest.importorskip("torch")
    import qrt

    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1, groups=groups), nn.ReLU(),
                        nn.Conv2d(32, 32, 3, stride=2, groups=groups)).eval()
    x = RNG.standard_normal((1, 16, 9, 11)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    src = tmp_path / "g.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False, input_names=["x"])
    cal = [{"x": RNG.standard_normal((1, 16, 9, 11)).astype(np.float32)} for _ in range(6)] + [{"x": x}]
    out = tmp_path / "g.qmodel"
    qrt.convert(str(src), out, mode="int8", calibration=cal, progress=False)
    s = qrt.InferenceSession(str(out))
    convs = [r for r in s.kernel_report() if r["op"] == "Conv2d"]
    assert len(convs) == 2, convs
    y = s.run(None, {"x": x})[0]
    assert y.dtype == np.float32 and np.isfinite(y).all()
    sqnr = 10 * np.log10(np.sum(ref ** 2) / np.sum((y - ref) ** 2))
    assert sqnr > 30, sqnr


@needs_runtime
@pytest.mark.parametrize("mode", ["fp32", "int8", "fp16"])
def test_torch_conv_transpose_model_runs(tmp_path, mode):
    """A small U-Net-like decoder: ConvTranspose2d 2x2/2 and 4x4/2 (pads), a skip Concat and a
    ConvTranspose1d head, against PyTorch (ConvTranspose runs in f32 in every mode)."""
    torch = pytest.importorskip("torch")
    import qrt

    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.e1, self.e2 = nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 32, 3, stride=2, padding=1)
            self.up, self.d1 = nn.ConvTranspose2d(32, 16, 2, stride=2), nn.Conv2d(32, 8, 3, padding=1)
            self.up2, self.head = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.ConvTranspose1d(4, 2, 3, stride=2)

        def forward(self, x):
            a = F.relu(self.e1(x))
            u = F.relu(self.up(F.relu(self.e2(a))))
            o = self.up2(F.relu(self.d1(torch.cat([u, a], 1))))
            return o, self.head(o.mean(2))

    torch.manual_seed(0)
    net = Net().eval()
    x = RNG.standard_normal((1, 3, 16, 16)).astype(np.float32)
    with torch.no_grad():
        refs = [t.numpy() for t in net(torch.from_numpy(x))]
    src = tmp_path / "ct.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False, input_names=["x"])
    cal = [{"x": RNG.standard_normal((1, 3, 16, 16)).astype(np.float32)} for _ in range(6)] + [{"x": x}]
    out = tmp_path / "ct.qmodel"
    qrt.convert(str(src), out, mode=mode, calibration=cal if mode == "int8" else None, progress=False)
    s = qrt.InferenceSession(str(out))
    assert [r["op"] for r in s.kernel_report()].count("ConvTranspose") == 3
    tol = {"fp32": 1e-5, "fp16": 2e-3, "int8": 0.05}[mode]
    for y, ref in zip(s.run(None, {"x": x}), refs):
        assert y.shape == ref.shape
        err = np.abs(y - ref).max() / np.abs(ref).max()
        assert err < tol, err


@needs_runtime
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("mode", ["fp32", "fp16", "bf16", "int8-dynamic", "int8"])
def test_torch_recurrent_model_runs(tmp_path, mode, kind):
    """Linear -> nn.LSTM (2 layers, bidirectional, batch_first) or nn.GRU (PyTorch exports
    linear_before_reset=1) -> Linear, against PyTorch. The recurrent layers take s8 W and R in
    the int8 modes (inputs and states quantized per call) and f16 / bf16 in those modes; the
    Linear layers around them take the mode's weights. Tolerance (max |error| / max |reference|):
    fp32 1e-5, fp16 2e-3, bf16 2e-2, int8 modes 0.05 (measured 1e-7, 2e-4, 3e-3, 0.008-0.024)."""
    torch = pytest.importorskip("torch")
    import qrt

    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(6, 12)
            if kind == "LSTM":
                self.rnn = nn.LSTM(12, 16, num_layers=2, bidirectional=True, batch_first=True)
            else:
                self.rnn = nn.GRU(12, 16, batch_first=True)
            self.head = nn.Linear(32 if kind == "LSTM" else 16, 5)

        def forward(self, x):
            y, h = self.rnn(torch.relu(self.inp(x)))
            return self.head(y), h[0] if kind == "LSTM" else h

    torch.manual_seed(0)
    net = Net().eval()
    x = RNG.standard_normal((3, 9, 6)).astype(np.float32)
    with torch.no_grad():
        refs = [t.numpy() for t in net(torch.from_numpy(x))]
    src = tmp_path / "rnn.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False, input_names=["x"])
    cal = [{"x": RNG.standard_normal((3, 9, 6)).astype(np.float32)} for _ in range(8)] + [{"x": x}]
    out = tmp_path / "rnn.qmodel"
    qrt.convert(str(src), out, mode=mode, calibration=cal if mode == "int8" else None, progress=False)
    s = qrt.InferenceSession(str(out))
    rep = s.kernel_report()
    rec = [r["kernel"] for r in rep if r["op"] == kind]
    want_rec = {"fp16": "f32f16", "bf16": "f32bf16", "int8": "u8s8", "int8-dynamic": "u8s8"}.get(mode, "f32f32")
    assert len(rec) == (2 if kind == "LSTM" else 1) and all(want_rec in k for k in rec), rep
    dense = [r["kernel"] for r in rep if r["op"] == "Dense"]
    want = {"fp32": "f32f32", "fp16": "f32f16", "bf16": "f32bf16", "int8-dynamic": "u8s8", "int8": "u8s8"}[mode]
    assert len(dense) == 2 and all(want in k for k in dense), rep
    tol = {"fp32": 1e-5, "fp16": 2e-3, "bf16": 2e-2, "int8-dynamic": 0.05, "int8": 0.05}[mode]
    got = s.run(None, {"x": x})
    assert len(got) == len(refs)
    for y, ref in zip(got, refs):
        assert y.shape == ref.shape
        err = np.abs(y - ref).max() / np.abs(ref).max()
        assert err < tol, err


@needs_runtime
@pytest.mark.parametrize("mode", ["fp16", "bf16"])
def test_recurrent_half_weights_are_exactly_the_rounded_weights(tmp_path, mode):
    """fp16 / bf16 store an LSTM's and a GRU's W and R rounded (the file's recurrent weights
    shrink by half) and compute in f32 on them: the output equals ONNX Runtime's f32 run of the
    same model with those weights rounded, to f32 rounding (1e-5), while the unrounded model is
    further off (the check would catch weights left f32 or rounded twice). The report marks the
    layers with the mode; excluding one keeps it f32 with the user's reason."""
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    import onnx
    from onnx import numpy_helper

    import qrt
    from qrt.quantize.params import to_bf16

    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(24, 40, batch_first=True)
            self.gru = nn.GRU(40, 32, batch_first=True, bidirectional=True)

        def forward(self, x):
            return self.gru(self.lstm(x)[0])[0]

    torch.manual_seed(1)
    x = RNG.standard_normal((2, 11, 24)).astype(np.float32)
    src = tmp_path / "rec.onnx"
    torch.onnx.export(Net().eval(), (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False,
                      input_names=["x"])
    m = onnx.load(str(src))
    rounded = onnx.load(str(src))
    rec_weights = {i for n in m.graph.node if n.op_type in ("LSTM", "GRU") for i in n.input[1:3]}
    assert len(rec_weights) == 4
    f32_bytes = 0
    for init in rounded.graph.initializer:
        if init.name in rec_weights:
            w = numpy_helper.to_array(init)
            f32_bytes += w.nbytes
            low = (w.astype(np.float16).astype(np.float32) if mode == "fp16"
                   else (to_bf16(w).astype(np.uint32) << 16).view(np.float32))
            init.CopyFrom(numpy_helper.from_array(low, init.name))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    want = ort.InferenceSession(rounded.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    exact = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]

    out = tmp_path / "rec.qmodel"
    res = qrt.convert(str(src), out, mode=mode, progress=False)
    got = qrt.InferenceSession(str(out)).run(None, {"x": x})[0]
    scale = np.abs(want).max()
    err = np.abs(got - want).max() / scale
    assert err < 1e-5, err
    assert np.abs(exact - want).max() / scale > 10 * max(err, 1e-7)
    modes = {n.op: n.mode for n in res.nodes if n.op in ("LSTM", "GRU")}
    assert modes == {"LSTM": mode, "GRU": mode}, modes
    out32 = tmp_path / "rec32.qmodel"
    qrt.convert(str(src), out32, mode="fp32", progress=False)
    assert out32.stat().st_size - out.stat().st_size >= f32_bytes // 2 - 1024

    kept = qrt.convert(str(src), tmp_path / "rec_ex.qmodel", mode=mode, exclude=["LSTM"], progress=False)
    lstm = [n for n in kept.nodes if n.op == "LSTM"][0]
    assert lstm.mode == "f32" and "excluded" in lstm.float_reason


@needs_runtime
@pytest.mark.parametrize("mode", ["int8-dynamic", "int8"])
def test_recurrent_int8_runtime_equals_evaluator(tmp_path, mode):
    """s8 recurrent weights: the converter's evaluator (qrt/ir/evaluate_recurrent.py) models the
    runtime's per-call u8 quantization of X and of each step's state, so the two agree to float
    rounding of the gates (sigmoid / tanh: numpy against vmath), far below the quantization error
    itself; the file's recurrent weights are a quarter of fp32's; the report lists the layers as
    int8-dynamic with a per-layer SQNR, and an excluded layer stays f32."""
    torch = pytest.importorskip("torch")
    import qrt

    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(24, 40, batch_first=True, bidirectional=True)
            self.gru = nn.GRU(80, 32, batch_first=True)
            self.rnn = nn.RNN(32, 16)

        def forward(self, x):
            y = self.gru(self.lstm(x)[0])[0]
            return self.rnn(y.transpose(0, 1))[0]

    torch.manual_seed(2)
    net = Net().eval()
    x = RNG.standard_normal((2, 9, 24)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    src = tmp_path / "rec.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False, input_names=["x"])
    cal = [{"x": RNG.standard_normal((2, 9, 24)).astype(np.float32)} for _ in range(4)]
    res = build(str(src), mode=mode, calibration=cal, progress=False)
    rec = [n for n in res.graph.nodes if n.op in ("LSTM", "GRU", "RNN")]
    assert len(rec) == 3 and all(res.graph.tensor(n.inputs[k]).dtype == "s8" for n in rec for k in (1, 2))
    out = tmp_path / "rec.qmodel"
    r = qrt.convert(str(src), out, mode=mode, calibration=cal, progress=False)  # cal: the accuracy sample
    sess = qrt.InferenceSession(str(out))
    kernels = [k["kernel"] for k in sess.kernel_report() if k["op"] in ("LSTM", "GRU", "RNN")]
    assert len(kernels) == 3 and all("u8s8" in k for k in kernels), kernels
    got = sess.run(None, {"x": x})[0]
    ev = Evaluator(res.graph).run({"x": x})[res.graph.outputs[0]]
    scale = np.abs(ref).max()
    assert np.abs(got - ev).max() / scale < 1e-4, np.abs(got - ev).max() / scale
    err = np.abs(got - ref).max() / scale
    assert 1e-3 < err < 0.05, err  # quantized (not silently f32), and close
    nodes = {n.op: n for n in r.nodes if n.op in ("LSTM", "GRU", "RNN")}
    assert all(n.mode == "int8-dynamic" and n.float_reason is None and n.sqnr_db and n.sqnr_db > 20
               and n.dtypes["weight"] == n.dtypes["recurrent_weight"] == "s8" for n in nodes.values()), nodes
    out32 = tmp_path / "rec32.qmodel"
    qrt.convert(str(src), out32, mode="fp32", progress=False)
    w_bytes = sum(p.numel() * 4 for name, p in net.named_parameters() if "weight" in name)
    assert out32.stat().st_size - out.stat().st_size >= 0.7 * w_bytes
    kept = qrt.convert(str(src), tmp_path / "rec_ex.qmodel", mode=mode, exclude=["GRU"],
                       calibration=cal if mode == "int8" else None, progress=False)
    gru = [n for n in kept.nodes if n.op == "GRU"][0]
    assert gru.mode == "f32" and "excluded" in gru.float_reason


@needs_runtime
def test_recurrent_int8_weight_bits_7(tmp_path):
    """weight_bits=7 puts recurrent s8 weights in [-64, 64] too, and the runtime then runs them
    on the same kernel as the model's 7-bit Dense (on AVX2 without VNNI the exact vpmaddubsw
    variant, elsewhere the selected one); outputs stay within the int8 tolerance."""
    torch = pytest.importorskip("torch")
    import qrt

    torch.manual_seed(3)
    lstm, head = torch.nn.LSTM(16, 48, batch_first=True), torch.nn.Linear(48, 4)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.head = lstm, head

        def forward(self, x):
            return self.head(self.lstm(x)[0])

    net = Net().eval()
    x = RNG.standard_normal((1, 12, 16)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    src = tmp_path / "l.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False, input_names=["x"])
    out = tmp_path / "l.qmodel"
    res = build(str(src), mode="int8-dynamic", weight_bits=7, progress=False)
    lstm_node = [n for n in res.graph.nodes if n.op == "LSTM"][0]
    for k in (1, 2):
        q = res.graph.tensor(lstm_node.inputs[k]).data
        assert np.abs(q.astype(np.int32)).max() == 64
    qrt.convert(str(src), out, mode="int8-dynamic", weight_bits=7, progress=False)
    s = qrt.InferenceSession(str(out))
    rep = {r["op"]: r["kernel"] for r in s.kernel_report()}
    assert rep["LSTM"] == rep["Dense"], rep
    got = s.run(None, {"x": x})[0]
    assert np.abs(got - ref).max() / np.abs(ref).max() < 0.05


@needs_runtime
def test_torch_rnn_relu_and_onnx_absent_outputs(tmp_path):
    """nn.RNN(nonlinearity="relu") exports activations=["Relu"] (a string list, stored as one
    comma-separated string); an ONNX LSTM with outputs ["", "Y_h"] (the absent Y gets a name of
    its own) and explicit activations: both against their float references."""
    torch = pytest.importorskip("torch")
    import qrt

    torch.manual_seed(0)
    net = torch.nn.RNN(5, 7, nonlinearity="relu", bidirectional=True).eval()
    x = RNG.standard_normal((6, 2, 5)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x))[0].numpy()
    src = tmp_path / "rnn_relu.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False, input_names=["x"])
    acts = [list(a.strings) for n in onnx.load(str(src)).graph.node if n.op_type == "RNN"
            for a in n.attribute if a.name == "activations"]
    assert acts == [[b"Relu", b"Relu"]], acts
    qrt.convert(str(src), tmp_path / "rnn_relu.qmodel", mode="fp32", progress=False)
    y = qrt.InferenceSession(str(tmp_path / "rnn_relu.qmodel")).run(None, {"x": x})[0]
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())

    T, B, I, H = 5, 2, 3, 4
    W = RNG.uniform(-0.5, 0.5, (1, 4 * H, I)).astype(np.float32)
    R = RNG.uniform(-0.5, 0.5, (1, 4 * H, H)).astype(np.float32)
    node = helper.make_node("LSTM", ["x", "W", "R"], ["", "Y_h"], hidden_size=H,
                            activations=["Sigmoid", "Tanh", "Relu"])
    graph = helper.make_graph([node], "lstm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [T, B, I])],
                              [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(W, "W"), numpy_helper.from_array(R, "R")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    xs = RNG.standard_normal((T, B, I)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": xs})[0]
    qrt.convert(model, tmp_path / "lstm.qmodel", mode="fp32", progress=False)
    s = qrt.InferenceSession(str(tmp_path / "lstm.qmodel"))
    assert [o.name for o in s.get_outputs()] == ["Y_h"]
    np.testing.assert_allclose(s.run(None, {"x": xs})[0], want, rtol=1e-5, atol=1e-5)


def test_weight_bits_7_narrows_the_weights_and_selects_the_narrow_kernel(tmp_path, digits, float_logits):
    """weight_bits=7: every s8 weight in [-64, 64] with scale max|w| / 64; the runtime equals the
    integer evaluator (the narrow kernel is bit-exact) and, on a CPU whose int8 GEMM has a
    narrow-weight variant (AVX2 without VNNI), runs the Conv2d/Dense nodes on it."""
    import qrt

    with pytest.raises(Exception, match="weight_bits"):
        build(MODEL, calibration=[{"input": digits["x_calib"]}], progress=False, weight_bits=6)
    r7 = build(MODEL, calibration=[{"input": digits["x_calib"]}], progress=False, weight_bits=7)
    assert any("weight_bits=7" in n for n in r7.report.notes)
    ws = [t for t in r7.model_dict["tensors"] if t["dtype"] == "s8" and t["data"] is not None]
    assert ws
    for t in ws:
        q = np.frombuffer(t["data"], np.int8)
        assert q.min() >= -64 and q.max() <= 64 and np.abs(q).max() == 64, t["name"]
    out7, out8 = tmp_path / "w7.qmodel", tmp_path / "w8.qmodel"
    qrt.convert(MODEL, out7, calibration=[{"input": digits["x_calib"]}], progress=False, weight_bits=7)
    qrt.convert(MODEL, out8, calibration=[{"input": digits["x_calib"]}], progress=False)
    s7 = qrt.InferenceSession(str(out7))
    y = s7.run(None, {"input": digits["x_test"]})[0]
    sim = Evaluator(r7.graph).run({"input": digits["x_test"]})["logits"]
    np.testing.assert_allclose(y, sim, rtol=1e-5, atol=1e-5 * np.abs(sim).max())
    acc_f = (float_logits.argmax(1) == digits["y_test"]).mean()
    assert (y.argmax(1) == digits["y_test"]).mean() >= acc_f - 0.02
    gemm = qrt.cpu_info()["kernels"]["gemm_u8s8"]
    # (3x3 stride-1 convolutions may run Winograd instead, on such CPUs: no GEMM there.)
    gemm_nodes = lambda s: {r["kernel"] for r in s.kernel_report()  # noqa: E731
                            if r["op"] in ("Conv2d", "Dense") and "winograd" not in r["kernel"]}
    k7, k8 = gemm_nodes(s7), gemm_nodes(qrt.InferenceSession(str(out8)))
    assert k7 and k8
    if gemm == "gemm_u8s8_6x8c4_avx2":
        assert all("gemm_u8s8_4x16c4_b64_avx2" in k for k in k7), k7
        assert not any("_b64_" in k for k in k8), k8
    else:
        assert not any("_b64_" in k for k in k7 | k8), (gemm, k7, k8)
