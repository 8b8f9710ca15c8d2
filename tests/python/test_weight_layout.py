"""Weights stored packed in the .qmodel (format 1.1): the converter's ``weight_layout`` choice,
what ``read_model`` returns for packed tensors, and that every layout runs to the same bytes as
a plain file on this CPU (in place for the native layout, repacked for the others). CI runs the
suite under every QRT_ISA cap, which changes which layout is native."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

qrt = pytest.importorskip("qrt")
_core = pytest.importorskip("qrt._core")
if not hasattr(_core, "native_weight_layout"):
    pytest.skip("qrt._core predates packed weight layouts", allow_module_level=True)

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "qrt", "data")
MODEL = os.path.join(DATA, "digits_cnn.onnx")
LAYOUTS = ["plain", "c4/8", "c4/16", "c4/32", "c4/64"]


@pytest.fixture(scope="module")
def digits():
    return dict(np.load(os.path.join(DATA, "digits.npz")))


@pytest.fixture(scope="module")
def converted(tmp_path_factory, digits):
    """digits_cnn in int8 and int8-dynamic, once per layout (and "auto")."""
    d = tmp_path_factory.mktemp("layouts")
    out = {}
    for mode in ("int8", "int8-dynamic"):
        for layout in LAYOUTS + ["auto"]:
            p = d / f"{mode}-{layout.replace('/', '_')}.qmodel"
            rep = qrt.convert(MODEL, p, mode=mode, calibration=[{"input": digits["x_calib"][:64]}],
                              progress=False, weight_layout=layout)
            out[mode, layout] = (p, rep)
    return out


@pytest.mark.parametrize("mode", ["int8", "int8-dynamic"])
def test_every_layout_runs_to_the_plain_files_bytes(converted, digits, mode):
    x = digits["x_test"][:50]
    want = qrt.InferenceSession(converted[mode, "plain"][0]).run(None, {"input": x})[0]
    for layout in LAYOUTS[1:] + ["auto"]:
        for threads in (1, 2):
            got = qrt.InferenceSession(converted[mode, layout][0], threads=threads).run(None, {"input": x})[0]
            assert got.dtype == want.dtype and np.array_equal(got, want), (mode, layout, threads)


def test_packed_files_read_back_as_plain_arrays(converted):
    plain = _core.read_model(str(converted["int8", "plain"][0]), verify_weights=True)
    assert plain["format_version"] == "1.0"
    assert {t["layout"] for t in plain["tensors"]} == {"plain"}
    for layout in LAYOUTS[1:]:
        path = converted["int8", layout][0]
        d = _core.read_model(str(path), verify_weights=True)  # also checks column sums / padding
        assert d["format_version"] == "1.1"
        assert d["metadata"]["weight_layout"] == layout
        assert _core.read_header(str(path))["flags"] & (1 << 16)
        packed = [t for t in d["tensors"] if t["layout"] != "plain"]
        # every int8 GEMM weight of digits_cnn (its convolutions and dense layers), and only s8 ones
        assert packed and all(t["layout"] == layout and t["dtype"] == "s8" for t in packed)
        by_name = {t["name"]: t for t in plain["tensors"]}
        for t in d["tensors"]:
            ref = by_name[t["name"]]
            assert t["shape"] == ref["shape"]
            if t["data"] is not None:
                assert np.array_equal(t["data"], ref["data"]), t["name"]
        # what read_model returns writes back: a packed file re-serialises to the same bytes
        again = _core.write_model({k: v for k, v in d.items() if k != "format_version"})
        assert again == path.read_bytes()


@pytest.fixture(scope="module")
def mlp_auto(tmp_path_factory):
    """A 256-768-512 MLP (590 KB of int8 weights: above the "auto" threshold), int8-dynamic."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    w1 = rng.standard_normal((256, 768)).astype(np.float32) * 0.05
    w2 = rng.standard_normal((768, 510)).astype(np.float32) * 0.05  # 510: an N tail for every nr
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("MatMul", ["r", "w2"], ["y"])], "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 510])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    d = tmp_path_factory.mktemp("auto")
    out = {}
    for layout in ("auto", "plain"):
        out[layout] = d / f"{layout}.qmodel"
        qrt.convert(m.SerializeToString(), out[layout], mode="int8-dynamic", progress=False, weight_layout=layout)
    return out


