"""Exception classes raised by qrt.

Each class also inherits the builtin a Python user would naturally catch, so
``except ValueError`` keeps working for bad input while ``except qrt.FormatError``
singles out a corrupt ``.qmodel`` file. The C++ core maps its status codes onto
these classes in one place (``cpp/bindings/module.cc``).
"""

from __future__ import annotations


class QrtError(Exception):
    """Base class of every error qrt raises on purpose."""


class FormatError(QrtError, ValueError):
    """A ``.qmodel`` file is corrupt, truncated, or from an unsupported format version."""


class InvalidArgumentError(QrtError, ValueError):
    """An argument, input array, shape, dtype or option is wrong."""


class UnsupportedError(QrtError, NotImplementedError):
    """A model uses an operator, attribute or dtype combination qrt does not implement."""


class QrtMemoryError(QrtError, MemoryError):
    """An allocation (activation arena, output, packed weights) could not be made."""


class InternalError(QrtError, RuntimeError):
    """A broken invariant inside qrt: please report it with the model that triggers it."""


__all__ = [
    "QrtError",
    "FormatError",
    "InvalidArgumentError",
    "UnsupportedError",
    "QrtMemoryError",
    "InternalError",
]
