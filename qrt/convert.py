"""``qrt.convert``: ONNX model (or torch module) -> .qmodel.

Pipeline: frontend (ONNX import, shape inference) -> passes (fold, fuse, NHWC) -> support check
-> quantizer (per mode; calibration for static int8) -> model dict -> ``qrt._core.write_model``.
``build()`` stops before writing and returns the model dict, so every stage can be tested
without the compiled module.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import numpy as np

from qrt import passes
from qrt.calibrate.observers import METHODS
from qrt.frontends.onnx.importer import ImportedModel, import_onnx
from qrt.frontends.torch import export_to_onnx, is_torch_module
from qrt.ir import Graph
from qrt.ir.errors import invalid_argument, unsupported
from qrt.ir.serialize import to_model_dict
from qrt.passes import attention
from qrt.passes.layout import UNCONVERTED_REASON
from qrt.quantize import quantizer as Q
from qrt.quantize import fuse, smooth
from qrt.quantize.report import ConversionReport
from qrt.quantize.scheme import MODES
from qrt.quantize.scheme import RUNTIME_OPS as _SCHEME_RUNTIME_OPS

# The runtime's op types: the scheme's list plus the fused qrt ops that passes run from here add.
RUNTIME_OPS = _SCHEME_RUNTIME_OPS | {"Attention", "AffineQuantize"}


# SmoothQuant on Dense inputs fed by float ops, when calibration data is given
# (qrt/quantize/smooth.py). A module switch rather than a convert() argument: the public
# signature stays that of the design notes.
SMOOTH = True


def qrt_version() -> str:
    try:
        from qrt import __version__  # type: ignore[attr-defined]

        return str(__version__)
    except ImportError:
        try:
            from importlib.metadata import version

            return version("qrt")
        except Exception:
            return "0.1.0"


def check_supported(g: Graph) -> None:
    """Raise UnsupportedError listing every op type the runtime cannot execute, with nodes."""
    reasons = getattr(g, UNCONVERTED_REASON, {})
    bad: dict[str, list[str]] = {}
    for n in g.nodes:
        if n.op not in RUNTIME_OPS:
            why = reasons.get(n.name)
            bad.setdefault(n.op, []).append(f"'{n.name}'" + (f" ({why})" if why else ""))
    dt = [f"'{t.name}' ({t.dtype[len('unsupported:'):]})" for t in g.tensors.values()
          if t.dtype.startswith("unsupported:")]
    if bad or dt:
        lines = [f"  {op}: {', '.join(names)}" for op, names in sorted(bad.items())]
        if dt:
            lines.append(f"  tensors of unsupported element types: {', '.join(dt)}")
        raise unsupported(f"the model uses {len(bad)} operator type(s) qrt cannot run:\n" +
                          "\n".join(lines))


@dataclass
class BuildResult:
    model_dict: dict
    report: ConversionReport
    graph: Graph
    imported: ImportedModel


def _load(model, example_inputs):
    if is_torch_module(model):
        proto, _ = export_to_onnx(model, example_inputs)
        return import_onnx(proto)
    return import_onnx(model)


def build(model, mode: str = "int8", calibration=None, method: str = "minmax",
          per_channel: bool = True, exclude=None, allow_float_fallback: bool = False,
          example_inputs=None, percentile: float = 99.99, progress: bool = True,
          weight_bits: int = 8) -> BuildResult:
    """Everything ``convert`` does except writing the file."""
    if mode not in MODES:
        raise invalid_argument(f"unknown mode {mode!r}; expected one of {MODES}")
    if weight_bits not in (7, 8):
        raise invalid_argument(f"weight_bits must be 8 or 7, got {weight_bits!r}")
    if method not in METHODS:
        raise invalid_argument(f"unknown calibration method {method!r}; expected one of {METHODS}")
    exclude = list(exclude or [])
    imported = _load(model, example_inputs)
    g = imported.graph
    passes.run_all(g)
    # Self-attention subgraphs -> one fused Attention node (after GELU/LayerNorm recognition and
    # the Gemm/MatMul -> Dense rewrite, so the Q/K/V projections stay Dense).
    attention.run(g)
    check_supported(g)
    opts = Q.Options(mode=mode, per_channel=per_channel, weight_bits=weight_bits, exclude=exclude,
                     allow_float_fallback=allow_float_fallback)
    weight_hints = {k: s for k, (s, a) in getattr(g, "weight_hints", {}).items() if a in (0, -1)}
    report = ConversionReport(output_path=None, mode=mode, method=method if mode == "int8" else None,
                              per_channel=per_channel, source_sha256=imported.sha256)
    if weight_bits == 7 and mode in ("int8", "int8-dynamic", "int8-weight"):
        report.notes.append(
            "weight_bits=7: s8 weights quantized to [-64, 64] (a weight scale twice 8-bit's); on "
            "x86 CPUs without VNNI they run on an exact vpmaddubsw kernel, about 1.35x faster; "
            "weights taken from a QDQ model keep their own scales and range")
    bf16_attention = attention.set_precision(g, mode, Q.excluded_matcher(g, exclude))
    if bf16_attention:
        report.notes.append(
            f"{bf16_attention} Attention node(s) with precision bf16: on CPUs with AMX-BF16 their "
            "two products use bf16-rounded Q, K, V and softmax weights (fp32 sums), elsewhere "
            "fp32; the accuracy figures include that rounding (the AMX case, the larger error); "
            "exclude them (by name or 'Attention') to keep fp32 everywhere")
    int8 = None
    smooth_groups = {}
    use_smooth = mode in ("int8", "int8-dynamic") and calibration is not None and SMOOTH
    if use_smooth and mode == "int8-dynamic":
        smooth_groups = smooth.candidates(g, Q.excluded_matcher(g, exclude))
    hints = getattr(g, "activation_hints", {})
    if mode == "int8":
        int8 = Q.plan_static(g, opts)
        if use_smooth:
            smooth_groups = smooth.candidates(g, Q.excluded_matcher(g, exclude), int8)
    chan_names = sorted({g.tensor(x).source for x in smooth_groups})
    if mode == "int8":
        uf, tensors = Q.ranges_needed(g, int8)
        need = sorted({g.tensor(t).source for t in tensors
                       if t not in hints and g.tensor(t).source not in hints and g.tensor(t).source})
        ranges = {}
        if need or chan_names:
            from qrt.calibrate.collect import collect

            ranges, report.calibration_batches, stats = collect(
                imported.onnx_model, need, calibration, method, percentile, progress, chan_names)
            if smooth.apply(g, smooth_groups, stats, ranges):
                int8 = Q.plan_static(g, opts)  # the Dense inputs are now the smoothed tensors
                uf, tensors = Q.ranges_needed(g, int8)
        qparams = Q.group_params(g, uf, tensors, ranges, hints)
        Q.apply_static(g, int8, qparams, opts, weight_hints)
        if fuse.quantize_chains(g):
            report.notes.append("fused after quantization: SmoothQuant shift/scale and GELU into the "
                                "quantization of int8 inputs (AffineQuantize), Relu into u8 Add/Mul")
        if hints:
            report.notes.append(f"{len(hints)} activation range(s) taken from the model's "
                                "QuantizeLinear/DequantizeLinear nodes")
    else:
        if chan_names:
            from qrt.calibrate.collect import collect

            _, report.calibration_batches, stats = collect(
                imported.onnx_model, [], calibration, method, percentile, progress, chan_names)
            smooth.apply(g, smooth_groups, stats, {}, dynamic=True)
        Q.apply_weight_modes(g, opts, weight_hints)
    recurrent = Q.quantize_recurrent(g, opts)
    if recurrent:
        report.notes.append(f"{len(recurrent)} recurrent layer(s) (LSTM/GRU/RNN) with s8 W and R; "
                            "their inputs and states are quantized per call (dynamic), gates in f32")
    tables = Q.quantize_embeddings(g, opts)
    if tables:
        kind = {"fp16": "f16", "bf16": "bf16"}.get(mode, "s8 (one scale per row)")
        report.notes.append(f"{len(tables)} embedding table(s) stored as {kind}; the Gather "
                            "dequantizes the rows it reads")
    smoothed = [n for n in g.nodes if "smoothquant_alpha" in n.attrs]
    if smoothed:
        report.notes.append(f"SmoothQuant with shift on the inputs of {len(smoothed)} Dense "
                            f"node(s) (of {sum(len(v) for v in smooth_groups.values())} candidates)")
    for n in smoothed:  # a converter-side note, not a runtime attribute
        n.attrs.pop("smoothquant_alpha")
    report.nodes = Q.node_reports(g, mode, int8)
    kept = [{"name": n.name, "op": n.op, "reason": n.float_reason} for n in report.nodes
            if n.float_reason]
    metadata = {
        "producer": f"qrt {qrt_version()}",
        "qrt_version": qrt_version(),
        "source_sha256": imported.sha256,
        "mode": mode,
        "method": method if mode == "int8" else "",
        "per_channel": str(bool(per_channel)).lower(),
        "exclude": json.dumps(exclude),
        "float_nodes": json.dumps(kept),
        "smoothquant": json.dumps(sorted(n.name for n in smoothed)),
    }
    if mode == "int8" and method == "percentile":
        metadata["percentile"] = repr(float(percentile))
    if weight_bits != 8:
        metadata["weight_bits"] = str(weight_bits)
    return BuildResult(to_model_dict(g, metadata), report, g, imported)


WEIGHT_LAYOUTS = ("auto", "plain", "c4/8", "c4/16", "c4/32", "c4/64")


def native_weight_layout() -> str:
    """The packed layout this machine's int8 GEMM reads in place ('plain' without a SIMD kernel)."""
    from qrt import _core  # type: ignore[attr-defined]

    fn = getattr(_core, "native_weight_layout", None)
    return fn() if fn else "plain"


