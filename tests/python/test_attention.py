"""The attention pass (qrt/passes/attention.py) and the fused Attention op: the pass fires on the
tiny exported BERT of benchmarks/models.py (and on the Hugging Face-style variant: key transposed
after the head split, Mul by the scale), refuses chains whose intermediates are read elsewhere,
and converted models match onnxruntime."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import qrt  # noqa: E402
from qrt.convert import build  # noqa: E402
from qrt.ir.evaluate import Evaluator  # noqa: E402

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def M():
    spec = importlib.util.spec_from_file_location("models", BENCH / "models.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["models"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tiny_bert(M, tmp_path_factory):
    path = tmp_path_factory.mktemp("attn") / "minilm_tiny.onnx"
    M.export_onnx("minilm", path, tiny=True)
    return path


def _feeds(batch: int, seq: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 100, size=(batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), np.int64)
    for b in range(batch):
        mask[b, seq - 1 - 3 * b:] = 0 if b else 1  # different padding per sequence
    ids[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _ort(path, feeds):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


def _ops(graph):
    return [n.op for n in graph.nodes]


def test_pass_fires_on_tiny_bert(tiny_bert):
    res = build(str(tiny_bert), mode="fp32", progress=False)
    ops = _ops(res.graph)
    assert ops.count("Attention") == 2  # one per layer
    for gone in ("Softmax", "MatMul", "Transpose"):
        assert gone not in ops, ops
    att = next(n for n in res.graph.nodes if n.op == "Attention")
    assert att.attrs["num_heads"] == 4
    assert att.attrs["scale"] == pytest.approx(1 / math.sqrt(8))
    assert len(att.inputs) == 4  # the extended attention mask
    producers = res.graph.producers()
    assert all(producers[i].op == "Dense" for i in att.inputs[:3])


def test_int8_dynamic_keeps_qkv_int8(tiny_bert):
    res = build(str(tiny_bert), mode="int8-dynamic", calibration=[_feeds(1, 16)], progress=False)
    g = res.graph
    producers = g.producers()
    atts = [n for n in g.nodes if n.op == "Attention"]
    assert len(atts) == 2
    for a in atts:
        for x in a.inputs[:3]:
            d = producers[x]
            assert d.op == "Dense" and g.tensor(d.inputs[1]).dtype == "s8"


@pytest.mark.parametrize("batch,seq", [(1, 16), (2, 16), (3, 9)])
@pytest.mark.parametrize("threads", [1, 2])
def test_fp32_matches_onnxruntime(tiny_bert, tmp_path, batch, seq, threads):
    out = tmp_path / "m.qmodel"
    qrt.convert(str(tiny_bert), str(out), mode="fp32", progress=False)
    feeds = _feeds(batch, seq)
    (want,) = _ort(tiny_bert, feeds)
    (got,) = qrt.InferenceSession(str(out), threads=threads).run(None, feeds)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


def test_evaluator_matches_onnxruntime(tiny_bert):
    res = build(str(tiny_bert), mode="fp32", progress=False)
    feeds = _feeds(2, 16, seed=3)
    (want,) = _ort(tiny_bert, feeds)
    got = Evaluator(res.graph).run(feeds)[res.graph.outputs[0]]
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_int8_dynamic_close_to_float(tiny_bert, tmp_path):
    out = tmp_path / "q.qmodel"
    qrt.convert(str(tiny_bert), str(out), mode="int8-dynamic", calibration=[_feeds(1, 16)],
                progress=False)
    feeds = _feeds(1, 16, seed=7)
    (want,) = _ort(tiny_bert, feeds)
    (got,) = qrt.InferenceSession(str(out)).run(None, feeds)
    cos = float(np.sum(got * want) / (np.linalg.norm(got) * np.linalg.norm(want)))
    assert cos > 0.99


def test_precision_bf16_in_int8_modes_unless_excluded(tiny_bert):
    feeds = [_feeds(1, 16)]
    for mode, want in (("int8-dynamic", "bf16"), ("int8", "bf16"), ("fp32", None), ("fp16", None)):
        res = build(str(tiny_bert), mode=mode, calibration=feeds, progress=False)
        atts = [n for n in res.graph.nodes if n.op == "Attention"]
        assert len(atts) == 2
        assert all(n.attrs.get("precision") == want for n in atts), mode
        reports = [r for r in res.report.nodes if r.op == "Attention"]
        assert all(r.mode == (want or "f32") for r in reports), (mode, reports)
        assert any("precision bf16" in note for note in res.report.notes) == (want is not None)
    first = atts[0].name
    for exclude, kept in ((["Attention"], 2), ([first], 1)):
        res = build(str(tiny_bert), mode="int8-dynamic", calibration=feeds, exclude=exclude,
                    progress=False)
        atts = [n for n in res.graph.nodes if n.op == "Attention"]
        assert sum("precision" not in n.attrs for n in atts) == kept, exclude


def test_bf16_reference_rounds_operands_and_weights():
    from qrt.passes.attention import _round_bf16, attention_reference

    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal((2, 24, 16)).astype(np.float32) for _ in range(3))
    mask = np.where(rng.random((2, 1, 1, 24)) < 0.2, -10000.0, 0.0).astype(np.float32)
    f32 = attention_reference(q, k, v, mask, 2, 0.35)
    bf = attention_reference(q, k, v, mask, 2, 0.35, "bf16")
    assert np.array_equal(_round_bf16(np.float32(1.00390625)), np.float32(1.0))  # tie to even
    # Rounding Q, K, V first accounts for most of the difference; the weights' rounding adds at
    # most 2^-8 of sum p|v| (the bound the C++ kernel is tested at).
    pre = attention_reference(_round_bf16(q), _round_bf16(k), _round_bf16(v), mask, 2, 0.35)
    assert 0 < np.abs(bf - f32).max() < 0.05
    assert np.abs(bf - pre).max() <= 2.0 ** -8 * np.abs(v).max()
    assert not np.array_equal(bf, pre)


@pytest.mark.parametrize("threads", [1, 2])
def test_int8_bf16_attention_close_to_float(tiny_bert, tmp_path, threads):
    out = tmp_path / "q.qmodel"
    r = qrt.convert(str(tiny_bert), str(out), mode="int8", calibration=[_feeds(1, 16, seed=s)
                                                                            for s in range(4)],
                    progress=False)
    assert any("precision bf16" in note for note in r.notes)
    feeds = _feeds(2, 16, seed=9)
    (want,) = _ort(tiny_bert, feeds)
    (got,) = qrt.InferenceSession(str(out), threads=threads).run(None, feeds)
    cos = float(np.sum(got * want) / (np.linalg.norm(got) * np.linalg.norm(want)))
    assert cos > 0.99


class _HFAttention(torch.nn.Module):
    """Hugging Face's older BERT form: key transposed after the head split, Mul by the scale,
    mask added first; optionally returns the probabilities too (then nothing may be fused)."""

    def __init__(self, hidden=32, heads=4, return_probs=False):
        super().__init__()
        self.h, self.d = heads, hidden // heads
        self.q = torch.nn.Linear(hidden, hidden)
        self.k = torch.nn.Linear(hidden, hidden)
        self.v = torch.nn.Linear(hidden, hidden)
        self.return_probs = return_probs

    def _split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.h, self.d).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.d))
        probs = torch.softmax(mask + scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        y = ctx.view(ctx.shape[0], ctx.shape[1], self.h * self.d)
        return (y, probs) if self.return_probs else y


def _export(module, path):
    torch.manual_seed(0)
    x = torch.randn(2, 10, 32)
    mask = torch.zeros(2, 1, 10, 10)
    mask[1, :, :, 7:] = -10000.0
    names = ["y", "p"] if module.return_probs else ["y"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (x, mask), str(path), input_names=["x", "mask"],
                          output_names=names, opset_version=17, dynamo=False,
                          dynamic_axes={"x": {0: "b", 1: "s"}, "mask": {0: "b", 2: "s", 3: "s"}})
    return {"x": x.numpy(), "mask": mask.numpy()}


@pytest.mark.parametrize("return_probs", [False, True])
def test_hf_variant_and_refusal(tmp_path, return_probs):
    torch.manual_seed(1)
    m = _HFAttention(return_probs=return_probs)
    path = tmp_path / "hf.onnx"
    feeds = _export(m, path)
    res = build(str(path), mode="fp32", progress=False)
    assert _ops(res.graph).count("Attention") == (0 if return_probs else 1)
    out = tmp_path / "hf.qmodel"
    qrt.convert(str(path), str(out), mode="fp32", progress=False)
    want = _ort(path, feeds)
    got = qrt.InferenceSession(str(out)).run(None, feeds)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5, rtol=0)


class _SDPAttention(torch.nn.Module):
    """Causal self-attention written three ways: scaled_dot_product_attention (its export scales
    Q and K^T by sqrt(scale) each and adds a constant causal mask), masked_fill with -inf on the
    scores (exported as Where), and masked_fill with the float minimum."""

    def __init__(self, form, hidden=32, heads=4):
        super().__init__()
        self.form, self.h, self.d = form, heads, hidden // heads
        self.qkv, self.o = torch.nn.Linear(hidden, 3 * hidden), torch.nn.Linear(hidden, hidden)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=-1)
        q, k, v = (z.view(b, t, self.h, self.d).transpose(1, 2) for z in (q, k, v))
        if self.form == "sdpa":
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-1, -2)) / math.sqrt(self.d)
            causal = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
            fill = float("-inf") if self.form == "fill_inf" else torch.finfo(torch.float32).min
            y = s.masked_fill(causal, fill).softmax(-1) @ v
        return self.o(y.transpose(1, 2).reshape(b, t, c))


@pytest.mark.parametrize("form", ["sdpa", "fill_inf", "fill_min"])
def test_causal_attention_exports_fuse(tmp_path, form):
    torch.manual_seed(2)
    m = _SDPAttention(form).eval()
    x = torch.randn(2, 12, 32)
    path = tmp_path / "a.onnx"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (x,), str(path), input_names=["x"], opset_version=17, dynamo=False)
    res = build(str(path), mode="fp32", progress=False)
    ops = _ops(res.graph)
    assert ops.count("Attention") == 1 and "Softmax" not in ops and "Where" not in ops, ops
    att = next(n for n in res.graph.nodes if n.op == "Attention")
    assert att.attrs["scale"] == pytest.approx(1 / math.sqrt(8), rel=1e-6)
    out = tmp_path / "a.qmodel"
    qrt.convert(str(path), str(out), mode="fp32", progress=False)
    with torch.no_grad():
        want = m(x).numpy()
    got = qrt.InferenceSession(str(out)).run(None, {"x": x.numpy()})[0]
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=0)


# nn.MultiheadAttention (inside nn.TransformerEncoderLayer) as both exporters write it: the `mha`
# rewrite turns each layer into the head-split form above, so every layer fuses.
def _mha_encoder(batch_first: bool, layers: int = 2, d: int = 32, heads: int = 4):
    nn = torch.nn
    torch.manual_seed(3)
    layer = nn.TransformerEncoderLayer(d, heads, 2 * d, batch_first=batch_first, dropout=0.0)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False).eval()


def _mha_export(m, x, path, exporter, dynamic, causal=False):
    import warnings

    class Wrap(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = m

        def forward(self, x):
            if not causal:
                return self.m(x)
            n = x.shape[1] if self.m.layers[0].self_attn.batch_first else x.shape[0]
            return self.m(x, mask=torch.nn.Transformer.generate_square_subsequent_mask(n), is_causal=True)

    w = Wrap().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            dims = {0: torch.export.Dim.AUTO, 1: torch.export.Dim.AUTO} if dynamic else None
            torch.onnx.export(w, (x,), str(path), dynamo=True, input_names=["x"], verbose=False,
                              dynamic_shapes=(dims,) if dims else None)
        else:
            torch.onnx.export(w, (x,), str(path), dynamo=False, opset_version=17, input_names=["x"])
    return w


def _mha_op_counts(path):
    from collections import Counter

    return Counter(r["op"] for r in qrt.InferenceSession(str(path)).kernel_report())


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("causal", [False, True])
def test_multihead_attention_fuses_and_matches_torch(tmp_path, batch_first, causal):
    m = _mha_encoder(batch_first)
    x = torch.randn(2, 9, 32) if batch_first else torch.randn(9, 2, 32)
    w = _mha_export(m, x, tmp_path / "enc.onnx", "torchscript", dynamic=False, causal=causal)
    out = tmp_path / "enc.qmodel"
    qrt.convert(str(tmp_path / "enc.onnx"), str(out), mode="fp32", progress=False)
    ops = _mha_op_counts(out)
    assert ops["Attention"] == 2, ops
    # Nothing of the packed projection's plumbing is left: per layer 2 + 2 Dense for the
    # projections (q, k, v, out), 2 for the FFN; no Gather / Squeeze / Unsqueeze.
    assert ops["Dense"] == 12 and not ops["Gather"] and not ops["Squeeze"] and not ops["Unsqueeze"], ops
    with torch.no_grad():
        want = w(x).numpy()
    got = qrt.InferenceSession(str(out)).run(None, {"x": x.numpy()})[0]
    assert np.abs(got - want).max() < 2e-5


def test_multihead_attention_int8_modes_close_to_float(tmp_path):
    m = _mha_encoder(True)
    x = torch.randn(1, 16, 32)
    w = _mha_export(m, x, tmp_path / "enc.onnx", "torchscript", dynamic=False)
    with torch.no_grad():
        want = w(x).numpy()
    calib = [{"x": torch.randn(1, 16, 32).numpy()} for _ in range(8)]
    for mode in ("int8", "int8-dynamic", "bf16"):
        out = tmp_path / f"enc.{mode}.qmodel"
        res = qrt.convert(str(tmp_path / "enc.onnx"), str(out), mode=mode, calibration=calib, progress=False)
        assert _mha_op_counts(out)["Attention"] == 2
        got = qrt.InferenceSession(str(out)).run(None, {"x": x.numpy()})[0]
        # LayerNorm outputs of unit scale: 8-bit activations leave a few 1e-2.
        assert np.abs(got - want).max() < 0.1, mode
        assert all(n.op != "Gather" for n in res.nodes)


def test_multihead_attention_dynamo_export_runs_at_other_shapes(tmp_path):
    pytest.importorskip("onnxscript")  # the torch.export-based exporter needs it
    m = _mha_encoder(False)
    w = _mha_export(m, torch.randn(8, 2, 32), tmp_path / "enc.onnx", "dynamo", dynamic=True)
    out = tmp_path / "enc.qmodel"
    qrt.convert(str(tmp_path / "enc.onnx"), str(out), mode="fp32", progress=False)
    assert _mha_op_counts(out)["Attention"] == 2
    sess = qrt.InferenceSession(str(out))
    for shape in ((8, 2, 32), (5, 3, 32), (17, 1, 32)):
        x = torch.randn(*shape)
        with torch.no_grad():
            want = w(x).numpy()
        assert np.abs(sess.run(None, {"x": x.numpy()})[0] - want).max() < 2e-5, shape


def test_cross_attention_is_left_unfused_and_correct(tmp_path):
    # Query and key/value from different tensors: the projections are not one packed Dense on
    # one input, so the rewrite does not apply; the model still converts and matches.
    nn = torch.nn

    class Cross(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.MultiheadAttention(32, 4, batch_first=True)

        def forward(self, x):
            return self.a(x, x[:, :5] * 2.0, x[:, :5] * 2.0, need_weights=False)[0]

    torch.manual_seed(4)
    m = Cross().eval()
    x = torch.randn(2, 9, 32)
    torch.onnx.export(m, (x,), str(tmp_path / "c.onnx"), dynamo=False, opset_version=17, input_names=["x"])
    qrt.convert(str(tmp_path / "c.onnx"), str(tmp_path / "c.qmodel"), mode="fp32", progress=False)
    with torch.no_grad():
        want = m(x).numpy()
    got = qrt.InferenceSession(str(tmp_path / "c.qmodel")).run(None, {"x": x.numpy()})[0]
    assert np.abs(got - want).max() < 2e-5


def test_causal_mask_sized_at_run_time_fuses(tmp_path):
    # torch.export writes is_causal with a run-time length as Trilu -> Equal -> Where -> Add on
    # the scores, the mask sized from Shape of the head-split query: the Where becomes the
    # additive mask input (computed at run time), the Shape reads the projection's shape.
    pytest.importorskip("onnxscript")
    m = _mha_encoder(True)
    w = _mha_export(m, torch.randn(2, 8, 32), tmp_path / "enc.onnx", "dynamo", dynamic=True, causal=True)
    ops = {}
    for mode in ("fp32", "int8-dynamic"):
        out = tmp_path / f"enc.{mode}.qmodel"
        qrt.convert(str(tmp_path / "enc.onnx"), str(out), mode=mode, progress=False)
        ops[mode] = _mha_op_counts(out)
        sess = qrt.InferenceSession(str(out))
        for shape in ((2, 8, 32), (1, 13, 32), (3, 5, 32)):
            x = torch.randn(*shape)
            with torch.no_grad():
                want = w(x).numpy()
            err = np.abs(sess.run(None, {"x": x.numpy()})[0] - want).max()
            assert err < (2e-5 if mode == "fp32" else 0.1), (mode, shape, err)
    assert ops["fp32"]["Attention"] == 2 and ops["fp32"]["Trilu"] == 2, ops
