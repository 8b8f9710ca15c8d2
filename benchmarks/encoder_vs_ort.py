"""A PyTorch ``nn.TransformerEncoder`` (``nn.MultiheadAttention`` inside) through qrt and ONNX
Runtime: latency per variant, interleaved rounds, batch 1, one thread.

    python benchmarks/encoder_vs_ort.py [--layers 4] [--d 256] [--heads 4] [--seq 128]
                                        [--rounds 7] [--reps 30] [--json out.json]

Variants: ORT fp32 and ORT dynamic int8 (per-channel) of the TorchScript export; qrt fp32,
int8-dynamic and int8 (static, 8 random calibration samples). Ratios are the median over rounds of
the per-round ratio to ORT dynamic int8 (< 1: faster). Also prints the Attention node count of
each qrt model (the nn.MultiheadAttention layers qrt fused) and the max |error| against PyTorch.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--json")
    a = ap.parse_args()

    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import qrt

    torch.manual_seed(0)
    nn = torch.nn
    layer = nn.TransformerEncoderLayer(a.d, a.heads, 4 * a.d, batch_first=True, dropout=0.0,
                                       activation="gelu")
    model = nn.TransformerEncoder(layer, a.layers, enable_nested_tensor=False).eval()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, a.seq, a.d)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()

    work = Path(tempfile.mkdtemp())
    src = work / "enc.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.from_numpy(x),), str(src), opset_version=17, dynamo=False,
                          input_names=["x"], output_names=["y"])
        quantize_dynamic(str(src), str(work / "enc_dyn.onnx"), weight_type=QuantType.QInt8,
                         per_channel=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    runners = {"ORT fp32": ort.InferenceSession(str(src), so, providers=["CPUExecutionProvider"]),
               "ORT int8 dynamic": ort.InferenceSession(str(work / "enc_dyn.onnx"), so,
                                                        providers=["CPUExecutionProvider"])}
    calib = [{"x": rng.standard_normal(x.shape).astype(np.float32)} for _ in range(8)]
    attention = {}
    for mode in ("fp32", "int8-dynamic", "int8"):
        out = work / f"enc.{mode}.qmodel"
        qrt.convert(str(src), str(out), mode=mode, calibration=calib if mode == "int8" else None,
                    progress=False)
        s = qrt.InferenceSession(str(out), threads=1)
        attention[f"qrt {mode}"] = sum(r["op"] == "Attention" for r in s.kernel_report())
        runners[f"qrt {mode}"] = s

    per_round = {k: [] for k in runners}
    for rd in range(a.rounds):
        for k in (list(runners) if rd % 2 == 0 else list(runners)[::-1]):
            s = runners[k]
            ts = []
            for _ in range(a.reps):
                t = time.perf_counter()
                s.run(None, {"x": x})
                ts.append(time.perf_counter() - t)
            per_round[k].append(float(np.median(ts)) * 1e3)
    base = np.array(per_round["ORT int8 dynamic"])
    rows = []
    print(f"nn.TransformerEncoder: {a.layers} layers, d {a.d}, {a.heads} heads, FFN {4 * a.d}, "
          f"seq {a.seq}, batch 1, 1 thread; {a.rounds} rounds x {a.reps} runs")
    print(f"{'variant':<18} {'median ms':>10} {'x ORT int8 dyn':>15} {'max |err|':>10} {'Attention':>10}")
    for k, s in runners.items():
        err = float(np.abs(s.run(None, {"x": x})[0] - ref).max())
        row = {"variant": k, "median_ms": float(np.median(per_round[k])),
               "ratio_to_ort_int8_dynamic": float(np.median(np.array(per_round[k]) / base)),
               "max_abs_error": err, "attention_nodes": attention.get(k), "round_medians_ms": per_round[k]}
        rows.append(row)
        att = "" if row["attention_nodes"] is None else str(row["attention_nodes"])
        print(f"{k:<18} {row['median_ms']:>10.3f} {row['ratio_to_ort_int8_dynamic']:>15.2f} {err:>10.4f} {att:>10}")
    if a.json:
        Path(a.json).write_text(json.dumps({"args": vars(a), "rows": rows,
                                            "cpu": qrt.cpu_info()["brand"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
