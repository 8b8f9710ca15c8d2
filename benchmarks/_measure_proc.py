"""Runners for the scoreboard's engines, and the fresh-subprocess load / peak-memory probe.

As a script (run by scoreboard.py in a new process for every measurement):

    python benchmarks/_measure_proc.py ENGINE MODEL_PATH INPUTS.npz THREADS [NAMES [META]]

it imports numpy, loads the inputs, reads the process's peak resident set (VmHWM) as the
baseline, then imports the engine, opens the model and runs it once, and prints one JSON line:
import time, load time (open → first result ready), and the peak RSS above the baseline, split
into the engine import and the model's own part.

ENGINE is ``onnxruntime``, ``qrt`` or ``torch``; for torch, MODEL_PATH is a state dict of the
benchmarks/models.py architecture named in the META json argument ({"model": name,
"dynamic_int8": bool}).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class Runner:
    """``prepare(feeds)`` converts an input dict once (dtypes, names) for this engine; ``run(p)``
    returns the first output as a numpy array; ``activate()`` is called before a block of runs
    (torch's thread count is process-wide)."""

    def __init__(self, engine: str, path: str, threads: int, meta: dict | None = None):
        self.engine, self.path, self.threads = engine, str(path), threads
        if engine == "onnxruntime":
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self.sess = ort.InferenceSession(self.path, so, providers=["CPUExecutionProvider"])
            self.input_names = [i.name for i in self.sess.get_inputs()]
            self._dtypes = {i.name: _ORT_TYPES.get(i.type, None) for i in self.sess.get_inputs()}
            self.run = self._run_ort
        elif engine == "qrt":
            import qrt

            self.sess = qrt.InferenceSession(self.path, threads=threads)
            self.input_names = [a.name for a in self.sess.get_inputs()]
            self._dtypes = {a.name: np.dtype(a.numpy_dtype) for a in self.sess.get_inputs()}
            self.run = self._run_qrt
        elif engine == "torch":
            import torch

            if HERE not in sys.path:
                sys.path.insert(0, HERE)  # the pickled modules' classes live in models.py
            _torch_threads(threads)
            import models as M

            model_name, quant = (meta or {}).get("model"), (meta or {}).get("dynamic_int8", False)
            self.model = M.load_torch(model_name, self.path, dynamic_int8=quant)
            self.input_names = None  # positional, in the order prepare() is given
            self._dtypes = {}
            self.run = self._run_torch
            self._torch = torch
        else:
            raise ValueError(f"unknown engine {engine!r}")

    def activate(self) -> None:
        if self.engine == "torch":
            _torch_threads(self.threads)

    def prepare(self, feeds: dict, names: list[str] | None = None):
        if self.engine == "torch":
            return tuple(self._torch.from_numpy(np.ascontiguousarray(feeds[k])) for k in (names or list(feeds)))
        out = {}
        for k in self.input_names:
            v = feeds[k]
            dt = self._dtypes.get(k)
            out[k] = np.ascontiguousarray(v.astype(dt, copy=False) if dt is not None else v)
        return out

    def _run_ort(self, p):
        return self.sess.run(None, p)[0]

    def _run_qrt(self, p):
        return self.sess.run(None, p)[0]

    def _run_torch(self, p):
        with self._torch.inference_mode():
            return self.model(*p).numpy()


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32,
              "tensor(float16)": np.float16}


def _torch_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set (it can be set once per process)


def probe(engine: str, path: str, inputs_npz: str, threads: int, names: list[str], meta: dict) -> dict:
    with np.load(inputs_npz) as z:
        feeds = {k: z[k] for k in z.files}
    base_hwm = _status_kb("VmHWM")
    base_rss = _status_kb("VmRSS")
    t0 = time.perf_counter()
    if engine == "onnxruntime":
        import onnxruntime  # noqa: F401
    elif engine == "qrt":
        import qrt  # noqa: F401
    elif engine == "torch":
        import torch  # noqa: F401
    t1 = time.perf_counter()
    imp_hwm = _status_kb("VmHWM")
    r = Runner(engine, path, threads, meta)
    t2 = time.perf_counter()
    p = r.prepare(feeds, names)
    out = r.run(p)
    t3 = time.perf_counter()
    peak = _status_kb("VmHWM")
    return {
        "import_s": t1 - t0,
        "open_s": t2 - t1,
        "first_run_s": t3 - t2,
        "load_s": t3 - t1,  # open -> first result ready
        "baseline_hwm_kb": base_hwm,
        "baseline_rss_kb": base_rss,
        "import_rss_kb": imp_hwm - base_hwm,
        "model_rss_kb": peak - imp_hwm,
        "peak_above_baseline_kb": peak - base_hwm,
        "rss_after_kb": _status_kb("VmRSS"),
        "output_shape": list(np.asarray(out).shape),
    }


if __name__ == "__main__":
    engine, path, inputs_npz, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    names = sys.argv[5].split(",") if len(sys.argv) > 5 and sys.argv[5] else []
    meta = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
    try:
        res = probe(engine, path, inputs_npz, threads, names, meta)
    except Exception as e:  # reported, not hidden
        res = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write("SCOREBOARD_PROBE " + json.dumps(res) + "\n")
