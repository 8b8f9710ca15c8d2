"""``qrt demo``: quantize the small digits CNN shipped in qrt/data and compare it with float.

The model (qrt/data/digits_cnn.onnx) and the held-out images (qrt/data/digits.npz) were made by
tools/train_demo_model.py from scikit-learn's digits. The demo converts it twice — fp32 and
static int8 calibrated on 200 training images — runs both with the qrt runtime on the 360
held-out images and prints accuracy, file size and latency side by side. Offline, a few seconds.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import numpy as np

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
MODEL = os.path.join(DATA_DIR, "digits_cnn.onnx")
SAMPLES = os.path.join(DATA_DIR, "digits.npz")


def _latency_ms(sess, x: np.ndarray, runs: int) -> float:
    """Median single-image latency."""
    for i in range(10):
        sess.run(None, {"input": x[i % len(x):i % len(x) + 1]})
    times = []
    for i in range(runs):
        xi = x[i % len(x):i % len(x) + 1]
        t = time.perf_counter()
        sess.run(None, {"input": xi})
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def run_demo(threads: int = 1, runs: int = 300, out=None) -> dict:
    """Returns {"fp32": {...}, "int8": {...}} with accuracy, bytes, latency_ms; prints a table."""
    import qrt
    from qrt.convert import convert

    out = out or sys.stdout
    d = np.load(SAMPLES)
    x, y, calib = d["x_test"], d["y_test"], d["x_calib"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("fp32", "int8"):
            path = os.path.join(tmp, f"digits_{mode}.qmodel")
            kwargs = {"calibration": [{"input": calib}]} if mode == "int8" else {}
            t0 = time.perf_counter()
            convert(MODEL, path, mode=mode, progress=False, **kwargs)
            conv_s = time.perf_counter() - t0
            sess = qrt.InferenceSession(path, threads=threads)
            logits = sess.run(None, {"input": x})[0]
            results[mode] = {
                "accuracy": float((logits.argmax(1) == y).mean()),
                "bytes": os.path.getsize(path),
                "latency_ms": _latency_ms(sess, x, runs),
                "convert_s": conv_s,
                "pred": logits.argmax(1),
            }
    agree = float((results["fp32"]["pred"] == results["int8"]["pred"]).mean())
    onnx_bytes = os.path.getsize(MODEL)
    print(f"qrt demo: digits CNN (scikit-learn digits, {len(y)} held-out 8x8 images), "
          f"threads={threads}", file=out)
    print(f"  {'':10s} {'accuracy':>9s} {'file':>10s} {'latency (1 image)':>18s}", file=out)
    print(f"  {'onnx f32':10s} {'':>9s} {onnx_bytes:>8d} B", file=out)
    for mode in ("fp32", "int8"):
        r = results[mode]
        print(f"  {'qrt ' + mode:10s} {r['accuracy'] * 100:8.2f}% {r['bytes']:>8d} B "
              f"{r['latency_ms'] * 1e3:>14.1f} us", file=out)
    print(f"  int8 vs fp32: top-1 agreement {agree * 100:.2f}%, accuracy change "
          f"{(results['int8']['accuracy'] - results['fp32']['accuracy']) * 100:+.2f} points, "
          f"file {results['fp32']['bytes'] / results['int8']['bytes']:.1f}x smaller", file=out)
    for r in results.values():
        r.pop("pred")
    results["agreement"] = agree
    return results


if __name__ == "__main__":
    run_demo()