# "auto" packs only where it pays: a tensor whose layout adds more than 1/8 of its size (narrow
# layers padded to nr columns) and models with under 256 KiB of such weights (packing them at load
# takes microseconds) stay plain, so the file stays small — and a format 1.0 file when nothing
# is packed. An explicit layout packs every eligible tensor.
AUTO_MAX_OVERHEAD = 0.125
AUTO_MIN_BYTES = 256 << 10


def _c4_bytes(n: int, k: int, nr: int) -> int:
    np_ = -(-n // nr) * nr
    return -(-np_ * 4 // 64) * 64 + np_ * (-(-k // 4) * 4)


def apply_weight_layout(model_dict: dict, layout: str, only_worthwhile: bool = False) -> int:
    """Marks the s8 weights of int8 Dense/Conv2d GEMMs to be stored packed in ``layout``
    (format 1.1, docs/FORMAT.md §3.2.1), so that a runtime whose kernel reads that layout uses
    them in place from the memory map instead of packing them at load. Weights read by any other
    node, weight-only Dense/Conv2d, depthwise and grouped convolutions stay plain (those paths
    read row-major bytes). Any runtime reads the file: one with another kernel unpacks and
    repacks at load. ``only_worthwhile`` applies the "auto" thresholds above. Returns the number
    of tensors marked."""
    if layout == "auto":
        layout, only_worthwhile = native_weight_layout(), True
    if layout not in WEIGHT_LAYOUTS:
        raise ValueError(f"weight_layout must be one of {', '.join(WEIGHT_LAYOUTS)}, got {layout!r}")
    if layout == "plain":
        return 0
    tensors, nodes = model_dict["tensors"], model_dict["nodes"]
    ok = [True] * len(tensors)
    gemm_use = [False] * len(tensors)
    for o in model_dict["outputs"]:
        ok[o] = False
    for n in nodes:
        for pos, i in enumerate(n["inputs"]):
            if i < 0:
                continue
            gemm = pos == 1 and n["op"] in ("Dense", "Conv2d") and not n["attrs"].get("weight_only", 0)
            if gemm and n["op"] == "Conv2d":
                w, x = tensors[i], tensors[n["inputs"][0]]
                group = n["attrs"].get("group", 1)
                shape = w["shape"]
                depthwise = len(shape) == 4 and shape[0] == 1 and shape[3] == 1 and group == 1
                gemm = group == 1 and not depthwise and x["dtype"] in ("u8", "f32")
            if gemm:
                gemm_use[i] = True
            else:
                ok[i] = False
    nr = int(layout.split("/")[1])
    chosen = []
    for i, t in enumerate(tensors):
        if (ok[i] and gemm_use[i] and t["dtype"] == "s8" and t.get("data") is not None
                and len(t["shape"]) >= 2 and all(d > 0 for d in t["shape"])):
            n, k = t["shape"][0], int(np.prod(t["shape"][1:]))
            if only_worthwhile and _c4_bytes(n, k, nr) - n * k > AUTO_MAX_OVERHEAD * n * k:
                continue
            chosen.append((i, n * k))
    if only_worthwhile and sum(b for _, b in chosen) < AUTO_MIN_BYTES:
        return 0
    for i, _ in chosen:
        tensors[i]["layout"] = layout
    return len(chosen)


def write_model_bytes(model_dict: dict) -> bytes:
    try:
        from qrt import _core  # type: ignore[attr-defined]
    except ImportError as e:
        raise ImportError("qrt._core (the compiled runtime) is not built: the .qmodel writer "
                          "lives there; `pip install -e . --no-build-isolation` builds it") from e
    return bytes(_core.write_model(model_dict))


def _open_written(data: bytes):
    """The runtime's session over the bytes about to be written. A file the runtime refuses is a
    converter defect; raising here (the runtime's error class, its message) beats writing a
    .qmodel that fails at every load."""
    from qrt.errors import QrtError
    from qrt.runtime import InferenceSession

    try:
        return InferenceSession(data)
    except QrtError as e:
        raise type(e)(f"the converted model does not load in qrt's runtime, nothing was written "
                      f"(a converter defect: please report it with the model): {e}") from e


def convert(model, output_path, mode: str = "int8", calibration=None, method: str = "minmax",
            per_channel: bool = True, exclude=None, allow_float_fallback: bool = False,
            example_inputs=None, percentile: float = 99.99, progress: bool = True,
            weight_layout: str = "auto", weight_bits: int = 8) -> ConversionReport:
    """Convert a float model to a .qmodel file.

    model: path to an .onnx file, its bytes, an ``onnx.ModelProto`` or a ``torch.nn.Module``
        (then ``example_inputs`` is required; exported with torch.onnx.export, opset 17).
    mode: "int8" (static: u8 activations calibrated, s8 per-channel weights, s32 bias),
        "int8-dynamic" (Dense and LSTM/GRU/RNN: s8 weights, activations quantized per run), "int8-weight"
        (Dense: s8 weights, f32 compute), "fp16", "bf16" (Conv2d/Dense weights and LSTM/GRU/RNN W, R), "fp32".
    calibration: for "int8": an iterable of {input_name: ndarray}, one such dict, or an .npz
        path. Not needed when the model carries QuantizeLinear/DequantizeLinear everywhere.
    method: "minmax" | "percentile" (with ``percentile``) | "entropy" | "mse".
    exclude: node names (the ONNX names) or op types (ONNX or qrt) to keep in float.
    allow_float_fallback: keep nodes that cannot run in the requested mode in float instead of
        raising UnsupportedError (they are listed in the report and the file's metadata).
    weight_layout: how int8 GEMM weights are stored. "auto" (default): packed in the layout this
        machine's int8 kernel reads (`qrt cpu` shows it), so that loading uses them in place;
        "plain": row-major, as in format 1.0; "c4/8" … "c4/64": a given layout (another
        machine's). Every runtime reads every choice; only load time differs.
    weight_bits: 8 (default: s8 weights in [-127, 127]) or 7 (in [-64, 64], as ONNX Runtime's
        and PyTorch's reduce_range): coarser weights, but on x86 CPUs without VNNI (AVX2 only)
        the int8 GEMMs then run an exact vpmaddubsw kernel, about 1.35x faster. The runtime picks
        that kernel for any weight matrix within [-64, 64], whatever converted it.
    Returns a ConversionReport (per-node modes and dtypes, kept-float reasons, accuracy).
    """
    t0 = time.perf_counter()
    if weight_layout not in WEIGHT_LAYOUTS:
        raise ValueError(f"weight_layout must be one of {', '.join(WEIGHT_LAYOUTS)}, got {weight_layout!r}")
    res = build(model, mode, calibration, method, per_channel, exclude, allow_float_fallback,
                example_inputs, percentile, progress, weight_bits=weight_bits)
    layout = native_weight_layout() if weight_layout == "auto" else weight_layout
    packed = apply_weight_layout(res.model_dict, layout, only_worthwhile=weight_layout == "auto")
    if packed:
        res.model_dict["metadata"]["weight_layout"] = layout
    data = write_model_bytes(res.model_dict)
    session = _open_written(data)
    path = os.fspath(output_path)
    with open(path, "wb") as f:
        f.write(data)
    report = res.report
    report.output_path, report.file_bytes = path, len(data)
    if packed:
        report.notes.append(f"{packed} weight tensors stored packed ({layout}; used in place by "
                            f"runtimes whose int8 kernel reads {layout}, repacked at load elsewhere)")
    try:
        from qrt.quantize.accuracy import measure

        measure(res, data, calibration, report, session)
    except Exception as e:  # accuracy is informative; never fail a conversion over it
        report.notes.append(f"accuracy not measured: {type(e).__name__}: {e}")
    report.notes.append(f"converted in {time.perf_counter() - t0:.1f} s")
    return report


# `qrt.convert` is both this module and the function users call (``qrt.convert(...)``): once the
# submodule is imported, Python binds the package attribute `convert` to the module, shadowing
# the function defined in qrt/__init__.py. Making the module callable keeps both spellings
# working whichever import happened first.
import sys as _sys
import types as _types


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        return convert(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
