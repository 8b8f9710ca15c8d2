"""Accuracy of a conversion: SQNR against the float model on a calibration sample.

- Per layer (``NodeReport.sqnr_db``): each quantized node's output, computed by the converter's
  numpy evaluator with the runtime's integer arithmetic (qrt/ir/evaluate.py), against
  onnxruntime's value of the same ONNX tensor (intermediate outputs exposed).
- End to end (``output_sqnr_db``): the graph outputs from the real runtime
  (``qrt.InferenceSession`` on the written bytes) when it is importable, else from the evaluator;
  ``sqnr_source`` says which.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from qrt.ir.evaluate import Evaluator, dequantize

MAX_SAMPLES = 16


def sqnr_db(ref: np.ndarray, got: np.ndarray) -> float:
    ref = ref.astype(np.float64)
    noise = float(np.sum((ref - got.astype(np.float64)) ** 2))
    sig = float(np.sum(ref ** 2))
    if noise == 0.0:
        return float("inf")
    return 10.0 * np.log10(max(sig, 1e-30) / noise)


def _align(ref: np.ndarray, got: np.ndarray) -> np.ndarray | None:
    if ref.shape == got.shape:
        return got
    if got.ndim == 4 and got.transpose(0, 3, 1, 2).shape == ref.shape:
        return got.transpose(0, 3, 1, 2)
    if got.size == ref.size:
        return None  # a different layout we cannot undo
    return None


def sample_from(calibration, input_names: list[str]) -> dict[str, np.ndarray] | None:
    """A small feed dict from re-readable calibration data (never consumes a one-shot iterator)."""
    from qrt.calibrate.reader import NpzReader
    import os

    try:
        if isinstance(calibration, (str, os.PathLike)):
            batch = next(iter(NpzReader(calibration, input_names, MAX_SAMPLES)))
        elif isinstance(calibration, Mapping):
            batch = calibration
        elif isinstance(calibration, (list, tuple)) and calibration:
            batch = calibration[0]
        else:
            return None
        return {n: np.asarray(batch[n])[:MAX_SAMPLES] for n in input_names}
    except Exception:
        return None


def measure(res, data: bytes | None, calibration, report, session=None) -> None:
    g = res.graph
    feeds = sample_from(calibration, list(g.inputs))
    if feeds is None:
        report.notes.append("accuracy not measured: no re-readable calibration sample")
        return
    from qrt.calibrate.collect import expose_outputs, ort_session

    quantized = [n for n in g.nodes if n.name in {r.name for r in report.nodes if r.mode != "f32"}]
    sources = {}
    for n in quantized:
        t = g.tensor(n.outputs[0])
        if t.source and t.source_order_kept:
            sources[n.name] = t.source
    model = expose_outputs(res.imported.onnx_model, sorted(set(sources.values())))
    sess = ort_session(model)
    names = [o.name for o in sess.get_outputs()]
    ref = dict(zip(names, sess.run(names, feeds)))
    env = Evaluator(g).run(feeds, keep_all=True)
    by_name = {r.name: r for r in report.nodes}
    for n in quantized:
        src = sources.get(n.name)
        if src not in ref:
            continue
        t = g.tensor(n.outputs[0])
        got = env[n.outputs[0]]
        if t.quant is not None and t.dtype == "u8":
            got = dequantize(got, t.quant)
        got = _align(ref[src], got)
        if got is not None:
            by_name[n.name].sqnr_db = round(sqnr_db(ref[src], got), 2)
    outs = None
    if data is not None:
        try:
            import qrt

            s = session if session is not None else qrt.InferenceSession(data)
            outs = dict(zip(g.outputs, s.run(list(g.outputs), feeds)))
            report.sqnr_source = "qrt runtime"
        except Exception as e:
            report.notes.append(f"runtime not usable for the accuracy check ({type(e).__name__}: {e})")
    if outs is None:
        outs = {o: env[o] for o in g.outputs}
        report.sqnr_source = "reference evaluator"
    for o in g.outputs:
        if o in ref:
            report.output_sqnr_db[o] = round(sqnr_db(ref[o], outs[o]), 2)
