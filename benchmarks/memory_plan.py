"""Activation arena vs its lower bound and the naive sum, on the scoreboard's real models.

    python benchmarks/memory_plan.py

For ResNet-18, MobileNetV2 (1x3x224x224) and the MiniLM-L6 encoder (sequence 128) converted to
int8 (static for the CNNs, dynamic for MiniLM) and fp32: the arena the greedy planner allocates,
the lower bound (most bytes live at any one step, scratch included) and the naive sum of all
intermediate buffers. Goal: arena <= 1.05x the lower bound.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    import models  # benchmarks/models.py: builds and exports the float models, cached

    import qrt

    rows = []
    with tempfile.TemporaryDirectory() as d:
        for name, modes in (("resnet18", ("int8", "fp32")), ("mobilenetv2", ("int8", "fp32")),
                            ("minilm", ("int8-dynamic", "fp32"))):
            src = models.cached_onnx(name)
            feeds = models.example_inputs(name)
            for mode in modes:
                out = os.path.join(d, f"{name}-{mode}.qmodel")
                kw = {"calibration": [feeds]} if mode.startswith("int8") else {}
                qrt.convert(str(src), out, mode=mode, progress=False, **kw)
                sess = qrt.InferenceSession(out)
                sess.run(None, feeds)
                p = sess.memory_plan()
                rows.append((name, mode, p["arena_bytes"], p["lower_bound_bytes"], p["naive_bytes"]))
    print(f"{'model':12s} {'mode':13s} {'arena':>12s} {'lower bound':>12s} {'naive sum':>12s} {'arena/lb':>9s}")
    for name, mode, arena, lb, naive in rows:
        print(f"{name:12s} {mode:13s} {arena:12,d} {lb:12,d} {naive:12,d} {arena / lb:9.3f}")


if __name__ == "__main__":
    main()