def test_auto_is_this_machines_kernel_layout(mlp_auto, converted):
    native = _core.native_weight_layout()
    assert native in LAYOUTS and qrt.cpu_info()["weight_layout"] == native
    d = _core.read_model(str(mlp_auto["auto"]))
    layouts = {t["layout"] for t in d["tensors"]}
    assert layouts == ({"plain"} if native == "plain" else {"plain", native})
    x = np.random.default_rng(0).standard_normal((2, 256)).astype(np.float32)
    y = qrt.InferenceSession(str(mlp_auto["auto"])).run(None, {"x": x})[0]
    assert np.array_equal(y, qrt.InferenceSession(str(mlp_auto["plain"])).run(None, {"x": x})[0])
    # digits_cnn has ~30 KB of weights: "auto" leaves such small models plain (format 1.0)
    small = _core.read_model(str(converted["int8", "auto"][0]))
    assert small["format_version"] == "1.0" and {t["layout"] for t in small["tensors"]} == {"plain"}


def test_auto_skips_layers_the_layout_would_inflate():
    from qrt.convert import apply_weight_layout

    w = lambda n, k: {"name": f"w{n}", "dtype": "s8", "shape": [n, k], "data": np.zeros((n, k), np.int8)}  # noqa: E731
    md = {"tensors": [{"name": "x", "dtype": "f32", "shape": [1, 1024], "data": None},
                      w(512, 1024), w(10, 1024), {"name": "y", "dtype": "f32", "shape": [1, 512], "data": None},
                      {"name": "z", "dtype": "f32", "shape": [1, 10], "data": None}],
          "nodes": [{"op": "Dense", "inputs": [0, 1], "outputs": [3], "attrs": {}},
                    {"op": "Dense", "inputs": [0, 2], "outputs": [4], "attrs": {}}],
          "inputs": [0], "outputs": [3, 4]}
    assert apply_weight_layout(md, "c4/32", only_worthwhile=True) == 1  # N=10 would grow 3.2x
    assert md["tensors"][1]["layout"] == "c4/32" and "layout" not in md["tensors"][2]
    for t in md["tensors"]:
        t.pop("layout", None)
    assert apply_weight_layout(md, "c4/32") == 2  # an explicit layout packs every eligible tensor


