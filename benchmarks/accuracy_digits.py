"""Accuracy of qrt's int8 conversion of the digits CNN beside ONNX Runtime's quantizer.

    python benchmarks/accuracy_digits.py [--method minmax] [--json]

Same model (qrt/data/digits_cnn.onnx), same calibration images (200 training images), same
held-out test set (360 images). qrt int8 runs on the qrt runtime when it is built, else on the
converter's numpy evaluator (same integer arithmetic; the output says which). ORT: static QDQ,
u8 activations / s8 per-channel weights, MinMax calibration, run by onnxruntime.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
DATA = os.path.join(HERE, "..", "qrt", "data")
MODEL = os.path.join(DATA, "digits_cnn.onnx")


def ort_static(calib: np.ndarray, tmp: str, per_channel: bool = True) -> str:
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"input": calib[i:i + 20]} for i in range(0, len(calib), 20)])

        def get_next(self):
            return next(self.it, None)

    pre = os.path.join(tmp, "pre.onnx")
    quant_pre_process(MODEL, pre)
    out = os.path.join(tmp, "ort_qdq.onnx")
    quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=per_channel)
    return out


def qrt_int8(calib, x, method, tmp):
    from qrt.convert import build
    from qrt.ir.evaluate import Evaluator

    res = build(MODEL, calibration=[{"input": calib}], method=method, progress=False)
    try:
        import qrt
        from qrt.convert import write_model_bytes

        data = write_model_bytes(res.model_dict)
        return qrt.InferenceSession(data).run(None, {"input": x})[0], "qrt runtime", len(data)
    except Exception:
        return Evaluator(res.graph).run({"input": x})["logits"], "qrt reference evaluator", None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="minmax")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    d = np.load(os.path.join(DATA, "digits.npz"))
    x, y, calib = d["x_test"], d["y_test"], d["x_calib"]
    fl = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    with tempfile.TemporaryDirectory() as tmp:
        oq = ort.InferenceSession(ort_static(calib, tmp), providers=["CPUExecutionProvider"]).run(
            None, {"input": x})[0]
        qq, engine, size = qrt_int8(calib, x, args.method, tmp)
    acc = lambda z: float((z.argmax(1) == y).mean() * 100)  # noqa: E731
    agree = lambda z: float((z.argmax(1) == fl.argmax(1)).mean() * 100)  # noqa: E731
    res = {"images": int(len(y)), "fp32": acc(fl),
           "ort_static_qdq": {"accuracy": acc(oq), "agreement": agree(oq)},
           "qrt_int8": {"accuracy": acc(qq), "agreement": agree(qq), "method": args.method,
                        "engine": engine, "bytes": size}}
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"digits CNN, {len(y)} held-out images")
    print(f"  fp32 (onnxruntime)          {res['fp32']:.2f}%")
    print(f"  ORT static QDQ int8         {res['ort_static_qdq']['accuracy']:.2f}%  "
          f"(top-1 agreement with fp32 {res['ort_static_qdq']['agreement']:.2f}%)")
    print(f"  qrt int8 ({args.method}, {engine})  {res['qrt_int8']['accuracy']:.2f}%  "
          f"(top-1 agreement with fp32 {res['qrt_int8']['agreement']:.2f}%)")


if __name__ == "__main__":
    main()
