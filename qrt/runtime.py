"""The Python face of the C++ runtime, shaped like ONNX Runtime's so that moving a service over
is a small diff: ``InferenceSession(path_or_bytes).run(output_names, feeds)``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from qrt import _core
from qrt.errors import InvalidArgumentError


@dataclass(frozen=True)
class NodeArg:
    """A graph input or output: ``shape`` holds ints, dimension names (str) or None."""

    name: str
    shape: list
    type: str  # "f32", "u8", ...
    numpy_dtype: str


def cpu_info() -> dict:
    """Detected CPU features, the ISA levels available, the cap in force and the kernel chosen
    for each kernel family (``QRT_ISA`` lowers the cap)."""
    err = _core.isa_env_error()
    if err:
        raise InvalidArgumentError(err)
    return _core.cpu_info()


class InferenceSession:
    """Loads a ``.qmodel`` (a path, or the file's bytes) and runs it.

    ``profile=True`` times every node (see :meth:`profile`).
    ``fuse_ops=False`` keeps one operator per node of the file. By default an int8 depthwise
    convolution runs fused with the 1x1 int8 convolutions that alone feed it and alone read it
    (an inverted-residual block's expansion and projection), in strips of rows, and an f32
    Transpose whose output only a QuantizeLinear to u8 reads (a CNN's NCHW input) quantizes as it
    transposes; results are bit-identical, and each fused group appears once in
    :meth:`kernel_report` and :meth:`profile`, named ``"<first node> + <second node> ..."``.
    ``max_arena_bytes`` (0: no limit) caps the activation memory a run may plan: input shapes
    that would need a larger arena raise :class:`QrtMemoryError` before anything runs, a bound on
    what one run of an untrusted model can take.
    ``threads`` is the intra-op parallelism (the calling thread included). A session holds the
    execution plans for the input shapes it has seen (at most ``plan_cache_size``, least recently
    used evicted) and the activation arena; it is not meant to be called from several threads at
    once: give each thread its own session (sessions over the same file share its pages).
    The GIL is released while the model runs; outputs are fresh arrays that the next run does
    not overwrite. A path is memory-mapped, and weights stored packed for this CPU are read from
    the mapping at run time: replace a model file by renaming a new one into place, never by
    rewriting it while sessions use it (or pass the file's bytes).
    """

    def __init__(
        self,
        source: str | os.PathLike | bytes | bytearray | memoryview,
        threads: int = 1,
        plan_cache_size: int = 4,
        verify_weights: bool = False,
        profile: bool = False,
        fuse_ops: bool = True,
        max_arena_bytes: int = 0,
    ) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int):
            raise InvalidArgumentError(f"threads must be an int, got {type(threads).__name__}")
        if threads < 1:
            raise InvalidArgumentError(f"threads must be >= 1, got {threads}")
        if isinstance(source, os.PathLike):
            source = os.fspath(source)
        if not isinstance(source, (str, bytes, bytearray, memoryview)):
            raise InvalidArgumentError(
                f"source must be a path or the bytes of a .qmodel, got {type(source).__name__}"
            )
        if isinstance(max_arena_bytes, bool) or not isinstance(max_arena_bytes, int) or max_arena_bytes < 0:
            raise InvalidArgumentError(f"max_arena_bytes must be an int >= 0, got {max_arena_bytes!r}")
        self._sess = _core.Session(source, threads, plan_cache_size, verify_weights, profile, bool(fuse_ops),
                                   max_arena_bytes)
        self._inputs = [NodeArg(d["name"], d["shape"], d["dtype"], d["numpy_dtype"]) for d in self._sess.inputs()]
        self._outputs = [NodeArg(d["name"], d["shape"], d["dtype"], d["numpy_dtype"]) for d in self._sess.outputs()]
        self._input_index = {a.name: i for i, a in enumerate(self._inputs)}
        self._output_index = {a.name: i for i, a in enumerate(self._outputs)}

    def get_inputs(self) -> list[NodeArg]:
        return list(self._inputs)

    def get_outputs(self) -> list[NodeArg]:
        return list(self._outputs)

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, Any]) -> list[np.ndarray]:
        if not isinstance(input_feed, Mapping):
            raise InvalidArgumentError("input_feed must be a dict {input name: array}")
        feeds: list[Any] = [None] * len(self._inputs)
        for name, value in input_feed.items():
            idx = self._input_index.get(name)
            if idx is None:
                valid = ", ".join(repr(a.name) for a in self._inputs)
                raise InvalidArgumentError(f"unknown input {name!r}; the model's inputs are {valid}")
            if not isinstance(value, np.ndarray):
                value = np.asarray(value, dtype=self._inputs[idx].numpy_dtype)
            feeds[idx] = value
        missing = [self._inputs[i].name for i, f in enumerate(feeds) if f is None]
        if missing:
            raise InvalidArgumentError(f"missing inputs: {', '.join(map(repr, missing))}")
        outs = self._sess.run(feeds)
        if output_names is None:
            return outs
        result = []
        for name in output_names:
            idx = self._output_index.get(name)
            if idx is None:
                valid = ", ".join(repr(a.name) for a in self._outputs)
                raise InvalidArgumentError(f"unknown output {name!r}; the model's outputs are {valid}")
            result.append(outs[idx])
        return result

    def memory_plan(self) -> dict:
        """The activation arena of the most recent run: arena bytes beside the naive sum and the
        lower bound (most bytes live at any step), and one row per buffer."""
        return self._sess.memory_plan()

    def kernel_report(self) -> list[dict]:
        """Which kernel variant each node runs."""
        return self._sess.kernel_report()

    def profile(self) -> list[dict]:
        """Per-node wall time accumulated over the runs so far (``profile=True`` sessions):
        node, op, kernel, calls, total_ms — in execution order."""
        return self._sess.profile()

    def model_info(self) -> dict:
        return self._sess.model_info()
