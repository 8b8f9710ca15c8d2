"""Einsum, rewritten by the converter into Transpose / Reshape / ReduceSum / MatMul
(qrt/passes/einsum.py), against numpy's einsum on the runtime."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

qrt = pytest.importorskip("qrt")

RNG = np.random.default_rng(11)

# (equation, operand shapes, which operands are constants, dynamic dims per operand)
CASES = [
    ("bti,io->bto", [(2, 5, 16), (16, 8)], [False, True], [(0, 1), ()]),
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 6)], [False, False], [(0,), (0,)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 8), (2, 3, 6, 8)], [False, False], [(0, 2), (0, 2)]),
    ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 8)], [False, False], [(), ()]),
    ("ij->ji", [(3, 4)], [False], [()]),
    ("ij->", [(3, 4)], [False], [()]),
    ("ij->i", [(3, 4)], [False], [(0,)]),
    ("i,i->", [(5,), (5,)], [False, False], [(), ()]),
    ("i,j->ij", [(5,), (3,)], [False, False], [(), ()]),
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (2, 3, 5, 6)], [False, False], [(), ()]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)], [False, True, False], [(), (), ()]),
    ("bcij,bcjk", [(2, 2, 3, 4), (2, 2, 4, 5)], [False, False], [(), ()]),
    ("abcd,cdef->abef", [(2, 3, 4, 5), (4, 5, 6, 7)], [False, True], [(0,), ()]),
    ("abc,bd->adc", [(2, 3, 4), (3, 5)], [False, True], [(), ()]),
    ("bij,jk->bik", [(2, 3, 4), (4, 5)], [False, False], [(), ()]),
    ("ab,cb->ac", [(1, 7), (9, 7)], [False, True], [(0,), ()]),
]


def _model(eq, arrays, const, dynamic):
    inits, ins, names = [], [], []
    for k, (a, c, dyn) in enumerate(zip(arrays, const, dynamic)):
        n = f"x{k}"
        names.append(n)
        if c:
            inits.append(onnx.numpy_helper.from_array(a, n))
        else:
            shape = [f"d{k}_{i}" if i in dyn else s for i, s in enumerate(a.shape)]
            ins.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, shape))
    g = helper.make_graph([helper.make_node("Einsum", names, ["y"], equation=eq, name="e")], "e", ins,
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


@pytest.mark.parametrize("eq,shapes,const,dynamic", CASES, ids=[c[0] for c in CASES])
def test_einsum_matches_numpy(tmp_path, eq, shapes, const, dynamic):
    arrays = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    out = tmp_path / "e.qmodel"
    qrt.convert(_model(eq, arrays, const, dynamic), str(out), mode="fp32", progress=False)
    s = qrt.InferenceSession(str(out))
    ops = [r["op"] for r in s.kernel_report()]
    assert "Einsum" not in ops
    feeds = {f"x{k}": a for k, (a, c) in enumerate(zip(arrays, const)) if not c}
    y = s.run(None, feeds)[0]
    ref = np.einsum(eq, *arrays)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)
    if any(dynamic):  # a different size along the dynamic dimensions
        grown = [np.concatenate([a, a], axis=dyn[0]) if dyn and not c else a
                 for a, c, dyn in zip(arrays, const, dynamic)]
        try:
            ref2 = np.einsum(eq, *grown)
        except ValueError:
            return  # both operands share the dimension and only one grew
        y2 = s.run(None, {f"x{k}": a for k, (a, c) in enumerate(zip(grown, const)) if not c})[0]
        np.testing.assert_allclose(y2, ref2, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["int8-dynamic", "int8"])
def test_linear_einsum_becomes_a_quantized_dense(tmp_path, mode):
    """``torch.einsum('bti,io->bto', x, W)`` with a constant W is a Dense, quantized like one."""

    w = (RNG.standard_normal((32, 16)) * 0.2).astype(np.float32)
    x = RNG.standard_normal((2, 7, 32)).astype(np.float32)
    m = _model("bti,io->bto", [x, w], [False, True], [(0, 1), ()])
    out = tmp_path / "e.qmodel"
    cal = [{"x0": RNG.standard_normal((2, 7, 32)).astype(np.float32)} for _ in range(4)]
    rep = qrt.convert(m, str(out), mode=mode, calibration=cal if mode == "int8" else None, progress=False)
    s = qrt.InferenceSession(str(out))
    dense = [r for r in s.kernel_report() if r["op"] == "Dense"]
    assert len(dense) == 1 and "u8s8" in dense[0]["kernel"], s.kernel_report()
    assert any(n.mode != "f32" for n in rep.nodes), rep
    y = s.run(None, {"x0": x})[0]
    ref = np.einsum("bti,io->bto", x, w)
    assert np.abs(y - ref).max() < 0.03 * np.abs(ref).max()


def test_einsum_left_alone_says_why():
    from qrt.convert import build

    m = _model("ii->i", [np.eye(3, dtype=np.float32)], [False], [()])
    with pytest.raises(NotImplementedError, match=r"Einsum: 'e' \(equation 'ii->i' repeats a letter"):
        build(m, mode="fp32", progress=False)
