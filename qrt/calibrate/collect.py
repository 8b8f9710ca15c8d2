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
            percentile: float, progress: bool) -> tuple[dict[str, tuple[float, float]], int]:
    """{onnx tensor name: (lo, hi)} over all batches, and the number of batches seen."""
    input_names = [i.name for i in model.graph.input
                   if i.name not in {t.name for t in model.graph.initializer}]
    names = sorted(set(tensor_names))
    sess = ort_session(expose_outputs(model, names))
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
        count += 1
        bar.step()
    bar.close()
    if count == 0:
        from qrt.ir.errors import invalid_argument

        raise invalid_argument("calibration data yielded no batches")
    return {n: o.range() for n, o in observers.items() if o.seen}, count