def _c4_bytes(n: int, k: int, nr: int) -> int:
    """docs/FORMAT.md §3.2.1: colsums (round_up(N, nr) int32, padded to 64) + panels."""
    np_ = -(-n // nr) * nr
    return -(-np_ * 4 // 64) * 64 + np_ * (-(-k // 4) * 4)


def test_packed_file_size_is_the_layouts_overhead(converted):
    """The file grows by exactly what the layout adds (column sums, padding), the 8-byte 1.1
    records, alignment and the 4 KiB tail — nothing else is stored twice."""
    plain_path = converted["int8", "plain"][0]
    plain = os.path.getsize(plain_path)
    ntensors = len(_core.read_model(str(plain_path))["tensors"])
    for layout in LAYOUTS[1:]:
        path = converted["int8", layout][0]
        nr = int(layout.split("/")[1])
        packed = [t for t in _core.read_model(str(path))["tensors"] if t["layout"] != "plain"]
        extra = sum(_c4_bytes(t["shape"][0], int(np.prod(t["shape"][1:])), nr) - t["data"].size for t in packed)
        growth = os.path.getsize(path) - plain
        lo = extra + 8 * ntensors + 4096 - 64 * len(packed)
        hi = extra + 8 * ntensors + 4096 + 64 * len(packed) + 8
        assert lo <= growth <= hi, (layout, growth, extra)


def test_bad_layout_arguments(tmp_path):
    with pytest.raises(ValueError, match="weight_layout"):
        qrt.convert(MODEL, tmp_path / "m.qmodel", mode="int8-dynamic", weight_layout="c4/12", progress=False)
    m = {"tensors": [{"name": "w", "dtype": "f32", "shape": [2, 2], "data": np.zeros((2, 2), np.float32),
                      "layout": "c4/8"},
                     {"name": "x", "dtype": "f32", "shape": [2, 2], "data": None},
                     {"name": "y", "dtype": "f32", "shape": [2, 2], "data": None}],
         "nodes": [{"op": "Add", "version": 1, "name": "a", "inputs": [1, 0], "outputs": [2], "attrs": {}}],
         "inputs": [1], "outputs": [2], "metadata": {}}
    with pytest.raises(ValueError, match="needs a constant s8"):
        _core.write_model(m)
    m["tensors"][0]["layout"] = "c4/9"
    with pytest.raises(ValueError, match="unknown layout"):
        _core.write_model(m)


def test_a_packed_weight_shared_with_another_op_reads_plain(tmp_path):
    """A file may hand a packed weight to a non-GEMM op too; that op must see plain values."""
    rng = np.random.default_rng(1)
    w = rng.integers(-127, 128, (5, 8)).astype(np.int8)
    m = {"tensors": [
        {"name": "x", "dtype": "f32", "shape": [3, 8], "data": None},
        {"name": "w", "dtype": "s8", "shape": [5, 8], "data": w, "layout": "c4/8",
         "quant": {"axis": 0, "scales": [0.01] * 5, "zero_points": [0] * 5}},
        {"name": "y", "dtype": "f32", "shape": [3, 5], "data": None},
        {"name": "wi", "dtype": "s32", "shape": [5, 8], "data": None}],
        "nodes": [{"op": "Dense", "version": 1, "name": "fc", "inputs": [0, 1], "outputs": [2], "attrs": {}},
                  {"op": "Cast", "version": 1, "name": "c", "inputs": [1], "outputs": [3], "attrs": {"to": 6}}],
        "inputs": [0], "outputs": [2, 3], "metadata": {}}
    path = tmp_path / "shared.qmodel"
    path.write_bytes(_core.write_model(m))
    x = rng.standard_normal((3, 8)).astype(np.float32)
    y, wi = qrt.InferenceSession(str(path)).run(None, {"x": x})
    assert np.array_equal(wi, w.astype(np.int32))
    m["tensors"][1]["layout"] = "plain"
    path.write_bytes(_core.write_model(m))
    y_plain, _ = qrt.InferenceSession(str(path)).run(None, {"x": x})
    assert np.array_equal(y, y_plain)


def test_cli_convert_weight_layout(tmp_path):
    out = tmp_path / "m.qmodel"
    r = subprocess.run([sys.executable, "-m", "qrt", "convert", os.path.abspath(MODEL), "-o", str(out),
                        "--mode", "int8-dynamic", "--weight-layout", "c4/16"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = _core.read_model(str(out))
    assert d["metadata"]["weight_layout"] == "c4/16"
    assert any(t["layout"] == "c4/16" for t in d["tensors"])


def test_inspect_shows_stored_layouts_and_weights_used_in_place(mlp_auto, converted):
    from qrt.inspect import describe, inspect

    path = mlp_auto["auto"]
    d = describe(path, plan=True)
    native = _core.native_weight_layout()
    stored = {t["layout"] for t in d["tensors"]}
    assert stored == ({"plain"} if native == "plain" else {"plain", native})
    plan = d["plan"]
    if native == "plain":
        assert plan["weights_in_place_bytes"] == 0 and plan["weights_packed_at_load_bytes"] > 0
    else:
        assert plan["weights_in_place_bytes"] > 0
    text = inspect(path)
    assert "used in place from the file" in text
    assert (native == "plain") or f"stored {native}" in text
    # a layout that is not this CPU's: repacked at load, nothing in place
    other = next(lay for lay in LAYOUTS[1:] if lay != native)
    p2 = describe(converted["int8", other][0], plan=True)["plan"]
    assert p2["weights_in_place_bytes"] == 0 and p2["weights_packed_at_load_bytes"] > 0
