"""The converter's error constructors.

They build the classes of ``qrt.errors`` (UnsupportedError is a NotImplementedError,
InvalidArgumentError a ValueError). ``qrt.errors`` belongs to the runtime package; it is
imported lazily so that the converter can be used (and tested) on a tree where the compiled
runtime is not built, with stand-ins of the same bases until then.
"""

from __future__ import annotations


class _UnsupportedStandIn(NotImplementedError):
    pass


class _InvalidArgumentStandIn(ValueError):
    pass


def _classes() -> tuple[type[Exception], type[Exception]]:
    try:
        from qrt import errors  # type: ignore[attr-defined]

        return errors.UnsupportedError, errors.InvalidArgumentError
    except (ImportError, AttributeError):
        return _UnsupportedStandIn, _InvalidArgumentStandIn


def unsupported(message: str) -> Exception:
    return _classes()[0](message)


def invalid_argument(message: str) -> Exception:
    return _classes()[1](message)
