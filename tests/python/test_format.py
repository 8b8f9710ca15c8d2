"""The .qmodel binding: write_model / read_model / read_header round trips and errors, and
``qrt inspect`` (qrt/inspect.py)."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import qrt

_core = pytest.importorskip("qrt._core")


def sample_model():
    rng = np.random.default_rng(0)
    return {
        "tensors": [
            {"name": "x", "dtype": "f32", "shape": [-1, 4], "dim_names": ["batch", ""],
             "data": None, "quant": None},
            {"name": "w", "dtype": "s8", "shape": [3, 4],
             "data": rng.integers(-127, 128, (3, 4)).astype(np.int8),
             "quant": {"axis": 0, "scales": [0.5, 0.25, 0.125], "zero_points": [0, 0, 0]}},
            {"name": "b", "dtype": "s32", "shape": [3], "data": np.array([1, -2, 3], np.int32),
             "quant": {"axis": 0, "scales": [0.1, 0.2, 0.3], "zero_points": [0, 0, 0]}},
            {"name": "xq", "dtype": "u8", "shape": [-1, 4], "data": None,
             "quant": {"axis": -1, "scales": [0.05], "zero_points": [128]}},
            {"name": "f16", "dtype": "f16", "shape": [2, 2],
             "data": np.array([[1, 2], [3, 4]], np.float16)},
            {"name": "bf16", "dtype": "bf16", "shape": [2], "data": np.array([0x3F80, 0xC000], np.uint16)},
            {"name": "f32", "dtype": "f32", "shape": [2, 3], "data": rng.standard_normal((2, 3)).astype(np.float32)},
            {"name": "i64", "dtype": "s64", "shape": [2], "data": np.array([-1, 1 << 40], np.int64)},
            {"name": "mask", "dtype": "bool", "shape": [3], "data": np.array([True, False, True])},
            {"name": "raw", "dtype": "u8", "shape": [5], "data": b"\x00\x01\x02\x03\x04"},
            {"name": "y", "dtype": "f32", "shape": [-1, 3], "data": None},
        ],
        "nodes": [
            {"op": "QuantizeLinear", "version": 1, "name": "q", "inputs": [0], "outputs": [3], "attrs": {}},
            {"op": "Dense", "version": 2, "name": "fc", "inputs": [3, 1, 2, -1], "outputs": [10],
             "attrs": {"activation": "relu", "weight_only": 0, "alpha": 0.5, "pads": [1, 2, 3],
                       "coeffs": [1, 2.5], "empty": [], "big": -(1 << 50)}},
        ],
        "inputs": [0],
        "outputs": [10],
        "metadata": {"producer": "test", "note": "ünïcode"},
    }


def test_round_trip_every_dtype_and_attr_type(tmp_path):
    m = sample_model()
    data = _core.write_model(m)
    assert isinstance(data, bytes) and data[:8] == b"\x89QMD\r\n\x1a\n"
    path = tmp_path / "m.qmodel"
    path.write_bytes(data)
    for src in (data, str(path), path):
        d = _core.read_model(src, verify_weights=True)
        assert d["format_version"] == "1.0" and _core.FORMAT_VERSION == "1.1"  # nothing packed: 1.0
        assert [t["name"] for t in d["tensors"]] == [t["name"] for t in m["tensors"]]
        for got, want in zip(d["tensors"], m["tensors"]):
            assert got["dtype"] == want["dtype"] and got["shape"] == want["shape"]
            if want["data"] is None:
                assert got["data"] is None
            else:
                w = np.frombuffer(want["data"], np.uint8) if isinstance(want["data"], bytes) else want["data"]
                assert got["data"].shape == tuple(want["shape"])
                assert got["data"].tobytes() == np.ascontiguousarray(w).tobytes()
                assert not got["data"].flags.writeable
            if want.get("quant"):
                assert got["quant"]["axis"] == want["quant"]["axis"]
                np.testing.assert_allclose(got["quant"]["scales"], want["quant"]["scales"], rtol=1e-7)
                assert got["quant"]["zero_points"] == want["quant"]["zero_points"]
            else:
                assert got["quant"] is None
        assert d["tensors"][0]["dim_names"] == ["batch", ""]
        assert d["tensors"][4]["data"].dtype == np.float16
        assert d["tensors"][5]["data"].dtype == np.uint16  # bf16 comes back as its bit pattern
        assert d["tensors"][8]["data"].dtype == np.bool_
        attrs = d["nodes"][1]["attrs"]
        assert attrs == {"activation": "relu", "weight_only": 0, "alpha": 0.5, "pads": [1, 2, 3],
                         "coeffs": [1.0, 2.5], "empty": [], "big": -(1 << 50)}
        assert isinstance(attrs["coeffs"][0], float) and isinstance(attrs["pads"][0], int)
        assert d["nodes"][1]["version"] == 2 and d["nodes"][1]["inputs"] == [3, 1, 2, -1]
        assert d["metadata"] == m["metadata"]
        assert d["inputs"] == [0] and d["outputs"] == [10]
        # What was read writes back to the same bytes.
        assert _core.write_model(d) == data


def test_constants_are_64_byte_aligned_views(tmp_path):
    path = tmp_path / "m.qmodel"
    path.write_bytes(_core.write_model(sample_model()))
    d = _core.read_model(path)
    for t in d["tensors"]:
        if t["data"] is not None and t["data"].nbytes:
            assert t["data"].ctypes.data % 64 == 0
    arr = d["tensors"][6]["data"]
    del d  # the array keeps the mapping alive
    assert np.isfinite(arr).all()


def test_read_header(tmp_path):
    data = _core.write_model(sample_model())
    h = _core.read_header(data)
    assert h["version"] == "1.0" and h["version_major"] == 1 and h["file_size"] == len(data)
    kinds = [s["kind"] for s in h["sections"]]
    assert kinds == ["strings", "tensors", "nodes", "graph", "metadata", "weights"]
    w = h["sections"][-1]
    assert w["offset"] % 64 == 0 and w["required"] and not h["sections"][4]["required"]
    assert all(isinstance(s["checksum"], int) for s in h["sections"])


def test_errors_map_to_qrt_classes(tmp_path):
    data = _core.write_model(sample_model())
    with pytest.raises(qrt.FormatError, match="truncated"):
        _core.read_model(data[:200])
    with pytest.raises(ValueError, match="not a .qmodel file"):
        _core.read_model(b"hello world, not a model")
    with pytest.raises(qrt.FormatError, match="empty"):
        _core.read_model(b"")
    with pytest.raises(FileNotFoundError):
        _core.read_model(str(tmp_path / "missing.qmodel"))
    with pytest.raises(qrt.QrtError, match="directory"):
        _core.read_model(str(tmp_path))
    newer = bytearray(data)
    newer[8] = 2
    with pytest.raises(qrt.FormatError, match=r"format version 2.0 is newer than this runtime"):
        _core.read_header(bytes(newer))
    # A flipped weight byte is only caught when asked for.
    w = _core.read_header(data)["sections"][-1]
    bad = bytearray(data)
    bad[w["offset"]] ^= 1
    _core.read_model(bytes(bad))
    with pytest.raises(qrt.FormatError, match="weights section checksum mismatch"):
        _core.read_model(bytes(bad), verify_weights=True)


@pytest.mark.parametrize("edit, match", [
    (lambda m: m["tensors"][1].update(name="x"), "duplicate name 'x'"),
    (lambda m: m["nodes"].reverse(), "topological order"),
    (lambda m: m["tensors"][1].update(dtype="int8"), "unknown dtype 'int8'"),
    (lambda m: m["tensors"][1].update(data=np.zeros((3, 4), np.float32)), "needs 1"),
    (lambda m: m["tensors"][1].update(shape=[4, 4]), "expected 16"),
    (lambda m: m["tensors"][1]["quant"].update(scales=[0.5, 0.0, 1.0]), "finite and > 0"),
    (lambda m: m["tensors"][3]["quant"].update(zero_points=[300]), "outside the u8 range"),
    (lambda m: m["nodes"][1]["attrs"].update(bad={"a": 1}), "unsupported value type dict"),
    (lambda m: m["nodes"][1]["attrs"].update(bad=[1, "x"]), "ints or floats"),
    (lambda m: m["nodes"][1].update(inputs=[3, 99]), "out of range"),
    (lambda m: m["tensors"][0].pop("dtype"), "missing key 'dtype'"),
    (lambda m: m["nodes"][1]["attrs"].update(huge=1 << 70), "int64 range"),
    (lambda m: m.update(outputs=[0]), "not produced by any node"),
])
def test_writer_rejects_invalid_models(edit, match):
    m = sample_model()
    edit(m)
    with pytest.raises(qrt.InvalidArgumentError, match=match):
        _core.write_model(m)


def test_optional_fields_default():
    m = sample_model()
    del m["metadata"]
    for t in m["tensors"]:
        t.pop("quant", None)
        t.pop("dim_names", None)
    for n in m["nodes"]:
        del n["attrs"], n["version"]
    m["tensors"][3]["quant"] = {"scales": [0.1]}  # axis -1, zero point 0 by default
    d = _core.read_model(_core.write_model(m))
    assert d["tensors"][3]["quant"] == {"axis": -1, "scales": [pytest.approx(0.1)], "zero_points": [0]}
    assert d["nodes"][0]["version"] == 1 and d["metadata"] == {}


def test_inspect_text_and_json(tmp_path):
    from qrt.inspect import inspect

    path = tmp_path / "m.qmodel"
    path.write_bytes(_core.write_model(sample_model()))
    text = inspect(str(path))
    assert ".qmodel format 1.0" in text and "Dense" in text and "per-axis(0) x3" in text
    assert "x: f32 [batch, 4]" in text
    d = json.loads(inspect(path, as_json=True, verify_weights=True))
    assert d["ops"] == {"Dense": 1, "QuantizeLinear": 1}
    assert d["totals"]["constants"] == 8
    assert d["totals"]["constant_bytes"] == 12 + 12 + 8 + 4 + 24 + 16 + 3 + 5
    assert [s["kind"] for s in d["sections"]][-1] == "weights"
    w = next(t for t in d["tensors"] if t["name"] == "w")
    assert w["quant"]["count"] == 3 and w["quant"]["zero_points"] == "all 0" and w["bytes"] == 12
    with pytest.raises(qrt.FormatError):
        inspect(path.read_bytes()[:-1])


def test_inspect_reports_memory_plan_and_kernels(tmp_path):
    """`qrt inspect` opens the model in the runtime and shows the arena beside the naive sum
    and the lower bound, and the kernel of every node; a model the runtime refuses still gets
    the file description, with the reason instead of the plan."""
    import subprocess
    import sys

    from qrt import demo
    from qrt.inspect import describe

    out = tmp_path / "digits.qmodel"
    qrt.convert(demo.MODEL, str(out), mode="fp32", progress=False)
    d = describe(str(out), plan=True, dynamic_dim=3)
    p = d["plan"]
    assert p["input_shapes"]["input"][0] == 3
    assert 0 < p["lower_bound_bytes"] <= p["arena_bytes"] <= p["naive_bytes"]
    assert sum(p["kernels"].values()) == d["totals"]["nodes"]
    # from tmp_path: in the source tree `python -m qrt` would import the uncompiled qrt/ there
    text = subprocess.run([sys.executable, "-m", "qrt", "inspect", str(out)], capture_output=True,
                          text=True, check=True, cwd=tmp_path).stdout
    assert "memory plan (inputs input=1x" in text and "arena / lower bound" in text
    assert "Conv2d: " in text
    # piped into a reader that exits without reading: exit 0, no traceback
    cp = subprocess.run(["bash", "-o", "pipefail", "-c", f"'{sys.executable}' -m qrt inspect '{out}' | true"],
                        capture_output=True, text=True, cwd=tmp_path)  # pipefail: python's exit status
    assert cp.returncode == 0 and "Traceback" not in cp.stderr, cp.stderr
    m = sample_model()
    m["nodes"][0]["op"] = "NoSuchOp"
    bad = tmp_path / "bad.qmodel"
    bad.write_bytes(_core.write_model(m))
    p = describe(str(bad), plan=True)["plan"]
    assert "NoSuchOp" in p["error"]
