"""Run the float model over the calibration batches and observe the requested tensors.

The float reference is the source ONNX model run by onnxruntime with the observed intermediate
tensors exposed as extra outputs. Converter tensors keep a link (``Tensor.source``) to the ONNX
tensor holding the same values up to a permutation of axes (NHWC vs NCHW), which does not
change a min/max or a histogram.
"""

from __future__ import annotations

import numpy as np
import onnx

from qrt.calibrate.observers import Observer
from qrt.calibrate.progress import Progress
from qrt.calibrate.reader import as_reader, check_batch


RESERVOIR_ROWS = 512


class Reservoir:
    """A uniform sample of at most ``size`` rows of a stream of [n, K] matrices (Algorithm R)."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size, self.seen = size, 0
        self.buf: np.ndarray | None = None
        self.rng = np.random.default_rng(seed)

    def add(self, rows: np.ndarray) -> None:
        if rows.shape[0] > self.size * 4:  # thin a big batch first (uniformly)
            rows = rows[np.sort(self.rng.choice(rows.shape[0], self.size * 4, replace=False))]
        for r in rows:
            if self.buf is None:
                self.buf = np.empty((self.size, rows.shape[1]), rows.dtype)
            if self.seen < self.size:
                self.buf[self.seen] = r
            else:
                j = int(self.rng.integers(0, self.seen + 1))
                if j < self.size:
                    self.buf[j] = r
            self.seen += 1

    def rows(self) -> np.ndarray:
        return np.zeros((0, 0), np.float32) if self.buf is None else self.buf[: min(self.seen, self.size)]


def expose_outputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of ``model`` whose graph outputs also include ``names``."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    vis = {v.name: v for v in m.graph.value_info}
    for n in names:
        if n in have:
            continue
        if n in vis:
            m.graph.output.append(vis[n])
        else:
            m.graph.output.append(onnx.ValueInfoProto(name=n))
        have.add(n)
    return m


def ort_session(model: onnx.ModelProto):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def collect(model: onnx.ModelProto, tensor_names: list[str], calibration, method: str,
            percentile: float, progress: bool, channel_names=()):
    """One pass over the calibration data.

    Returns ({onnx tensor name: (lo, hi)}, number of batches, {name: (per-channel min,
    per-channel max, sample rows)}); the per-channel statistics (over the last axis) and a
    uniform reservoir sample of at most RESERVOIR_ROWS rows are gathered for ``channel_names``
    (SmoothQuant), so memory stays bounded however many batches there are.
    """
    input_names = [i.name for i in model.graph.input
                   if i.name not in {t.name for t in model.graph.initializer}]
    names = sorted(set(tensor_names))
    chan = sorted(set(channel_names))
    sess = ort_session(expose_outputs(model, sorted(set(names) | set(chan))))
    cmin: dict[str, np.ndarray] = {}
    cmax: dict[str, np.ndarray] = {}
    reservoirs = {n: Reservoir(RESERVOIR_ROWS, seed=k) for k, n in enumerate(chan)}
    out_names = [o.name for o in sess.get_outputs()]
    observers = {n: Observer(method, percentile) for n in names}
    batches, total = as_reader(calibration, input_names)
    bar = Progress("calibrating", total, enabled=progress)
    count = 0
    for k, batch in enumerate(batches):
        feeds = check_batch(batch, input_names, k)
        values = dict(zip(out_names, sess.run(out_names, feeds)))
        for n in names:
            if n in values:
                observers[n].update(values[n])
            elif n in feeds:
                observers[n].update(feeds[n])
        for n in chan:
            v = values.get(n)
            if v is None:
                continue
            v = v.reshape(-1, v.shape[-1])
            lo, hi = v.min(axis=0), v.max(axis=0)
            cmin[n] = lo if n not in cmin else np.minimum(cmin[n], lo)
            cmax[n] = hi if n not in cmax else np.maximum(cmax[n], hi)
            reservoirs[n].add(v)
        count += 1
        bar.step()
    bar.close()
    if count == 0:
        from qrt.ir.errors import invalid_argument

        raise invalid_argument("calibration data yielded no batches")
    stats = {n: (cmin[n], cmax[n], reservoirs[n].rows()) for n in cmin}
    return {n: o.range() for n, o in observers.items() if o.seen}, count, stats
