"""The Python runtime API: ORT-like session, errors, threads, plans, memory."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

import qrt
from qrt_testutil import Builder, mlp_model, mlp_reference, per_tensor


@pytest.fixture(scope="module")
def mlp():
    return mlp_model()


def test_run_matches_numpy_and_ort_like_surface(mlp):
    data, w = mlp
    sess = qrt.InferenceSession(data, threads=2)
    (inp,) = sess.get_inputs()
    assert inp.name == "x" and inp.shape == ["batch", 64] and inp.type == "f32"
    assert [o.name for o in sess.get_outputs()] == ["y"]
    x = np.random.default_rng(1).standard_normal((5, 64)).astype(np.float32)
    (y,) = sess.run(None, {"x": x})
    np.testing.assert_allclose(y, mlp_reference(x, w), rtol=1e-4, atol=1e-5)
    (y2,) = sess.run(["y"], {"x": x})
    np.testing.assert_array_equal(y, y2)


def test_outputs_own_their_memory(mlp):
    sess = qrt.InferenceSession(mlp[0])
    x = np.ones((2, 64), np.float32)
    (a,) = sess.run(None, {"x": x})
    keep = a.copy()
    sess.run(None, {"x": -x})
    np.testing.assert_array_equal(a, keep)
    assert a.flags.owndata or a.base is not None and a.flags.writeable


def test_input_errors_are_clear(mlp):
    sess = qrt.InferenceSession(mlp[0])
    with pytest.raises(qrt.InvalidArgumentError, match="unknown input 'nope'"):
        sess.run(None, {"nope": np.zeros((1, 64), np.float32)})
    with pytest.raises(qrt.InvalidArgumentError, match="missing inputs"):
        sess.run(None, {})
    with pytest.raises(ValueError, match="expected dtype f32.*float64"):
        sess.run(None, {"x": np.zeros((1, 64))})
    with pytest.raises(qrt.InvalidArgumentError, match="dimension 1 must be 64"):
        sess.run(None, {"x": np.zeros((1, 65), np.float32)})
    with pytest.raises(qrt.InvalidArgumentError, match="rank"):
        sess.run(None, {"x": np.zeros((64,), np.float32)})
    with pytest.raises(qrt.InvalidArgumentError, match="unknown output"):
        sess.run(["zz"], {"x": np.zeros((1, 64), np.float32)})
    with pytest.raises(qrt.InvalidArgumentError, match="threads"):
        qrt.InferenceSession(mlp[0], threads=0)


def test_zero_size_batch_gives_an_empty_result(mlp):
    sess = qrt.InferenceSession(mlp[0])
    (y,) = sess.run(None, {"x": np.zeros((0, 64), np.float32)})
    assert y.shape == (0, 10) and y.dtype == np.float32


def test_non_contiguous_and_readonly_inputs_give_correct_results(mlp):
    data, w = mlp
    sess = qrt.InferenceSession(data)
    big = np.random.default_rng(2).standard_normal((6, 128)).astype(np.float32)
    x = big[::2, ::2]  # strided view
    assert not x.flags.c_contiguous
    (y,) = sess.run(None, {"x": x})
    np.testing.assert_allclose(y, mlp_reference(np.ascontiguousarray(x), w), rtol=1e-4, atol=1e-5)
    ro = np.ascontiguousarray(x)
    ro.setflags(write=False)
    (y2,) = sess.run(None, {"x": ro})
    np.testing.assert_array_equal(y, y2)


def test_fortran_big_endian_and_misaligned_inputs_are_read_as_their_values(mlp):
    """Inputs cross into C++ as buffers: whatever their memory order, byte order or alignment,
    the runtime must see the values numpy shows (a copy where needed, never a reinterpretation)."""
    data, w = mlp
    sess = qrt.InferenceSession(data)
    x = np.random.default_rng(3).standard_normal((3, 64)).astype(np.float32)
    (want,) = sess.run(None, {"x": x})
    raw = np.zeros(x.nbytes + 1, np.uint8)
    mis = np.frombuffer(raw.data, np.float32, count=x.size, offset=1).reshape(x.shape)
    assert mis.ctypes.data % 4 != 0
    raw[1:] = x.view(np.uint8).ravel()
    for variant in (np.asfortranarray(x), x.astype(">f4"), mis, x.tolist()):
        (got,) = sess.run(None, {"x": variant})
        np.testing.assert_array_equal(got, want)
    with pytest.raises(qrt.InvalidArgumentError, match="expected dtype f32 .* got numpy float64"):
        sess.run(None, {"x": x.astype(np.float64)})
    with pytest.raises(qrt.InvalidArgumentError, match="got numpy >f8"):
        sess.run(None, {"x": x.astype(">f8")})


def test_missing_file_and_garbage_bytes():
    with pytest.raises(FileNotFoundError):
        qrt.InferenceSession("/nonexistent/model.qmodel")
    with pytest.raises(qrt.FormatError):
        qrt.InferenceSession(b"this is not a qmodel file at all, not even close......")
    with pytest.raises(ValueError):
        qrt.InferenceSession(b"")


def test_unsupported_ops_listed_with_nodes():
    b = Builder()
    x = b.input("x", "f32", [2])
    a = b.value("a", "f32")
    c = b.value("c", "f32")
    b.node("NoSuchOp", [x], [a], name="n1")
    b.node("AlsoMissing", [a], [c], name="n2")
    b.output(c)
    with pytest.raises(qrt.UnsupportedError, match=r"(?s)NoSuchOp.*n1.*AlsoMissing.*n2"):
        qrt.InferenceSession(b.bytes())


def test_static_int8_dense_bit_exact_across_isas_and_threads():
    rng = np.random.default_rng(3)
    K, N = 77, 45
    w = rng.integers(-127, 128, size=(N, K), dtype=np.int8)
    bias = rng.integers(-5000, 5000, size=N).astype(np.int32)
    b = Builder()
    x = b.input("x", "u8", [-1, K], quant=per_tensor(0.05, 117))
    wq = {"axis": 0, "scales": list(rng.uniform(0.001, 0.01, N)), "zero_points": [0] * N}
    y = b.value("y", "u8", quant=per_tensor(0.2, 9))
    b.node("Dense", [x, b.const("w", w, quant=wq), b.const("b", bias)], [y], activation="relu")
    b.output(y)
    data = b.bytes()
    xs = rng.integers(0, 256, size=(19, K), dtype=np.uint8)
    info = qrt.cpu_info()
    results = {}
    try:
        for isa in info["isa_available"]:
            qrt._core.set_isa_cap(isa)
            for threads in (1, 2):
                sess = qrt.InferenceSession(data, threads=threads)
                results[(isa, threads)] = sess.run(None, {"x": xs})[0]
    finally:
        qrt._core.set_isa_cap(info["isa_available"][-1])
    ref = results[("ref", 1)]
    # Spec: q = 9 + nearbyint(clamp(acc * (0.05*ws/0.2), 0-9, 255-9)), ReLU => qmin = 9.
    acc = (xs.astype(np.int64) - 117) @ w.T.astype(np.int64) + bias
    mult = (0.05 * np.array(wq["scales"], np.float64) / 0.2).astype(np.float32)
    r = np.clip(acc.astype(np.float32) * mult, np.float32(0), np.float32(246))
    np.testing.assert_array_equal(ref, (9 + np.rint(r)).astype(np.uint8))
    for key, out in results.items():
        np.testing.assert_array_equal(out, ref, err_msg=str(key))


def test_concurrent_sessions_bit_identical(mlp):
    data, _ = mlp
    x = np.random.default_rng(4).standard_normal((3, 64)).astype(np.float32)
    expected = qrt.InferenceSession(data).run(None, {"x": x})[0]
    errors = []

    def worker():
        s = qrt.InferenceSession(data, threads=1)
        for _ in range(300):
            out = s.run(None, {"x": x})[0]
            if not np.array_equal(out, expected):
                errors.append("mismatch")
                return

    ts = [threading.Thread(target=worker) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_memory_flat_over_many_shapes(mlp):
    sess = qrt.InferenceSession(mlp[0], plan_cache_size=4)
    rng = np.random.default_rng(5)
    for batch in range(1, 60):  # warm up allocator pools
        sess.run(None, {"x": np.ones((batch, 64), np.float32)})
    gc.collect()
    before = _rss_kib()
    for _ in range(3):
        for batch in rng.permutation(np.arange(1, 200)):
            sess.run(None, {"x": np.ones((int(batch), 64), np.float32)})
    gc.collect()
    grown = _rss_kib() - before
    assert grown < 8 * 1024, f"resident memory grew by {grown} KiB over 600 runs with varying shapes"


def test_memory_plan_report(mlp):
    sess = qrt.InferenceSession(mlp[0])
    sess.run(None, {"x": np.ones((8, 64), np.float32)})
    plan = sess.memory_plan()
    assert plan["lower_bound_bytes"] <= plan["arena_bytes"] <= plan["naive_bytes"]
    assert any(e["tensor"] == "h" for e in plan["entries"])
    kr = sess.kernel_report()
    assert [k["node"] for k in kr] == ["fc1", "fc2"] and all(k["kernel"] for k in kr)


def test_cpu_info_names_kernels():
    info = qrt.cpu_info()
    assert "ref" in info["isa_available"]
    assert info["kernels"]["gemm_u8s8"]
    # per-core L2 as detected: 0 (unknown) or a plausible size in whole KiB
    l2 = info["l2_cache_bytes"]
    assert l2 == 0 or (128 << 10 <= l2 <= 64 << 20 and l2 % 1024 == 0), l2
    assert 8 << 10 <= info["l1d_cache_bytes"] <= 1 << 20 and info["l1d_cache_bytes"] % 1024 == 0
    with pytest.raises(qrt.InvalidArgumentError, match="valid: ref"):
        qrt._core.set_isa_cap("sse9000")


def test_profile_counts_every_node(mlp):
    sess = qrt.InferenceSession(mlp[0], profile=True)
    for _ in range(3):
        sess.run(None, {"x": np.ones((2, 64), np.float32)})
    prof = sess.profile()
    assert [p["node"] for p in prof] == ["fc1", "fc2"]
    assert all(p["calls"] == 3 and p["total_ms"] > 0 for p in prof)
    assert qrt.InferenceSession(mlp[0]).profile() == []


@pytest.mark.parametrize("bias_dtype", ["s32", "f32"])
def test_static_int8_dense_with_f32_output(bias_dtype):
    rng = np.random.default_rng(7)
    K, N = 40, 12
    w = rng.integers(-127, 128, size=(N, K), dtype=np.int8)
    ws = rng.uniform(0.001, 0.01, N).astype(np.float32)
    xs, xz = 0.05, 100
    b = Builder()
    x = b.input("x", "u8", [3, K], quant=per_tensor(xs, xz))
    y = b.value("y", "f32")
    bias = rng.integers(-3000, 3000, size=N).astype(np.int32)
    bias_t = bias if bias_dtype == "s32" else (bias * (xs * ws)).astype(np.float32)
    b.node("Dense", [x, b.const("w", w, quant={"axis": 0, "scales": list(map(float, ws)), "zero_points": [0] * N}),
                     b.const("b", bias_t)], [y])
    b.output(y)
    xq = rng.integers(0, 256, size=(3, K), dtype=np.uint8)
    (out,) = qrt.InferenceSession(b.bytes()).run(None, {"x": xq})
    acc = (xq.astype(np.int64) - xz) @ w.T.astype(np.int64) + bias
    expect = acc * (np.float64(xs) * ws)
    np.testing.assert_allclose(out, expect, rtol=1e-5, atol=1e-4)


def test_mapped_file_and_buffer_agree_after_weight_pages_are_dropped(tmp_path):
    # Big enough weights (several pages) that loading from a path drops their mapped pages after
    # packing; a second consumer of the same constant (Add) must still read the right bytes.
    rng = np.random.default_rng(8)
    K = N = 256
    w = rng.standard_normal((N, K)).astype(np.float32)
    b = Builder()
    x = b.input("x", "f32", [2, K])
    wi = b.const("w", w)
    h = b.value("h", "f32")
    y = b.value("y", "f32")
    w2 = b.const("w2", rng.standard_normal((N, K)).astype(np.float32))
    z = b.value("z", "f32")
    b.node("Dense", [x, wi], [h])
    b.node("Dense", [h, w2], [y])
    b.node("Add", [wi, wi], [z])  # shares 'w' with the first Dense
    b.output(y)
    b.output(z)
    data = b.bytes()
    path = tmp_path / "m.qmodel"
    path.write_bytes(data)
    xv = rng.standard_normal((2, K)).astype(np.float32)
    from_file = qrt.InferenceSession(str(path)).run(None, {"x": xv})
    from_bytes = qrt.InferenceSession(data).run(None, {"x": xv})
    for a, c in zip(from_file, from_bytes):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(from_file[1], w + w)


def test_shape_ops_on_zero_size_tensors(tmp_path):
    """Every op gets empty tensors right (the fuzzer found memcpy with a null pointer and a
    division by zero in Reshape/Concat/Gather on empty values): results match onnxruntime."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    table = np.arange(20, dtype=np.float32).reshape(5, 4)
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("Concat", ["r", "r"], ["c"], axis=0),
        helper.make_node("Flatten", ["c"], ["f"], axis=1),
        helper.make_node("Gather", ["table", "ids"], ["g"], axis=0),
        helper.make_node("Cast", ["g"], ["gc"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["gc"], ["t"], perm=[1, 0]),
        helper.make_node("Relu", ["f"], ["y1"]),
        helper.make_node("Identity", ["t"], ["y2"]),
        helper.make_node("ReduceSum", ["x", "axes"], ["y3"], keepdims=1),
    ]
    g = helper.make_graph(
        nodes, "empty",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 4]),
         helper.make_tensor_value_info("ids", TensorProto.INT64, ["n"])],
        [helper.make_tensor_value_info("y1", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("y2", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("y3", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array([-1, 2, 2], np.int64), "shape"),
         numpy_helper.from_array(table, "table"),
         numpy_helper.from_array(np.array([0], np.int64), "axes")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "empty.qmodel"
    qrt.convert(m, str(path), mode="fp32", progress=False)
    sess = qrt.InferenceSession(str(path))
    ref = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    for b, n in [(0, 0), (0, 3), (3, 0), (2, 2)]:
        feeds = {"x": np.ones((b, 4), np.float32), "ids": np.arange(n, dtype=np.int64)}
        got = sess.run(None, feeds)
        want = ref.run(None, feeds)
        for gv, wv in zip(got, want):
            assert gv.shape == wv.shape, (b, n)
            np.testing.assert_array_equal(gv, wv)


def test_max_arena_bytes_refuses_plans_that_need_more(mlp):
    # The MLP's hidden activation is [batch, 96] f32 (the arena's only buffer): 384 bytes a row.
    sess = qrt.InferenceSession(mlp[0], max_arena_bytes=64 << 10)
    sess.run(None, {"x": np.ones((8, 64), np.float32)})
    assert sess.memory_plan()["arena_bytes"] <= 64 << 10
    with pytest.raises(qrt.QrtMemoryError, match=r"\[4096, 64\] need an activation arena of \d+ bytes, more than .*max_arena_bytes \(65536\)"):
        sess.run(None, {"x": np.ones((4096, 64), np.float32)})
    # The refused shape left the session usable, and no limit plans it.
    sess.run(None, {"x": np.ones((8, 64), np.float32)})
    qrt.InferenceSession(mlp[0]).run(None, {"x": np.ones((4096, 64), np.float32)})
    for bad in (-1, 1.5, True):
        with pytest.raises(qrt.InvalidArgumentError, match="max_arena_bytes"):
            qrt.InferenceSession(mlp[0], max_arena_bytes=bad)
