"""Calibration data: the ``CalibrationReader`` protocol and its accepted forms.

``calibration=`` of ``qrt.convert`` accepts
- any iterable of ``{input_name: ndarray}`` batches (the protocol below; ORT's
  ``CalibrationDataReader`` style), consumed once, lazily;
- a single ``{input_name: ndarray}`` dict (one batch);
- a path to an ``.npz`` file whose arrays are named after the model inputs (or a single array for
  a single-input model), split into batches of ``batch_size`` samples along axis 0.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator, Mapping, Protocol, runtime_checkable

import numpy as np

from qrt.ir.errors import invalid_argument


@runtime_checkable
class CalibrationReader(Protocol):
    def __iter__(self) -> Iterator[Mapping[str, np.ndarray]]: ...


class NpzReader:
    def __init__(self, path: str | os.PathLike, input_names: list[str], batch_size: int = 32) -> None:
        with np.load(os.fspath(path)) as z:
            keys = list(z.keys())
            if all(n in keys for n in input_names):
                self.arrays = {n: z[n] for n in input_names}
            elif len(input_names) == 1 and len(keys) == 1:
                self.arrays = {input_names[0]: z[keys[0]]}
            else:
                raise invalid_argument(
                    f"{path}: arrays {keys} do not match the model inputs {input_names} "
                    "(name each array after an input, or store a single array for a "
                    "single-input model)")
        sizes = {len(a) for a in self.arrays.values()}
        if len(sizes) != 1:
            raise invalid_argument(f"{path}: arrays differ in sample count {sorted(sizes)}")
        self.n = sizes.pop()
        self.batch_size = batch_size

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self):
        for i in range(0, self.n, self.batch_size):
            yield {k: v[i:i + self.batch_size] for k, v in self.arrays.items()}


def as_reader(calibration, input_names: list[str]) -> tuple[Iterable[Mapping[str, np.ndarray]], int | None]:
    """(iterable of batches, number of batches if known)."""
    if calibration is None:
        raise invalid_argument("static int8 quantization needs calibration data (calibration=...)")
    if isinstance(calibration, (str, os.PathLike)):
        r = NpzReader(calibration, input_names)
        return r, len(r)
    if isinstance(calibration, Mapping):
        return [calibration], 1
    if not isinstance(calibration, Iterable):
        raise invalid_argument(
            "calibration must be an iterable of {input_name: ndarray}, a dict, or an .npz path; "
            f"got {type(calibration).__name__}")
    try:
        total = len(calibration)  # type: ignore[arg-type]
    except TypeError:
        total = None
    return calibration, total


def check_batch(batch, input_names: list[str], index: int) -> dict[str, np.ndarray]:
    if not isinstance(batch, Mapping):
        raise invalid_argument(f"calibration batch {index} is a {type(batch).__name__}, "
                               "expected a dict {input_name: ndarray}")
    missing = [n for n in input_names if n not in batch]
    if missing:
        raise invalid_argument(f"calibration batch {index} lacks inputs {missing} "
                               f"(has {sorted(batch)})")
    return {n: np.asarray(batch[n]) for n in input_names}
