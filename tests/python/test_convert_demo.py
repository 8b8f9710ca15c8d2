"""`qrt demo` (qrt.demo.run_demo): the shipped digits CNN, float vs int8 on the runtime."""

from __future__ import annotations

import io
import time

import pytest


def _runtime():
    try:
        from qrt import _core  # type: ignore[attr-defined]

        return hasattr(_core, "write_model") and hasattr(_core, "Session")
    except ImportError:
        return False


@pytest.mark.skipif(not _runtime(), reason="qrt._core (runtime + write_model) not built")
def test_demo_runs_quickly_and_keeps_accuracy():
    from qrt.demo import run_demo

    out = io.StringIO()
    t = time.perf_counter()
    r = run_demo(runs=50, out=out)
    assert time.perf_counter() - t < 30
    assert r["fp32"]["accuracy"] > 0.97
    assert r["int8"]["accuracy"] >= r["fp32"]["accuracy"] - 0.01
    assert r["agreement"] >= 0.98
    assert r["int8"]["bytes"] < r["fp32"]["bytes"] / 2
    text = out.getvalue()
    assert "qrt fp32" in text and "qrt int8" in text and "latency" in text
