"""PyTorch frontend: a ``torch.nn.Module`` goes through ``torch.onnx.export`` (TorchScript
exporter, opset 17) and then the ONNX frontend. torch is optional and imported only here."""

from __future__ import annotations

import io
import warnings


def is_torch_module(obj) -> bool:
    mod = type(obj).__module__ or ""
    if not mod.startswith("torch") and not any(
            c.__module__.startswith("torch.nn") for c in type(obj).__mro__):
        return False
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, torch.nn.Module)


def export_to_onnx(module, example_inputs, opset: int = 17):
    """(ModelProto, input names). ``example_inputs``: a tensor/ndarray, a tuple of them, or a
    dict {name: tensor}. Every input gets a dynamic axis 0 ("batch")."""
    import numpy as np
    import onnx
    import torch

    from qrt.ir.errors import invalid_argument

    if example_inputs is None:
        raise invalid_argument("converting a torch.nn.Module needs example_inputs=...")
    if isinstance(example_inputs, dict):
        names = list(example_inputs)
        args = tuple(example_inputs.values())
    else:
        args = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
        names = ["input"] if len(args) == 1 else [f"input_{i}" for i in range(len(args))]
    args = tuple(torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args)
    was_training = module.training
    module.eval()
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter's notice
            torch.onnx.export(module, args, buf, input_names=names,
                              dynamic_axes={n: {0: "batch"} for n in names},
                              opset_version=opset, dynamo=False, do_constant_folding=True)
    finally:
        module.train(was_training)
    return onnx.load_from_string(buf.getvalue()), names
