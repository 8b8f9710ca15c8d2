#!/usr/bin/env python3
"""Recurrent models (LSTM, GRU) in qrt's modes beside ONNX Runtime and PyTorch, same process.

Builds two small speech-style models in plain PyTorch (random weights, seeded): 80 features ->
2-layer LSTM(256) -> Linear(30), and 80 -> bidirectional GRU(192) -> Linear(30); batch 1,
sequence length 100 by default. Exports them (opset 17) and runs, one thread each:

- qrt fp32, fp16 and int8-dynamic (s8 W and R, X and the state quantized per call), the last
  also with weight_bits=7 (weights in [-64, 64]: the exact vpmaddubsw kernel on AVX2);
- ONNX Runtime fp32 and `quantize_dynamic` (per-channel s8; LSTM becomes DynamicQuantizeLSTM,
  the Linear MatMulInteger; ORT has no dynamic GRU, so its GRU stays f32), also with
  reduce_range=True (7-bit weights: exact on CPUs without VNNI, where 8-bit saturates);
- PyTorch fp32 (eager) and `torch.ao.quantization.quantize_dynamic` on nn.LSTM / nn.GRU / nn.Linear.

All variants run in alternation (round robin, `--rounds` rounds of `--reps` runs); the figure is
the median over rounds of the per-run thread CPU time (every engine runs in the calling thread
with one thread). Accuracy: max |y - y_torch32| / max |y_torch32| on the same input. Prints a
table and writes JSON (`--json`).

    python benchmarks/rnn_vs_ort.py [--seq 100] [--rounds 15] [--reps 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import warnings

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn

import qrt


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(80, 256, num_layers=2, batch_first=True)
        self.out = nn.Linear(256, 30)

    def forward(self, x):
        return self.out(self.rnn(x)[0])


class GRUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(80, 192, batch_first=True, bidirectional=True)
        self.out = nn.Linear(384, 30)

    def forward(self, x):
        return self.out(self.rnn(x)[0])


def variants(name: str, net: nn.Module, x: np.ndarray, tmp: str) -> dict:
    src = os.path.join(tmp, f"{name}.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.from_numpy(x),), src, opset_version=17, dynamo=False,
                          input_names=["x"], output_names=["y"])
    out = {}
    for mode, bits in (("fp32", 8), ("fp16", 8), ("int8-dynamic", 8), ("int8-dynamic", 7)):
        label = f"qrt {mode}" + (" w7" if bits == 7 else "")
        path = os.path.join(tmp, f"{name}.{mode}.w{bits}.qmodel")
        qrt.convert(src, path, mode=mode, weight_bits=bits, progress=False)
        s = qrt.InferenceSession(path, threads=1)
        out[label] = (lambda s=s: s.run(None, {"x": x})[0], os.path.getsize(path))
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    so.log_severity_level = 3
    from onnxruntime.quantization import QuantType, quantize_dynamic

    qpath = os.path.join(tmp, f"{name}.ort-dyn.onnx")
    quantize_dynamic(src, qpath, weight_type=QuantType.QInt8, per_channel=True)
    rrpath = os.path.join(tmp, f"{name}.ort-dyn-rr.onnx")
    quantize_dynamic(src, rrpath, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    for label, p in (("ORT fp32", src), ("ORT int8 dynamic", qpath), ("ORT int8 dyn rr", rrpath)):
        s = ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])
        out[label] = (lambda s=s: s.run(None, {"x": x})[0], os.path.getsize(p))
    torch.set_num_threads(1)
    tx = torch.from_numpy(x)
    qnet = torch.ao.quantization.quantize_dynamic(net, {nn.LSTM, nn.GRU, nn.Linear}, dtype=torch.qint8)

    def torch_run(m):
        with torch.no_grad():
            return m(tx).numpy()

    out["PyTorch fp32"] = (lambda: torch_run(net), None)
    out["PyTorch int8 dynamic"] = (lambda: torch_run(qnet), None)
    return out


def bench(fns: dict, rounds: int, reps: int) -> dict:
    times = {k: [] for k in fns}
    for k, (fn, _) in fns.items():  # warm-up
        fn()
    for _ in range(rounds):
        for k, (fn, _) in fns.items():
            t0 = time.thread_time()
            for _ in range(reps):
                fn()
            times[k].append((time.thread_time() - t0) / reps * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    results = {"cpu": qrt.cpu_info().get("brand", platform.processor()), "seq": args.seq,
               "versions": {"qrt": getattr(qrt, "__version__", "?"), "onnxruntime": ort.__version__,
                            "torch": torch.__version__}, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, net in (("lstm2x256", LSTMNet().eval()), ("bigru192", GRUNet().eval())):
            x = rng.standard_normal((1, args.seq, 80)).astype(np.float32)
            fns = variants(name, net, x, tmp)
            with torch.no_grad():
                ref = net(torch.from_numpy(x)).numpy()
            errs = {k: float(np.abs(fn() - ref).max() / np.abs(ref).max()) for k, (fn, _) in fns.items()}
            ms = bench(fns, args.rounds, args.reps)
            base = ms["ORT int8 dynamic"]
            print(f"\n{name}, batch 1, seq {args.seq}, 1 thread (median of {args.rounds} rounds x {args.reps} runs, "
                  "thread CPU time)")
            print(f"{'variant':<22} {'ms':>8} {'x ORT int8':>10} {'x ORT fp32':>10} {'file MB':>8} {'max rel err':>12}")
            rows = {}
            for k, (_, size) in fns.items():
                rows[k] = {"ms": ms[k], "vs_ort_int8": ms[k] / base, "vs_ort_fp32": ms[k] / ms["ORT fp32"],
                           "file_mb": size / 1e6 if size else None, "max_rel_err": errs[k]}
                mb = f"{size / 1e6:.2f}" if size else "-"
                print(f"{k:<22} {ms[k]:>8.3f} {ms[k] / base:>10.2f} {ms[k] / ms['ORT fp32']:>10.2f} {mb:>8} "
                      f"{errs[k]:>12.2e}")
            results["models"][name] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
